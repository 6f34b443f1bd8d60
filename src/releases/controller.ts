// Drives releases: on each tick it looks at every release that is not over, feeds what happened (the
// canary's rollout, the gate, the verdict after an interval) to the plan, and carries out the one
// action the plan asks for. The action is written to the store before it runs and cleared after, so a
// process that dies mid-way resumes it (every action sets a target state, so finishing it is safe) and
// never takes a step twice; a lease per release keeps two replicas from driving the same one.
import type { Clock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store, StoredRecord } from '../store/store.js';
import {
  type AnalysisPolicy,
  type EventCounts,
  judgeStep,
  type SliSample,
  type SliVerdict,
  type StepVerdict,
} from './analysis.js';
import { decide, type ReleaseAction, type ReleaseEvent, type ReleasePlan, startPlan } from './plan.js';

export const RELEASES = 'releases';
/** How long a replica holds a release while it moves it; another takes over after this if it died. */
const LEASE_MS = 10 * 60_000;

/** One line of a release's history: what happened, what it decided, what was done. */
export interface ReleaseEntry {
  at: string;
  event: string;
  state: ReleasePlan['state'];
  step: number;
  action?: ReleaseAction['kind'];
  /** The canary share reached, after a set-canary action. */
  share?: number;
  verdict?: Pick<StepVerdict, 'decision' | 'reason'> & {
    /** Each SLI's numbers behind the verdict (the chat message charts them per step). */
    slis?: ReleaseSliNumbers[];
  };
}

/** One SLI of a verdict as the release keeps it: both tracks' counts and ratios, and the test. */
export interface ReleaseSliNumbers {
  sli: string;
  outcome: SliVerdict['outcome'];
  test: SliVerdict['test'];
  canary: EventCounts;
  stable: EventCounts;
  canaryRatio: number;
  stableRatio: number;
  pValue?: number;
}

/** Ticks in a row a step or the promotion may fail before the release is aborted for it. */
export const MAX_ACTION_ATTEMPTS = 3;

function describeAction(action: ReleaseAction): string {
  return action.kind === 'set-canary' ? `the step to ${action.share}%` : action.kind.replace('-', ' ');
}

export interface ReleaseRecord extends StoredRecord {
  id: string;
  service: string;
  image: string;
  requester: string;
  /** The change the release is filed as. */
  changeId?: string;
  /** The image the stable ran before the release: what an aborted promotion puts back. */
  stableImage?: string;
  /** Where the release's message goes (the requester's channel). */
  channel?: string;
  createdAt: string;
  intervalMs: number;
  analysis: AnalysisPolicy;
  plan: ReleasePlan;
  /** When the current step's interval began (its share set, or the gate cleared). */
  stepStartedAt: string;
  /** An action decided and not yet known done: run again after a restart. */
  pending?: ReleaseAction;
  /**
   * The pending action failed this many ticks in a row, and why the last time: shown with the release,
   * so a release the cluster refuses to move is never shown as moving.
   */
  trouble?: { action: ReleaseAction['kind']; attempts: number; at: string; message: string };
  history: ReleaseEntry[];
}

/** Thrown by the cluster when a rollout it waited for failed (the stable's, during promotion). */
export class ReleaseRolloutFailed extends Error {
  override readonly name = 'ReleaseRolloutFailed';
}

/**
 * Thrown by the cluster before it writes the stable (promotion) when the stable runs neither the
 * release's recorded stable image nor its new one: someone deployed during the release.
 */
export class ReleaseStableChanged extends Error {
  override readonly name = 'ReleaseStableChanged';
  constructor(readonly image: string) {
    super(`the stable runs ${image}`);
  }
}

/** What a release is started with, once the gate let it through. */
export interface ReleaseStart {
  id: string;
  service: string;
  image: string;
  requester: string;
  changeId?: string;
  stableImage?: string;
  channel?: string;
  steps: readonly number[];
  intervalMs: number;
  analysis: AnalysisPolicy;
}

