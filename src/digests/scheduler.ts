// Posts digests when they are due: a node-cron heartbeat asks, the store's lock lets one replica
// answer, and the run record makes sure each slot is posted once, retried, caught up or skipped.
import { createTask, type ScheduledTask } from 'node-cron';
import type { AuditEntry } from '../audit/types.js';
import type { Clock } from '../core/clock.js';
import { asMillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatAbsolute } from '../core/time.js';
import { type HeldLease, withLease } from '../store/coordination.js';
import type { Store } from '../store/store.js';
import type { ComposedDigest } from './compose.js';
import type { CronSchedule, Slot } from './cron-schedule.js';
import {
  backoffAfter,
  type Decision,
  DIGEST_RUNS,
  type DigestRunRecord,
  decide,
  EARLY_MS,
  type PendingRun,
  type RunHistoryEntry,
  type RunKind,
  withHistory,
} from './run-record.js';
import type { DigestConfig } from './schema.js';
import type { DigestPeriod } from './section.js';

/** Every 15 seconds, on the minute's boundaries, so a 09:00 slot is seen at 09:00:00. */
export const DEFAULT_HEARTBEAT = '*/15 * * * * *';
/**
 * How long a digest's lease outlives its holder (policy.handOverAfter by default): the holder renews
 * it while composing and posting, however long that takes, so a killed replica's slot is handed over
 * within this plus one heartbeat.
 */
export const DIGEST_LEASE_MS = 15_000;
/** The cached "nothing before" time is re-read at least this often, in case another replica changed it. */
const RECHECK_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/** What the scheduler needs from the digest service to run one digest. */
export interface DigestRunner {
  compose(
    digest: DigestConfig,
    period: DigestPeriod,
    previousBudgets: Record<string, number>,
    note?: string,
  ): Promise<ComposedDigest>;
  deliver(target: string, composed: ComposedDigest): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
}

export interface DigestSchedulerOptions {
  digests: ReadonlyArray<{ digest: DigestConfig; schedule: CronSchedule }>;
  runner: DigestRunner;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Names this replica in locks and run history. */
  owner: string;
  /** node-cron expression of the heartbeat; default every 15 seconds. */
  heartbeat?: string;
  /** The digest lease's expiry after its last renewal; default {@link DIGEST_LEASE_MS}. */
  leaseMs?: number;
}

/** Where a digest's period starts when none was posted before: the slot before this one. */
export function periodStartFor(schedule: CronSchedule, slot: Slot): Date {
  const before = schedule.latest(new Date(slot.at.getTime() - 1), new Date(slot.at.getTime() - 35 * DAY_MS));
  return before?.at ?? new Date(slot.at.getTime() - DAY_MS);
}

/**
 * The digest scheduler. `start()` arms the heartbeat and catches up at once; `stop()` disarms it
 * and waits for a post in flight.
 *
 * @example
 * const scheduler = new DigestScheduler({ digests, runner, store, clock, logger, owner: 'replica-a' });
 * await scheduler.start();
 * // ... on shutdown
 * await scheduler.stop();
 */
export class DigestScheduler {
  readonly #options: DigestSchedulerOptions;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Per digest: nothing can be due before this instant (ms), as last read from the store. */
  readonly #quietUntil = new Map<string, number>();
  #task: ScheduledTask | undefined;

  constructor(options: DigestSchedulerOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#task !== undefined;
  }

