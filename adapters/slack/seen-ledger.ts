// A TTL set kept in the store, so every replica sees what any of them accepted: request signatures
// (replay protection) and event ids (Slack's retries). Checks that arrive together share one insert.
import type { Clock, Logger } from '../../src/core/index.js';
import type { Store, StoredRecord } from '../../src/store/store.js';

/** One key of the set; the store's retention sweep deletes it once it can no longer matter. */
interface SeenKey extends StoredRecord {
  retainUntil: string;
}

export interface SeenLedgerOptions {
  store: Store;
  /** Store collection, like `slack_replay`. */
  collection: string;
  /** How long a key is remembered after its time, in seconds. */
  windowSeconds: number;
  clock: Clock;
  logger: Logger;
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
 * Remembers keys for a window: one small record per key, inserted only when absent, so whichever
 * replica inserts a key first is the one that saw it first (the store's key decides, with no lock
 * on a shared record), and the keys queued while a write is on its way share the next insert.
 *
 * @example
 * const replays = new SeenLedger({ store, collection: 'slack_replay', windowSeconds: 360, clock, logger });
 * if (!(await replays.firstSighting(signature, timestamp))) refuse('replayed');
 */
export class SeenLedger {
  readonly #options: SeenLedgerOptions;
  /** Keys waiting for the next insert, with when each may be forgotten. */
  #queued = new Map<string, { retainUntil: string; waiters: Waiter[] }>();
  #writing: Promise<void> | undefined;

  constructor(options: SeenLedgerOptions) {
    this.#options = options;
  }

  /**
   * Records `key` as seen at `atSeconds` (epoch seconds). Resolves true the first time, false when
   * the key was already recorded (by this replica or another). Rejects when the store fails, so
   * the caller can refuse rather than guess.
   */
  firstSighting(key: string, atSeconds: number): Promise<boolean> {
    const promise = new Promise<boolean>((resolve, reject) => {
      const retainUntil = new Date((atSeconds + this.#options.windowSeconds) * 1000).toISOString();
      const entry = this.#queued.get(key) ?? { retainUntil, waiters: [] };
      entry.waiters.push({ resolve, reject });
      this.#queued.set(key, entry);
    });
    this.#writing ??= this.#drain();
    return promise;
  }

  /** Waits for queued writes; for shutdown. */
  async idle(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    // Checks that arrive before the write starts all join it.
    const schedule = this.#options.schedule ?? ((start: () => void) => setImmediate(start));
    await new Promise<void>((resolve) => schedule(resolve));
    while (this.#queued.size > 0) {
      const batch = this.#queued;
      this.#queued = new Map();
      let inserted: Set<string>;
      try {
        inserted = await this.#options.store.insertNew<SeenKey>(
          this.#options.collection,
          [...batch].map(([id, { retainUntil }]) => ({ id, retainUntil })),
        );
      } catch (error) {
        for (const { waiters } of batch.values()) for (const waiter of waiters) waiter.reject(error);
        continue;
      }
      for (const [key, { waiters }] of batch) {
        // Two identical requests in one batch: the first one wins, the rest are replays.
        for (const [i, waiter] of waiters.entries()) waiter.resolve(i === 0 && inserted.has(key));
      }
    }
    // Cleared in the same step as the emptiness check, so a later check always finds a writer or starts one.
    this.#writing = undefined;
  }
}