/** What the controller does to the cluster; every call sets a target state and may be repeated. */
export interface ReleaseCluster {
  /** The canary Deployment exists with about `share`% of the pods; resolves with the share reached. */
  setCanary(release: ReleaseRecord, share: number): Promise<{ share: number }>;
  /** The stable Deployment runs the canary's image (rolled out), and the canary is gone. */
  promote(release: ReleaseRecord): Promise<void>;
  /** The canary is gone; the stable keeps serving. */
  removeCanary(release: ReleaseRecord): Promise<void>;
  /**
   * The stable runs the image it had before the release, and the canary is gone; the stable is put
   * back only while it runs the release's image (what Millwright wrote), never over someone's deploy.
   */
  restoreStable(release: ReleaseRecord): Promise<void>;
  /**
   * The image the stable runs now when it is neither the release's recorded stable image nor its new
   * one (someone deployed during the release); undefined while it is one of them.
   */
  stableChanged(release: ReleaseRecord): Promise<string | undefined>;
  /** Whether the canary's pods failed their rollout (crash loop, image pull, deadline), naming why. */
  canaryFailure(release: ReleaseRecord): Promise<string | undefined>;
}

/** The change gate's re-check before each step, and the service's budget state. */
export interface ReleaseGate {
  check(release: ReleaseRecord): Promise<{ blocked?: string; page?: string }>;
}

export interface ReleaseControllerOptions {
  store: Store;
  cluster: ReleaseCluster;
  gate: ReleaseGate;
  /** Each track's counts per SLI of the service over the interval before `at`. */
  samples: (release: ReleaseRecord, at: Date, intervalMs: number) => Promise<SliSample[]>;
  clock: Clock;
  logger: Logger;
  /** This process, for the per-release lease. */
  owner: string;
  /** Told after a release moved (a new history line, a state or step changed), with the saved record. */
  changed?: (release: ReleaseRecord) => Promise<void>;
}

/**
 * @example
 * const controller = new ReleaseController({ store, cluster, gate, samples, clock, logger, owner });
 * const release = await controller.start({ id: 'REL-3', service: 'checkout', image: 'v2', ... });
 * await controller.tick(); // from the worker, every few seconds
 */
export class ReleaseController {
  readonly #options: ReleaseControllerOptions;

  constructor(options: ReleaseControllerOptions) {
    this.#options = options;
  }