  async start(): Promise<void> {
    if (this.#task) return;
    const { logger, owner } = this.#options;
    const log = logger.child({ component: 'node-cron' });
    this.#task = createTask(
      this.#options.heartbeat ?? DEFAULT_HEARTBEAT,
      () => {
        // The heartbeat must not wait for a slow post: each digest's check runs on its own.
        void this.tick();
      },
      {
        name: `millwright-digests-${owner}`,
        timezone: 'UTC',
        noOverlap: true,
        logger: {
          info: (message) => log.info(message),
          warn: (message) => log.warn(message),
          error: (message, err) => log.error({ err: err ?? message }, 'node-cron error'),
          debug: (message) => log.debug(String(message)),
        },
      },
    );
    this.#task.start();
    logger.info(
      { digests: this.#options.digests.map(({ digest }) => digest.name), owner },
      'digest scheduler started',
    );
    await this.tick();
  }

  async stop(): Promise<void> {
    const task = this.#task;
    this.#task = undefined;
    await task?.destroy();
    await this.idle();
  }

  /** Checks every digest once; resolves when those checks (and any posts they started) finish. */
  async tick(): Promise<void> {
    await Promise.all(this.#options.digests.map((entry) => this.#check(entry.digest, entry.schedule)));
  }

  /** Resolves when no check or post is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight.values()]);
  }

  #check(digest: DigestConfig, schedule: CronSchedule): Promise<void> {
    const running = this.#inFlight.get(digest.name);
    if (running) return running;
    const now = this.#options.clock.now();
    const quiet = this.#quietUntil.get(digest.name);
    if (quiet !== undefined && now.getTime() + EARLY_MS < quiet) return Promise.resolve();
    const work = this.#checkLocked(digest, schedule, now)
      .catch((error: unknown) => {
        this.#quietUntil.delete(digest.name);
        this.#options.logger.error({ err: error, digest: digest.name }, 'digest check failed');
      })
      .finally(() => this.#inFlight.delete(digest.name));
    this.#inFlight.set(digest.name, work);
    return work;
  }

  async #checkLocked(digest: DigestConfig, schedule: CronSchedule, now: Date): Promise<void> {
    const { store } = this.#options;
    // A look without the lock first: most heartbeats find nothing due and write nothing.
    const seen = await store.get<DigestRunRecord>(DIGEST_RUNS, digest.name);
    if (seen) {
      const early = decide(digest, schedule, seen, now);
      if (early.kind === 'wait') return this.#wait(digest, early, now);
    }
    // Held (and renewed) while composing and posting, so a long run is never started twice, and a
    // killed holder's lease runs out within leaseMs.
    const ttlMs = this.#options.leaseMs ?? DIGEST_LEASE_MS;
    const run = await withLease(store, `digest:${digest.name}`, { ttlMs }, async (lease) => {
      const record =
        (await store.get<DigestRunRecord>(DIGEST_RUNS, digest.name)) ??
        (await store.update<DigestRunRecord>(
          DIGEST_RUNS,
          digest.name,
          (current) => current ?? { id: digest.name, trackingSince: now.toISOString(), history: [] },
        ))!;
      const decision = decide(digest, schedule, record, now);
      if (decision.kind === 'wait') return this.#wait(digest, decision, now);
      this.#quietUntil.delete(digest.name);
      if (decision.kind === 'skip') await this.#skip(digest, record, decision, now);
      else if (decision.kind === 'give-up')
        await this.#giveUp(digest, record, decision.pending, decision.reason, now);
      else await this.#attempt(digest, schedule, record, decision, now, lease);
    });
    // Another replica is on it; look again at the next heartbeat.
    if (!run.held) this.#quietUntil.delete(digest.name);
  }

  #wait(digest: DigestConfig, decision: Extract<Decision, { kind: 'wait' }>, now: Date): void {
    const next = decision.nextCheckAt?.getTime() ?? Number.POSITIVE_INFINITY;
    this.#quietUntil.set(digest.name, Math.min(next, now.getTime() + RECHECK_MS));
  }

  #entry(
    now: Date,
    kind: RunKind,
    slot: string | undefined,
    rest: Partial<RunHistoryEntry>,
  ): RunHistoryEntry {
    return {
      at: now.toISOString(),
      kind,
      ...(slot ? { slot } : {}),
      result: 'failed',
      attempt: 1,
      by: this.#options.owner,
      ...rest,
    };
  }

  /** A run that an older, still-retrying one gives way to is recorded as failed. */
  #superseded(
    record: DigestRunRecord,
    pending: PendingRun | undefined,
    by: Slot,
    now: Date,
  ): DigestRunRecord {
    if (!pending) return record;
    const last = pending.lastError ? ` (last error: ${pending.lastError})` : '';
    return withHistory(
      record,
      this.#entry(now, pending.kind, pending.slot.key, {
        attempt: pending.attempts,
        detail: `given up: the ${by.key} run replaced it${last}`,
      }),
    );
  }

  async #skip(
    digest: DigestConfig,
    record: DigestRunRecord,
    decision: Extract<Decision, { kind: 'skip' }>,
    now: Date,
  ): Promise<void> {
    const { slot, reason } = decision;
    const skipped = withHistory(
      {
        ...this.#superseded(record, decision.supersedes, slot, now),
        handledSlot: slotRecord(slot),
        pending: undefined,
      },
      this.#entry(now, 'scheduled', slot.key, { result: 'skipped', detail: reason }),
    );
    await this.#options.store.put(DIGEST_RUNS, withoutUndefined(skipped));
    this.#options.logger.info({ digest: digest.name, slot: slot.key, reason }, 'digest run skipped');
    await this.#audit(digest, { slot: slot.key, kind: 'scheduled', reason }, 'skipped');
  }

  async #giveUp(
    digest: DigestConfig,
    record: DigestRunRecord,
    pending: PendingRun,
    reason: string,
    now: Date,
  ): Promise<void> {
    const failed = withHistory(
      { ...record, pending: undefined },
      this.#entry(now, pending.kind, pending.slot.key, {
        attempt: pending.attempts,
        detail: `gave up: ${reason}`,
      }),
    );
    await this.#options.store.put(DIGEST_RUNS, withoutUndefined(failed));
    await this.#audit(
      digest,
      { slot: pending.slot.key, kind: pending.kind, attempt: pending.attempts, reason },
      'failed',
    );
  }

  async #attempt(
    digest: DigestConfig,
    schedule: CronSchedule,
    record: DigestRunRecord,
    decision: Extract<Decision, { kind: 'run' }>,
    now: Date,
    lease: HeldLease,
  ): Promise<void> {
    const { store, runner, clock, logger, owner } = this.#options;
    const { slot, attempt } = decision;
    const previous = record.pending;
    const kind: RunKind = decision.runKind === 'retry' && previous ? previous.kind : decision.runKind;
    let claimed = this.#superseded(record, decision.supersedes, slot, now);
    if (decision.runKind === 'retry' && previous?.state === 'posting') {
      claimed = withHistory(
        claimed,
        this.#entry(now, previous.kind, previous.slot.key, {
          attempt: previous.attempts,
          detail: `attempt ${previous.attempts} was cut short: replica ${previous.owner} stopped while posting`,
        }),
      );
    }
    const pending: PendingRun = {
      slot: slotRecord(slot),
      kind,
      attempts: attempt,
      state: 'posting',
      owner,
      startedAt: now.toISOString(),
    };
    // The claim is on disk before anything is posted, so a restart never starts this slot afresh.
    claimed = { ...claimed, handledSlot: later(claimed.handledSlot, slot), pending };
    await store.put(DIGEST_RUNS, withoutUndefined(claimed));

    const period: DigestPeriod = {
      since: record.lastPosted ? new Date(record.lastPosted.periodEnd) : periodStartFor(schedule, slot),
      until: now,
    };
    const notes: string[] = [];
    if (kind === 'catch-up')
      notes.push(`caught up: the ${slot.key} run was missed while Millwright was down`);
    if (attempt > 1) notes.push(`attempt ${attempt}`);
    const next = schedule.next(now);
    if (next) notes.push(`next digest ${formatAbsolute(next.at, digest.timeZone)}`);
    const args = { slot: slot.key, kind, attempt };
    try {
      const composed = await runner.compose(
        digest,
        period,
        record.lastPosted?.budgets ?? {},
        notes.join(' · '),
      );
      if (lease.lost) {
        // The store could not renew the lease in time and another replica may hold the slot now: it
        // finds this attempt cut short and retries it, so posting here could post it twice.
        logger.warn(
          { digest: digest.name, slot: slot.key, attempt },
          'lost the digest lease while composing; not posting, the replica that holds it now retries',
        );
        return;
      }
      await runner.deliver(digest.target, composed);
      const postedAt = clock.now();
      await store.update<DigestRunRecord>(DIGEST_RUNS, digest.name, (current) =>
        withoutUndefined(
          withHistory(
            {
              ...(current ?? claimed),
              lastPosted: {
                at: postedAt.toISOString(),
                slot: slot.key,
                periodEnd: period.until.toISOString(),
                budgets: composed.budgets,
              },
              pending: undefined,
            },
            this.#entry(postedAt, kind, slot.key, { result: 'posted', attempt }),
          ),
        ),
      );
      logger.info(
        { digest: digest.name, slot: slot.key, kind, attempt, target: digest.target },
        'digest posted',
      );
      await this.#audit(digest, args, 'posted');
    } catch (error) {
      const failure = asMillwrightError(error);
      const failedAt = clock.now();
      const last = attempt >= digest.retry.attempts;
      const nextAttemptAt = new Date(failedAt.getTime() + backoffAfter(digest, attempt));
      await store.update<DigestRunRecord>(DIGEST_RUNS, digest.name, (current) =>
        withoutUndefined(
          withHistory(
            {
              ...(current ?? claimed),
              pending: last
                ? undefined
                : {
                    ...pending,
                    state: 'waiting',
                    nextAttemptAt: nextAttemptAt.toISOString(),
                    lastError: failure.message,
                  },
            },
            this.#entry(failedAt, kind, slot.key, {
              result: last ? 'failed' : 'retrying',
              attempt,
              detail: last
                ? `gave up after ${attempt} attempts: ${failure.message}`
                : `${failure.message}; attempt ${attempt + 1} of ${digest.retry.attempts} at ${formatAbsolute(nextAttemptAt, digest.timeZone)}`,
            }),
          ),
        ),
      );
      logger.warn(
        {
          digest: digest.name,
          slot: slot.key,
          attempt,
          code: failure.code,
          err: failure.cause ?? failure,
          last,
        },
        last ? 'digest post failed; giving up on this run' : 'digest post failed; will retry',
      );
      await this.#audit(digest, args, 'failed', failure.code);
    }
  }

  async #audit(
    digest: DigestConfig,
    args: Record<string, unknown>,
    outcome: 'posted' | 'failed' | 'skipped',
    code?: string,
  ): Promise<void> {
    try {
      await this.#options.runner.audit({
        actor: 'millwright',
        surface: 'scheduler',
        channel: digest.target,
        action: 'digest.post',
        args: { digest: digest.name, ...args },
        outcome,
        ...(code ? { code } : {}),
      });
    } catch (error) {
      // The post already happened (or did not); the run record still tells the story.
      this.#options.logger.error({ err: error, digest: digest.name }, 'audit append failed for a digest run');
    }
  }
}

function slotRecord(slot: Slot): { key: string; at: string } {
  return { key: slot.key, at: slot.at.toISOString() };
}

function later(current: DigestRunRecord['handledSlot'], slot: Slot): { key: string; at: string } {
  return current && Date.parse(current.at) >= slot.at.getTime() ? current : slotRecord(slot);
}

/** The store keeps JSON; a key set to undefined is dropped so memory and disk agree. */
function withoutUndefined(record: DigestRunRecord): DigestRunRecord {
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== undefined),
  ) as DigestRunRecord;
}
