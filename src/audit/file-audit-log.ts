// The audit trail as an append-only JSON Lines file: chained (HMAC when keyed), fsynced before an
// append resolves, anchored by signed checkpoints, and cheap to append to however long it grows.

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { SecretSet } from '../core/secrets.js';
import { formatAuditLine, GENESIS_HASH, parseAuditLine, sealAuditRecord } from './chain.js';
import { signCheckpoint } from './checkpoints.js';
import { GroupCommit, type PendingAppend } from './group-commit.js';
import { type AuditHead, readAuditHead, writeAuditHead } from './head.js';
import { byteAt, linesBackward } from './lines.js';
import type { AuditSealing } from './sealing.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditRecord } from './types.js';

export interface FileAuditLogOptions {
  clock?: Clock;
  /** The process's secrets (or literal values) to scrub from args, on top of the token shapes. */
  secrets?: SecretSet | readonly string[];
  /** Keys and checkpoints (see `auditSealingFrom`); left out, records are plain SHA-256 and unanchored. */
  sealing?: AuditSealing;
}

const TAIL_CHUNK = 4 * 1024;
const QUERY_CHUNK = 64 * 1024;
const BROKEN_HINT =
  'run `millwright audit verify` to find the first bad record, then restore the trail from backup; Millwright will not append to a broken trail (a torn last line after a crash is fixed by `millwright audit repair`)';

/**
 * An {@link AuditLog} on one JSON Lines file. Appends that arrive while a write is on its way to
 * the disk share the next write and fsync (group commit), so a burst costs one fsync per batch.
 *
 * @example
 * const audit = await FileAuditLog.open('.millwright/audit.jsonl', { secrets: [config.slack.botToken] });
 * const record = await audit.append({ actor: 'ana', surface: 'slack', channel: '#ops', action: 'command.deploys', args: {}, outcome: 'ok' });
 * await audit.close();
 */
export class FileAuditLog implements AuditLog {
  readonly path: string;
  private readonly handle: FileHandle;
  private readonly clock: Clock;
  private readonly secrets: SecretSet;
  private readonly sealing: AuditSealing;
  private last: AuditHead;
  /** The seq of the newest checkpoint in the sink, so close writes one only when there is news. */
  private anchoredSeq: number;
  /** Bytes known durable; queries read no further, so they never see a half-written batch. */
  private durableSize: number;
  private readonly appends = new GroupCommit((batch) => this.commitBatch(batch));
  private failure: MillwrightError | undefined;
  private closed = false;

