// The digests as a service: their config and schedules, their state for `digest list`, a preview or
// a post on demand, and the scheduler that posts them on time (started by the server only).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AuditEntry } from '../audit/types.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import { asMillwrightError, ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Reply } from '../core/reply.js';
import { nearest } from '../core/suggest.js';
import type { Notices } from '../core/surfaces.js';
import { withLease } from '../store/coordination.js';
import type { Store } from '../store/store.js';
import { type ComposedDigest, composeDigest } from './compose.js';
import { CronSchedule } from './cron-schedule.js';
import {
  DIGEST_RUNS,
  type DigestRunRecord,
  type PendingRun,
  type RunHistoryEntry,
  withHistory,
} from './run-record.js';
import { DIGEST_LEASE_MS, type DigestRunner, DigestScheduler, periodStartFor } from './scheduler.js';
import type { DigestConfig } from './schema.js';
import { type DigestPeriod, digestScope, type SectionInput } from './section.js';
import type { DigestSources } from './sources.js';

export interface DigestServiceOptions {
  digests: readonly DigestConfig[];
  /** The service catalog (`services:` in millwright.yml). */
  catalog: SectionInput['catalog'];
  sources: DigestSources;
  store: Store;
  /** Where runs are recorded (`digest.post`). */
  audit: { append(entry: AuditEntry): Promise<unknown> };
  /** The running chat surfaces, where digests are posted. */
  notices: Notices;
  clock: Clock;
  logger: Logger;
  /** Names this replica in locks and run history; default host:pid:random. */
  instanceId?: string;
  /** How long a digest's lease outlives a holder that stopped renewing it (policy.handOverAfter). */
  leaseMs?: number;
  /** How long composing one digest may take (sections left out after); default 2 minutes. */
  runTimeoutMs?: number;
  /** How long the chat platform may take to accept a post; default 5 minutes. */
  postTimeoutMs?: number;
}

/** One row of `digest list`. */
export interface DigestStatus {
  digest: DigestConfig;
  nextRun?: Date;
  /** The newest run (scheduled, caught up, retried or by hand), whatever its result. */
  lastRun?: RunHistoryEntry;
  /** The last scheduled digest that reached its target. */
  lastPostedAt?: Date;
  /** A run waiting for its next attempt, or one being posted now. */
  pending?: PendingRun;
}

/**
 * Scheduled digests.
 *
 * @example
 * const digests = new DigestService({ digests: config.digests, catalog: config.services, sources, store, audit, notifier: () => services.notifier, clock, logger });
 * await digests.start();                        // the server does this; the shell does not
 * const preview = await digests.preview('morning');
 * await digests.stop();
 */
export class DigestService {
  readonly #options: DigestServiceOptions;
  readonly #schedules = new Map<string, CronSchedule>();
  readonly #owner: string;
  #scheduler: DigestScheduler | undefined;

