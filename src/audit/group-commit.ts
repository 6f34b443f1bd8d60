// Group commit for the audit trails (file and PostgreSQL): appends that arrive while a batch is on its
// way share the next write, so a burst costs one fsync (or one transaction) per batch.
import type { Clock } from '../core/clock.js';
import type { SecretSet } from '../core/secrets.js';
import type { AuditEntry, AuditRecord } from './types.js';

/** One append waiting for its batch: the entry as it will be sealed, and how to answer the caller. */
export interface PendingAppend {
  entry: AuditEntry;
  ts: string;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

/**
 * Queues appends and hands them to `commitBatch` in batches, one batch at a time, in arrival order.
 * `commitBatch` must settle every pending append of its batch and never throw.
 *
 * @example
 * const appends = new GroupCommit((batch) => this.commitBatch(batch));
 * return appends.add(entry, { secrets, clock });
 */
export class GroupCommit {
  readonly #commitBatch: (batch: PendingAppend[]) => Promise<void>;
  #queue: PendingAppend[] = [];
  #committing: Promise<void> | undefined;

  constructor(commitBatch: (batch: PendingAppend[]) => Promise<void>) {
    this.#commitBatch = commitBatch;
  }

  /** Queues `entry` (its args scrubbed, its time taken now); resolves with the record once committed. */
  add(entry: AuditEntry, options: { secrets: SecretSet; clock: Clock }): Promise<AuditRecord> {
    // The JSON round trip makes args exactly what will be written (Dates become strings, undefined
    // goes away), so the hash computed now matches the line verify will read.
    const args = options.secrets.value(
      JSON.parse(JSON.stringify(entry.args ?? {})) as Record<string, unknown>,
    );
    const reason = entry.reason === undefined ? {} : { reason: options.secrets.text(entry.reason) };
    const ts = options.clock.now().toISOString();
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#queue.push({ entry: { ...entry, args, ...reason }, ts, resolve, reject });
      this.#committing ??= this.#commitQueued();
    });
  }

  /** Waits until every queued append has been committed (or refused). */
  async flush(): Promise<void> {
    while (this.#committing !== undefined) await this.#committing;
  }

  async #commitQueued(): Promise<void> {
    // One microtask's wait lets appends made in the same tick share the first write too.
    await Promise.resolve();
    while (this.#queue.length > 0) await this.#commitBatch(this.#queue.splice(0));
    this.#committing = undefined;
  }
}