  private constructor(
    path: string,
    handle: FileHandle,
    last: AuditHead,
    size: number,
    anchoredSeq: number,
    options: FileAuditLogOptions,
  ) {
    this.path = path;
    this.handle = handle;
    this.last = last;
    this.anchoredSeq = anchoredSeq;
    this.sealing = options.sealing ?? { keys: new Map() };
    this.durableSize = size;
    this.clock = options.clock ?? systemClock;
    this.secrets =
      options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets ?? []);
  }

  /**
   * Opens (or creates, mode 0600) the trail and recovers its last seq and hash from the tail of
   * the file. Refuses a trail whose end is partial, or behind its head file or its latest
   * checkpoint; with a checkpoint sink, anchors the head it opened at.
   *
   * @example
   * const audit = await FileAuditLog.open(join(config.store.path, 'audit.jsonl'));
   */
  static async open(path: string, options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // 'a+': writes always land at the end (O_APPEND) while positioned reads still work for queries.
    const handle = await open(path, 'a+', 0o600);
    try {
      const { size } = await handle.stat();
      const last = await recoverLast(handle, size, path);
      const head = await readAuditHead(path);
      if (head !== undefined && head.seq > last.seq) {
        throw broken(
          `audit trail ${path} ends at seq ${last.seq} but its head file says seq ${head.seq}: records after seq ${last.seq} are missing`,
        );
      }
      if (head !== undefined && head.seq === last.seq && head.hash !== last.hash) {
        throw broken(`audit trail ${path}: the last record (seq ${last.seq}) does not match its head file`);
      }
      if (size === 0) await syncDirectory(dirname(path));
      const anchoredSeq = await anchorAtOpen(path, last, options);
      return new FileAuditLog(path, handle, last, size, anchoredSeq, options);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Appends one record; resolves with it once it is fsynced. Secrets in `args` are redacted first.
   *
   * @example
   * await audit.append({ actor, surface: 'shell', channel: 'tty', action: 'runbook.run', args: { name }, outcome: 'started', ref });
   */
  async append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) throw unavailable(`audit trail ${this.path} is closed`);
    if (this.failure !== undefined) throw this.failure;
    return this.appends.add(entry, { secrets: this.secrets, clock: this.clock });
  }

  /**
   * The newest records first, reading the file backwards so the usual "last 20" stays cheap.
   *
   * @example
   * const mine = await audit.recent({ actor: 'ana', limit: 10, since: new Date(Date.now() - 86_400_000) });
   */
  async recent(query: AuditQuery = {}): Promise<AuditRecord[]> {
    if (this.closed) throw unavailable(`audit trail ${this.path} is closed`);
    const limit = query.limit ?? 20;
    const since = query.since?.getTime();
    const found: AuditRecord[] = [];
    if (limit <= 0) return found;
    for await (const line of linesBackward(this.handle, this.durableSize, QUERY_CHUNK)) {
      const record = parseAuditLine(line);
      if (record === undefined) throw broken(`audit trail ${this.path} holds an unreadable line`);
      // Records are appended in time order, so the first one older than `since` ends the search.
      if (since !== undefined && Date.parse(record.ts) < since) break;
      if (query.actor !== undefined && record.actor !== query.actor) continue;
      if (query.channel !== undefined && record.channel !== query.channel) continue;
      found.push(record);
      if (found.length >= limit) break;
    }
    return found;
  }

  async flush(): Promise<void> {
    await this.appends.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    try {
      if (this.failure === undefined && this.last.seq !== this.anchoredSeq) await this.anchor();
    } finally {
      await this.handle.close();
    }
  }

  /** Appends the current head, signed, to the checkpoint sink (when there is one and a key). */
  private async anchor(): Promise<void> {
    const { checkpoints, active } = this.sealing;
    if (checkpoints === undefined || active === undefined) return;
    await checkpoints.append(signCheckpoint(this.last, this.clock.now().toISOString(), active));
    this.anchoredSeq = this.last.seq;
  }

  /** Writes a batch with one write call and one fsync; never throws, it settles the batch instead. */
  private async commitBatch(batch: PendingAppend[]): Promise<void> {
    if (this.failure !== undefined) {
      for (const pending of batch) pending.reject(this.failure);
      return;
    }
    let { seq, hash } = this.last;
    const records = batch.map((pending) => {
      const record = sealAuditRecord(pending.entry, ++seq, pending.ts, hash, this.sealing.active);
      hash = record.hash;
      return record;
    });
    const bytes = Buffer.from(records.map(formatAuditLine).join(''));
    try {
      // A single write call per batch, so a killed process leaves whole lines or none.
      await writeAll(this.handle, bytes);
      await this.handle.sync();
    } catch (cause) {
      this.failure = unavailable(
        `could not write the audit trail ${this.path}: ${(cause as Error).message}`,
        cause,
      );
      for (const pending of batch) pending.reject(this.failure);
      return;
    }
    this.last = { seq, hash };
    this.durableSize += bytes.length;
    try {
      await writeAuditHead(this.path, this.last);
    } catch (cause) {
      // The batch is durable, so it is acknowledged; the trail stops taking appends because a head
      // that can no longer be written would hide a later truncation.
      this.failure = unavailable(`could not update ${this.path}.head: ${(cause as Error).message}`, cause);
    }
    const every = this.sealing.checkpointEvery ?? 100;
    const due = Math.floor(seq / every) > Math.floor(this.anchoredSeq / every);
    if (this.sealing.checkpoints !== undefined && this.failure === undefined && due) {
      try {
        await this.anchor();
      } catch (cause) {
        // Same reasoning as the head: an anchor that can no longer be written would hide a cut tail.
        const sink = this.sealing.checkpoints?.name ?? 'the checkpoint sink';
        this.failure = unavailable(
          `could not append a checkpoint to ${sink}: ${(cause as Error).message}`,
          cause,
        );
      }
    }
    for (const [index, pending] of batch.entries()) pending.resolve(records[index]!);
  }
}

