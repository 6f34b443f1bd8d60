// Deletes records past their retention (`retainUntil`): Slack replay and event keys, once-only claims,
// expired leases. One replica sweeps at a time, under a lease, so the tables stop growing.
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { withLease } from './coordination.js';
import type { Store } from './store.js';

/** How often a replica offers to sweep. */
export const SWEEP_EVERY_MS = 60_000;
/** Records deleted per statement, so one sweep never holds a long transaction. */
const SWEEP_BATCH = 1_000;
const SWEEP_LEASE = 'store-sweep';

export interface RetentionSweepOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Default {@link SWEEP_EVERY_MS}. */
  everyMs?: number;
}

/**
 * Sweeps every `everyMs` on whichever replica holds the `store-sweep` lease (the others skip that
 * round); each sweep deletes expired records a batch at a time until none are left.
 *
 * @example
 * const sweep = new RetentionSweep({ store, clock, logger });
 * sweep.start();
 * await sweep.stop();
 */
export class RetentionSweep {
  readonly #options: RetentionSweepOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number | undefined> | undefined;

  constructor(options: RetentionSweepOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    const every = this.#options.everyMs ?? SWEEP_EVERY_MS;
    this.#timer = setInterval(() => void this.sweepOnce(), every);
    this.#timer.unref();
    void this.sweepOnce();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * One sweep: resolves with how many records it deleted, or undefined when another replica holds
   * the lease (or the store failed; the next round tries again).
   */
  sweepOnce(): Promise<number | undefined> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweep(): Promise<number | undefined> {
    const { store, clock, logger } = this.#options;
    const ttlMs = this.#options.everyMs ?? SWEEP_EVERY_MS;
    try {
      const run = await withLease(store, SWEEP_LEASE, { ttlMs }, async (lease) => {
        let deleted = 0;
        for (;;) {
          const batch = await store.deleteExpired(clock.now(), SWEEP_BATCH);
          deleted += batch;
          if (batch < SWEEP_BATCH || lease.lost) return deleted;
        }
      });
      if (!run.held) return undefined;
      if (run.value > 0) logger.info({ deleted: run.value }, 'deleted records past their retention');
      return run.value;
    } catch (error) {
      // Expired records only cost space; the next round tries again.
      logger.warn({ err: error }, 'could not delete records past their retention; trying again later');
      return undefined;
    }
  }
}