  /** Records a release the gate let start and sets the canary's first share. */
  async start(release: ReleaseStart): Promise<ReleaseRecord> {
    const { steps, ...rest } = release;
    const { plan, action } = startPlan(steps);
    const now = this.#options.clock.now().toISOString();
    const record: ReleaseRecord = {
      ...rest,
      createdAt: now,
      plan,
      stepStartedAt: now,
      pending: action,
      history: [{ at: now, event: 'started', state: plan.state, step: plan.step, action: action.kind }],
    };
    await this.#options.store.put(RELEASES, record);
    const started = await this.#runPending(record).catch(async (error: unknown) => {
      // The first share could not be set: the release stays recorded with its action pending, and
      // the next tick tries again.
      this.#options.logger.warn({ err: error, release: record.id }, 'the first step could not be set yet');
      return (await this.#options.store.get<ReleaseRecord>(RELEASES, record.id)) ?? record;
    });
    await this.#options.changed?.(started);
    return started;
  }

  /** A release as stored, or undefined. */
  get(id: string): Promise<ReleaseRecord | undefined> {
    return this.#options.store.get<ReleaseRecord>(RELEASES, id);
  }

  /**
   * A person's promote or abort, applied at once. A promote moves one step from `seenStep` (the step
   * the person saw) or not at all: a second promote of the same step is refused, never a skipped step.
   * Before a promote the stable is looked at: if someone deployed during the release, it pauses instead.
   */
  async apply(
    id: string,
    event: Extract<ReleaseEvent, { kind: 'promote' | 'abort' }>,
    seenStep?: number,
  ): Promise<ReleaseRecord | undefined> {
    return this.#leased(id, async (release) => {
      if (event.kind !== 'promote') return this.#move(release, event);
      if (seenStep !== undefined) alreadyMoved(release, seenStep);
      const changed = await this.#stableChanged(release);
      if (changed) return this.#move(release, { kind: 'stable-changed', reason: changed });
      return this.#move(release, event, seenStep);
    });
  }

  /** Moves every release that is not over by what happened since the last tick. */
  async tick(): Promise<void> {
    const open = await this.#options.store.list<ReleaseRecord>(
      RELEASES,
      (release) => release.plan.state !== 'promoted' && release.plan.state !== 'aborted',
    );
    for (const { id } of open) {
      try {
        await this.#leased(id, (release) => this.#advance(release));
      } catch (error) {
        // One release's trouble (Prometheus down, a 5xx) never stops the others; it is retried next tick.
        this.#options.logger.warn({ err: error, release: id }, 'a release could not be moved this tick');
      }
    }
  }

  async #advance(release: ReleaseRecord): Promise<ReleaseRecord> {
    let current = await this.#runPending(release);
    const over = () => current.plan.state === 'promoted' || current.plan.state === 'aborted';
    if (over()) return current;
    if (current.plan.state === 'promoting') return this.#move(current, { kind: 'promoted' });
    const failure = await this.#options.cluster.canaryFailure(current);
    if (failure) return this.#move(current, { kind: 'rollout-failed', reason: failure });
    // Before each step: a canary is only judged against the stable the release started from.
    const changed = await this.#stableChanged(current);
    if (changed) return this.#move(current, { kind: 'stable-changed', reason: changed });
    const gate = await this.#options.gate.check(current);
    if (gate.page) return this.#move(current, { kind: 'budget-page', reason: gate.page });
    const wasPaused = current.plan.state === 'paused';
    current = await this.#move(
      current,
      gate.blocked ? { kind: 'gate', blocked: gate.blocked } : { kind: 'gate' },
    );
    // The interval starts again once a pause ends: the numbers before it judged a paused release.
    if (wasPaused && current.plan.state === 'running') {
      current = await this.#save(current.id, (record) => ({ ...record, stepStartedAt: this.#now() }));
    }
    if (current.plan.state !== 'running') return current;
    const now = this.#options.clock.now();
    if (now.getTime() < Date.parse(current.stepStartedAt) + current.intervalMs) return current;
    const samples = await this.#options.samples(current, now, current.intervalMs);
    const verdict = judgeStep(samples, current.analysis, { waited: current.plan.waited });
    const moved = await this.#move(current, { kind: 'verdict', verdict });
    // A wait judges the next interval afresh.
    return verdict.decision === 'wait'
      ? this.#save(moved.id, (record) => ({ ...record, stepStartedAt: this.#now() }))
      : moved;
  }

  /**
   * Why the release must not go on against the stable it has now (someone deployed during it), or
   * undefined while the stable still runs the release's stable image (or its new one).
   */
  async #stableChanged(release: ReleaseRecord): Promise<string | undefined> {
    if (!release.stableImage) return undefined;
    const image = await this.#options.cluster.stableChanged(release);
    return image ? stableChangedReason(release, image) : undefined;
  }

  /**
   * Decides, records the decision and its action, then carries the action out. With `seenStep`, the
   * record is written only if it is still at that step (compare-and-set in the store's update).
   */
  async #move(release: ReleaseRecord, event: ReleaseEvent, seenStep?: number): Promise<ReleaseRecord> {
    const { plan, action } = decide(release.plan, event);
    if (plan === release.plan && !action) return release;
    const entry: ReleaseEntry = {
      at: this.#now(),
      event: describeEvent(event),
      state: plan.state,
      step: plan.step,
      ...(action ? { action: action.kind } : {}),
      ...(event.kind === 'verdict'
        ? {
            verdict: {
              decision: event.verdict.decision,
              reason: event.verdict.reason,
              slis: event.verdict.slis.map(numbersOf),
            },
          }
        : {}),
    };
    const saved = await this.#save(release.id, (record) => {
      if (seenStep !== undefined) alreadyMoved(record, seenStep);
      return {
        ...record,
        plan,
        ...(action ? { pending: action } : {}),
        history: [...record.history, entry],
      };
    });
    return this.#runPending(saved);
  }

  /** Carries out the recorded action, then clears it; a failure leaves it recorded for the next tick. */
  async #runPending(release: ReleaseRecord): Promise<ReleaseRecord> {
    const action = release.pending;
    if (!action) return release;
    let share: number | undefined;
    try {
      share = await this.#act(release, action);
    } catch (error) {
      if (!(error instanceof ReleaseRolloutFailed || error instanceof ReleaseStableChanged))
        return this.#actionFailed(release, action, error);
      // The rollout this action waited for failed, or the stable changed under it: the action is
      // over, and the plan decides what now (during promotion: put the stable back, if it is ours).
      const failed = await this.#save(release.id, ({ pending: _failed, ...record }) => record);
      return this.#move(
        failed,
        error instanceof ReleaseStableChanged
          ? { kind: 'stable-changed', reason: stableChangedReason(failed, error.image) }
          : { kind: 'rollout-failed', reason: error.message },
      );
    }
    return this.#save(release.id, (record) => {
      const { pending: _done, trouble: _over, ...rest } = record;
      const history = [...rest.history];
      const last = history.at(-1);
      if (last && share !== undefined) history[history.length - 1] = { ...last, share };
      return { ...rest, history, ...(action.kind === 'set-canary' ? { stepStartedAt: this.#now() } : {}) };
    });
  }

  /**
   * A recorded action the cluster did not carry out (a 403, a 5xx that lasts, a refused value): it is
   * kept, with how often and why, for the next tick; a forward move (a step or the promotion) that
   * failed MAX_ACTION_ATTEMPTS ticks in a row aborts the release with the reason, since a permission
   * or a value does not fix itself. Removing the canary or restoring the stable is retried for as long
   * as it takes (the release cannot be called aborted before it is), with the trouble shown.
   */
  async #actionFailed(release: ReleaseRecord, action: ReleaseAction, error: unknown): Promise<never> {
    const message = error instanceof Error ? error.message : String(error);
    const attempts = release.trouble?.action === action.kind ? release.trouble.attempts + 1 : 1;
    const saved = await this.#save(release.id, (record) => ({
      ...record,
      trouble: { action: action.kind, attempts, at: this.#now(), message },
    }));
    const forward = action.kind === 'set-canary' || action.kind === 'promote';
    if (forward && attempts >= MAX_ACTION_ATTEMPTS) {
      const { pending: _given, trouble: _told, ...record } = saved;
      const given = await this.#save(release.id, () => record);
      await this.#move(given, {
        kind: 'rollout-failed',
        reason: `the cluster refused ${describeAction(action)} ${attempts} times: ${message}`,
      });
    }
    throw error;
  }

  /** Carries out one action; resolves with the share reached for set-canary. */
  async #act(release: ReleaseRecord, action: ReleaseAction): Promise<number | undefined> {
    const { cluster } = this.#options;
    switch (action.kind) {
      case 'set-canary':
        return (await cluster.setCanary(release, action.share)).share;
      case 'promote':
        await cluster.promote(release);
        return undefined;
      case 'remove-canary':
        await cluster.removeCanary(release);
        return undefined;
      case 'restore-stable':
        await cluster.restoreStable(release);
        return undefined;
    }
  }

  async #leased(
    id: string,
    work: (release: ReleaseRecord) => Promise<ReleaseRecord>,
  ): Promise<ReleaseRecord | undefined> {
    const { store, owner } = this.#options;
    const lease = `release:${id}`;
    // Long enough for the slowest action: a promotion waits for the stable's rollout.
    if (!(await store.tryLock(lease, owner, LEASE_MS))) return undefined;
    try {
      const release = await store.get<ReleaseRecord>(RELEASES, id);
      if (!release) return undefined;
      const mark = (r: ReleaseRecord) =>
        `${r.history.length}:${r.plan.state}:${r.plan.step}:${r.pending?.kind ?? ''}`;
      const before = mark(release);
      let moved: ReleaseRecord | undefined;
      try {
        moved = await work(release);
        return moved;
      } finally {
        // Told even when the work failed half-way (an action recorded, not done), from the store.
        const now = moved ?? (await store.get<ReleaseRecord>(RELEASES, id));
        if (now && mark(now) !== before) await this.#options.changed?.(now);
      }
    } finally {
      await store.unlock(lease, owner);
    }
  }

  async #save(id: string, change: (record: ReleaseRecord) => ReleaseRecord): Promise<ReleaseRecord> {
    const saved = await this.#options.store.update<ReleaseRecord>(RELEASES, id, (record) => {
      if (!record) throw new Error(`release ${id} disappeared from the store`);
      return change(record);
    });
    return saved!;
  }

  #now(): string {
    return this.#options.clock.now().toISOString();
  }
}

