// A TTL set kept in the store, so every replica sees what any of them accepted: request signatures
// (replay protection) and event ids (Slack's retries). Concurrent checks share one write.
import type { Clock, Logger } from '../../src/core/index.js';
import type { Store, StoredRecord } from '../../src/store/store.js';

/** One time bucket of the set: the keys first seen with a time inside it. */
interface SeenBucket extends StoredRecord {
  /** Epoch seconds after which no key in this bucket can matter any more. */
  expiresAt: number;
  keys: Record<string, 1>;
}

export interface SeenLedgerOptions {
  store: Store;
  /** Store collection, like `slack_replay`. */
  collection: string;
  /** How long a key is remembered after its time, in seconds. */
  windowSeconds: number;
  clock: Clock;
  logger: Logger;
  /** Width of one bucket record, in seconds; default 10. */
  bucketSeconds?: number;
  /**
   * When a write may start; the next turn of the event loop by default. The Slack adapter holds
   * writes until acknowledgements are out, so one write covers a whole burst of requests.
   */
  schedule?: (start: () => void) => void;
}

interface Waiter {
  resolve: (first: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Remembers keys for a window. Keys are grouped by the time they carry (a request timestamp, an
 * event time) into one record per 10 seconds, so a check is one read-modify-write of one small record,
 * checks that arrive together share it, and expiry deletes whole records.
 *
 * @example
 * const replays = new SeenLedger({ store, collection: 'slack_replay', windowSeconds: 360, clock, logger });
 * if (!(await replays.firstSighting(signature, timestamp))) refuse('replayed');
 */
export class SeenLedger {
  readonly #options: SeenLedgerOptions;
  readonly #bucketSeconds: number;
  /** Keys waiting for the next write of their bucket. */
  readonly #queued = new Map<number, Map<string, Waiter[]>>();
  readonly #writing = new Map<number, Promise<void>>();
  #lastPrune = 0;
  #pruning: Promise<void> | undefined;

  constructor(options: SeenLedgerOptions) {
    this.#options = options;
    // Narrow buckets: a check rewrites its whole bucket record, so under a steady stream of requests
    // a wide one grows to thousands of keys copied on every write.
    this.#bucketSeconds = options.bucketSeconds ?? 10;
  }

  /**
   * Records `key` as seen at `atSeconds` (epoch seconds). Resolves true the first time, false when
   * the key was already recorded (by this replica or another). Rejects when the store fails, so
   * the caller can refuse rather than guess.
   */
  firstSighting(key: string, atSeconds: number): Promise<boolean> {
    const bucket = Math.floor(atSeconds / this.#bucketSeconds);
    const promise = new Promise<boolean>((resolve, reject) => {
      const batch = this.#queued.get(bucket) ?? new Map<string, Waiter[]>();
      this.#queued.set(bucket, batch);
      const waiters = batch.get(key) ?? [];
      waiters.push({ resolve, reject });
      batch.set(key, waiters);
    });
    if (!this.#writing.has(bucket)) this.#writing.set(bucket, this.#drain(bucket));
    this.#maybePrune();
    return promise;
  }

  /** Waits for queued writes and a running prune; for shutdown. */
  async idle(): Promise<void> {
    await Promise.all([...this.#writing.values(), this.#pruning]);
  }

  async #drain(bucket: number): Promise<void> {
    // Checks that arrive before the write starts all join it.
    const schedule = this.#options.schedule ?? ((start: () => void) => setImmediate(start));
    await new Promise<void>((resolve) => schedule(resolve));
    for (;;) {
      const batch = this.#queued.get(bucket);
      if (!batch || batch.size === 0) {
        // Cleared in the same step as the emptiness check, so a later check always finds a writer or starts one.
        this.#writing.delete(bucket);
        return;
      }
      this.#queued.delete(bucket);
      const verdicts = new Map<string, boolean>();
      const expiresAt = (bucket + 1) * this.#bucketSeconds + this.#options.windowSeconds;
      try {
        await this.#options.store.update<SeenBucket>(this.#options.collection, `b${bucket}`, (current) => {
          const keys = { ...(current?.keys ?? {}) };
          for (const key of batch.keys()) {
            verdicts.set(key, keys[key] === undefined);
            keys[key] = 1;
          }
          return { id: `b${bucket}`, expiresAt, keys };
        });
      } catch (error) {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
        continue;
      }
      for (const [key, waiters] of batch) {
        // Two identical requests in one batch: the first one wins, the rest are replays.
        for (const [i, waiter] of waiters.entries()) waiter.resolve(i === 0 && verdicts.get(key) === true);
      }
    }
  }

  /** Deletes expired buckets at most once a bucket width, in the background. */
  #maybePrune(): void {
    const now = Math.floor(this.#options.clock.now().getTime() / 1000);
    if (this.#pruning || now - this.#lastPrune < this.#bucketSeconds) return;
    this.#lastPrune = now;
    const { store, collection, logger } = this.#options;
    this.#pruning = (async () => {
      const expired = await store.list<SeenBucket>(collection, (record) => record.expiresAt < now);
      for (const record of expired) await store.delete(collection, record.id);
    })()
      .catch((error: unknown) => {
        // Expired buckets only cost space; the next prune tries again.
        logger.warn({ err: error, collection }, 'could not prune expired Slack request records');
      })
      .finally(() => {
        this.#pruning = undefined;
      });
  }
}