/**
 * Checks the trail's end against the latest checkpoint and, when the sink lacks this head, appends
 * it. Resolves with the seq the sink now anchors.
 */
async function anchorAtOpen(path: string, last: AuditHead, options: FileAuditLogOptions): Promise<number> {
  const { checkpoints, active } = options.sealing ?? {};
  if (checkpoints === undefined) return last.seq;
  const latest = await checkpoints.latest();
  if (latest !== undefined && latest.seq > last.seq) {
    throw broken(
      `audit trail ${path} ends at seq ${last.seq} but the checkpoint in ${checkpoints.name} says seq ${latest.seq}: records after seq ${last.seq} are missing`,
    );
  }
  if (latest !== undefined && latest.seq === last.seq && latest.hash !== last.hash) {
    throw broken(`audit trail ${path}: the last record (seq ${last.seq}) does not match its checkpoint`);
  }
  if (latest?.seq === last.seq || active === undefined) return latest?.seq ?? -1;
  const clock = options.clock ?? systemClock;
  try {
    await checkpoints.append(signCheckpoint(last, clock.now().toISOString(), active));
  } catch (cause) {
    throw unavailable(
      `could not append a checkpoint to ${checkpoints.name}: ${(cause as Error).message}`,
      cause,
    );
  }
  return last.seq;
}

/** The last record's seq and hash, from the tail of the file only. */
async function recoverLast(handle: FileHandle, size: number, path: string): Promise<AuditHead> {
  if (size === 0) return { seq: 0, hash: GENESIS_HASH };
  const complete = (await byteAt(handle, size - 1)) === 0x0a;
  const [lastLine, previousLine] = await take(linesBackward(handle, size, TAIL_CHUNK), 2);
  const last = complete && lastLine !== undefined ? parseAuditLine(lastLine) : undefined;
  if (last !== undefined) return { seq: last.seq, hash: last.hash };
  const good = previousLine === undefined ? 0 : parseAuditLine(previousLine)?.seq;
  if (good !== undefined && !complete) {
    // The usual crash: the last write was cut short, and that record was never acknowledged.
    throw new MillwrightError(
      ErrorCode.AuditBroken,
      `audit trail ${path} ends in a torn line (seq ${good + 1} was cut short, likely by a crash mid-write)`,
      {
        hint: 'run `millwright audit repair`: it checks every record before the torn line, cuts only that line (kept in a side file) and records the repair in the trail',
      },
    );
  }
  const where =
    good === undefined ? 'its last lines are unreadable' : `seq ${good + 1} is partial or unreadable`;
  throw broken(`audit trail ${path} ends in a damaged record: ${where}`);
}

async function take<T>(source: AsyncGenerator<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  for await (const item of source) {
    taken.push(item);
    if (taken.length >= count) break;
  }
  return taken;
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const result = await handle.write(bytes, written, bytes.length - written);
    written += result.bytesWritten;
  }
}

/** Makes a newly created file's directory entry durable too. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function broken(message: string): MillwrightError {
  return new MillwrightError(ErrorCode.AuditBroken, `${message}; run \`millwright audit verify\``, {
    hint: BROKEN_HINT,
  });
}

function unavailable(message: string, cause?: unknown): MillwrightError {
  return new MillwrightError(ErrorCode.AuditUnavailable, message, {
    hint: 'check the disk (space, permissions) under the audit trail path, then restart Millwright',
    cause,
  });
}