  constructor(options: DigestServiceOptions) {
    this.#options = options;
    this.#owner = options.instanceId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    for (const [i, digest] of options.digests.entries()) {
      this.#schedules.set(digest.name, new CronSchedule(digest.schedule, digest.timeZone));
      checkScope(digest, i, options.catalog);
    }
  }

  /** Names this replica in locks and history. */
  get instanceId(): string {
    return this.#owner;
  }

  /** Whether this process posts digests on schedule (the server does; the shell does not). */
  get scheduling(): boolean {
    return this.#scheduler?.running ?? false;
  }

  list(): readonly DigestConfig[] {
    return this.#options.digests;
  }

  /** The digest, or `millwright_not_found` with the nearest name. */
  get(name: string): DigestConfig {
    const found = this.#options.digests.find((digest) => digest.name === name);
    if (found) return found;
    const names = this.#options.digests.map((digest) => digest.name);
    const guess = nearest(name, names);
    throw new MillwrightError(ErrorCode.NotFound, `there is no digest ${name}`, {
      hint: guess
        ? `did you mean ${guess}?`
        : names.length > 0
          ? `configured digests: ${names.join(', ')}`
          : 'add one under digests: in millwright.yml',
    });
  }

  schedule(name: string): CronSchedule {
    this.get(name);
    return this.#schedules.get(name)!;
  }

  /** Every digest's next run, last run and any retry waiting, for `digest list`. */
  async status(now: Date = this.#options.clock.now()): Promise<DigestStatus[]> {
    const records = new Map(
      (await this.#options.store.list<DigestRunRecord>(DIGEST_RUNS)).map((record) => [record.id, record]),
    );
    return this.#options.digests.map((digest) => {
      const record = records.get(digest.name);
      const next = this.#schedules.get(digest.name)!.next(now);
      return {
        digest,
        ...(next ? { nextRun: next.at } : {}),
        ...(record?.history[0] ? { lastRun: record.history[0] } : {}),
        ...(record?.lastPosted ? { lastPostedAt: new Date(record.lastPosted.at) } : {}),
        ...(record?.pending ? { pending: record.pending } : {}),
      };
    });
  }

  /**
   * The digest as it would be posted now, covering the time since the last scheduled one. Nothing
   * is posted or recorded: `digest run NAME --here`.
   */
  async preview(name: string, now: Date = this.#options.clock.now()): Promise<Reply> {
    const digest = this.get(name);
    const record = await this.#options.store.get<DigestRunRecord>(DIGEST_RUNS, name);
    const composed = await this.#compose(
      digest,
      this.#periodUntil(digest, record, now),
      record?.lastPosted?.budgets ?? {},
      `preview: not posted to ${digest.target}`,
    );
    return composed.reply;
  }

  /**
   * Posts the digest to its target now, for the person who asked (`digest run NAME`). The scheduled
   * runs keep their own period; this one is recorded in the digest's history and the audit trail.
   *
   * @example
   * await digests.postNow('morning', { actor: 'ana', surface: 'slack' });
   * @throws MillwrightError `millwright_not_configured` when no chat platform runs here (the shell).
   */
  async postNow(
    name: string,
    origin: { actor: string; via?: string; surface: string },
    now: Date = this.#options.clock.now(),
  ): Promise<RunHistoryEntry> {
    const by = origin.actor;
    const digest = this.get(name);
    if (!this.#options.notices.available) {
      throw new MillwrightError(
        ErrorCode.NotConfigured,
        `no chat platform is running here to post ${name} to ${digest.target}`,
        {
          hint: `digest run ${name} --here shows it in this channel; the server (millwright serve) posts to Slack or Teams`,
        },
      );
    }
    const { store } = this.#options;
    const run = await withLease(
      store,
      `digest:${name}`,
      { ttlMs: this.#options.leaseMs ?? DIGEST_LEASE_MS },
      async () => {
        const record = await store.get<DigestRunRecord>(DIGEST_RUNS, name);
        let entry: RunHistoryEntry = {
          at: now.toISOString(),
          kind: 'manual',
          result: 'posted',
          attempt: 1,
          by,
        };
        let failure: MillwrightError | undefined;
        try {
          const composed = await this.#compose(
            digest,
            this.#periodUntil(digest, record, now),
            record?.lastPosted?.budgets ?? {},
            `posted by ${by}`,
          );
          await this.#deliver(digest.target, composed);
        } catch (error) {
          failure = asMillwrightError(error);
          entry = { ...entry, result: 'failed', detail: failure.message };
        }
        await store.update<DigestRunRecord>(DIGEST_RUNS, name, (current) =>
          withHistory(current ?? { id: name, trackingSince: now.toISOString(), history: [] }, entry),
        );
        await this.#options.audit.append({
          actor: by,
          ...viaOf(origin),
          surface: origin.surface,
          channel: digest.target,
          action: 'digest.post',
          args: { digest: name, kind: 'manual' },
          outcome: entry.result,
          ...(failure ? { code: failure.code } : {}),
        });
        if (failure) {
          throw new MillwrightError(
            failure.code === ErrorCode.NotFound ? ErrorCode.NotFound : ErrorCode.DependencyUnavailable,
            `could not post ${name} to ${digest.target}: ${failure.message}`,
            { hint: failure.hint ?? 'check that Millwright may post there', cause: failure },
          );
        }
        return entry;
      },
    );
    if (!run.held) {
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `${name} is being posted by another replica right now`,
        { hint: 'try again in a minute; digest list shows how it went' },
      );
    }
    return run.value;
  }

  /**
   * Starts posting on schedule: a node-cron heartbeat (every 15 s by default) and, at once, any
   * run missed while no scheduler ran. The server calls this; the shell never does.
   */
  async start(options: { heartbeat?: string } = {}): Promise<void> {
    if (this.#scheduler?.running) return;
    const runner: DigestRunner = {
      compose: (digest, period, budgets, note) => this.#compose(digest, period, budgets, note),
      deliver: (target, composed) => this.#deliver(target, composed),
      audit: async (entry) => {
        await this.#options.audit.append(entry);
      },
    };
    const { store, clock, logger } = this.#options;
    if (this.#options.digests.length > 0 && !this.#options.notices.available) {
      logger.warn('digests are scheduled but no chat platform is running; each run will fail until one is');
    }
    this.#scheduler = new DigestScheduler({
      digests: this.#options.digests.map((digest) => ({
        digest,
        schedule: this.#schedules.get(digest.name)!,
      })),
      runner,
      store,
      clock,
      logger: logger.child({ component: 'digest-scheduler' }),
      owner: this.#owner,
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(this.#options.leaseMs !== undefined ? { leaseMs: this.#options.leaseMs } : {}),
    });
    await this.#scheduler.start();
  }

  /** Stops the heartbeat and waits for a post in flight. */
  async stop(): Promise<void> {
    await this.#scheduler?.stop();
  }

  /** Checks every digest now (the heartbeat's work); resolves when any post it started is done. */
  async tick(): Promise<void> {
    await this.#scheduler?.tick();
  }

  /** Resolves when the scheduler has nothing in flight. */
  async idle(): Promise<void> {
    await this.#scheduler?.idle();
  }

  #periodUntil(digest: DigestConfig, record: DigestRunRecord | undefined, now: Date): DigestPeriod {
    if (record?.lastPosted) return { since: new Date(record.lastPosted.periodEnd), until: now };
    // Nothing posted yet: the next scheduled digest will start from the newest slot, so does this.
    const schedule = this.#schedules.get(digest.name)!;
    return { since: schedule.latest(now)?.at ?? periodStartFor(schedule, { key: '', at: now }), until: now };
  }

  async #compose(
    digest: DigestConfig,
    period: DigestPeriod,
    previousBudgets: Record<string, number>,
    note?: string,
  ): Promise<ComposedDigest> {
    const controller = new AbortController();
    const timeoutMs = this.#options.runTimeoutMs ?? 120_000;
    const timer = setTimeout(
      () =>
        controller.abort(
          new MillwrightError(
            ErrorCode.Timeout,
            `the ${digest.name} digest took longer than ${timeoutMs / 1000}s`,
          ),
        ),
      timeoutMs,
    );
    try {
      return await composeDigest({
        digest,
        period,
        scope: digestScope(digest, this.#options.catalog),
        catalog: this.#options.catalog,
        sources: this.#options.sources,
        previousBudgets,
        signal: controller.signal,
        ...(note ? { note } : {}),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async #deliver(target: string, composed: ComposedDigest): Promise<void> {
    const notifier = this.#options.notices.available ? this.#options.notices : undefined;
    if (!notifier) {
      throw new MillwrightError(ErrorCode.NotConfigured, `no chat platform is running to post to ${target}`, {
        hint: 'configure slack: or teams: in millwright.yml and run millwright serve',
      });
    }
    // Bounded so an attempt never outlives the lock that keeps other replicas from posting too.
    const timeoutMs = this.#options.postTimeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MillwrightError(
              ErrorCode.Timeout,
              `the chat platform did not accept the post within ${timeoutMs / 1000}s`,
              {
                hint: 'it may still arrive; the next attempt posts it again if it does not',
              },
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([notifier.post(target, { ...composed.reply, visibility: 'public' }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A digest that names a service or tag the catalog does not have would quietly show nothing. */
function checkScope(digest: DigestConfig, index: number, catalog: SectionInput['catalog']): void {
  const names = Object.keys(catalog);
  const where = `digests[${index}] (${digest.name})`;
  if (names.length > 0) {
    for (const service of digest.services ?? []) {
      if (names.includes(service)) continue;
      const guess = nearest(service, names);
      throw new MillwrightError(
        ErrorCode.ConfigInvalid,
        `${where}: service ${service} is not in the services catalog`,
        {
          hint: guess ? `did you mean ${guess}?` : `known services: ${names.join(', ')}`,
        },
      );
    }
  }
  const tags = new Set(Object.values(catalog).flatMap((entry) => entry.tags));
  for (const tag of digest.tags ?? []) {
    if (tags.has(tag)) continue;
    throw new MillwrightError(
      ErrorCode.ConfigInvalid,
      `${where}: no service in the catalog has the tag ${tag}`,
      {
        hint:
          tags.size > 0
            ? `tags in use: ${[...tags].sort().join(', ')}`
            : 'add tags: [...] to services in the catalog',
      },
    );
  }
}