/**
 * Refuses a person's promote when the release is no longer at the step they saw.
 *
 * @example
 * alreadyMoved(release, 0) // throws "REL-3 already moved to step 2 (25%)" once it is at 25%
 */
function alreadyMoved(release: ReleaseRecord, seenStep: number): void {
  const { step, steps } = release.plan;
  if (step === seenStep) return;
  throw new MillwrightError(
    ErrorCode.PreconditionFailed,
    `${release.id} already moved to step ${step + 1} (${steps[step]}%)`,
    { hint: `release status ${release.id} shows where it is; promote again to move it from there` },
  );
}

/**
 * The pause's reason: both images, by tag when they share a repository.
 *
 * @example
 * stableChangedReason(release, 'registry.example.com/shop/checkout:1.9.9-hotfix')
 * // 'the stable checkout now runs 1.9.9-hotfix, not 1.4.2 as when REL-3 started; someone deployed during the release'
 */
export function stableChangedReason(release: ReleaseRecord, image: string): string {
  const recorded = release.stableImage ?? 'its recorded image';
  const [now, before] =
    repositoryOf(image) === repositoryOf(recorded)
      ? [image.slice(repositoryOf(image).length + 1), recorded.slice(repositoryOf(recorded).length + 1)]
      : [image, recorded];
  return `the stable ${release.service} now runs ${now}, not ${before} as when ${release.id} started; someone deployed during the release`;
}

/** An image reference without its tag or digest. */
function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(0, at);
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? image.slice(0, colon) : image;
}

function numbersOf(verdict: SliVerdict): ReleaseSliNumbers {
  return {
    sli: verdict.sli,
    outcome: verdict.outcome,
    test: verdict.test,
    canary: verdict.canary,
    stable: verdict.stable,
    canaryRatio: verdict.canaryRatio,
    stableRatio: verdict.stableRatio,
    ...(verdict.pValue !== undefined ? { pValue: verdict.pValue } : {}),
  };
}

function describeEvent(event: ReleaseEvent): string {
  switch (event.kind) {
    case 'verdict':
      return `verdict: ${event.verdict.decision}`;
    case 'gate':
      return event.blocked ? `paused: ${event.blocked}` : 'gate clear';
    case 'rollout-failed':
      return `canary rollout failed: ${event.reason}`;
    case 'budget-page':
      return `budget paging: ${event.reason}`;
    case 'stable-changed':
      return `stable changed: ${event.reason}`;
    case 'promote':
      return `promoted by ${event.by}`;
    case 'abort':
      return `aborted by ${event.by}${event.reason ? `: ${event.reason}` : ''}`;
    case 'promoted':
      return 'stable rolled out the new image';
  }
}
