// The change worker: runs approved changes when they are due, one per service under a lock, watches
// the burn rates afterwards, rolls back a change that made them worse, and resumes after a restart.
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ParamValue, RunbookService, RunProgress } from '../runbooks/index.js';
import { REPLICA_ID } from '../store/coordination.js';
import type { Store } from '../store/store.js';
import { judgeBurn, snapshotOf } from './burn-evidence.js';
import type { RollbackOutcome } from './events.js';
import { type ChangeLedger, SYSTEM } from './ledger.js';
import type { GateInputs } from './policy-gate.js';
import type { PolicyConfig } from './policy-schema.js';
import { planRollback } from './rollback.js';
import type { Mover } from './transitions.js';
import {
  awaitsPickup,
  type BurnSnapshot,
  type ChangeRequest,
  type ChangeState,
  type ExecutionProgress,
  type GateEvaluation,
  servicesOf,
} from './types.js';
import type { ServiceCatalog } from './workloads.js';

export interface ChangeWorkerOptions {
  store: Store;
  runbooks: RunbookService;
  policy: PolicyConfig;
  catalog: ServiceCatalog;
  gate: Omit<GateInputs, 'store'>;
  clock: Clock;
  logger: Logger;
  events?: EventBus | undefined;
  /** Runs first on every tick (the error-budget policy), so a freeze holds the changes due in it. */
  beforeTick?: ((now: Date) => Promise<void>) | undefined;
}

export class ChangeWorker {
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    private readonly ledger: ChangeLedger,
    private readonly options: ChangeWorkerOptions,
  ) {}

  /** Resumes in-flight work and ticks every `intervalMs` (policy.workerInterval) until `stop()`. */
  async start(intervalMs = parseDuration(this.options.policy.workerInterval)): Promise<void> {
    await this.recover();
    this.#timer = setInterval(() => void this.tick(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /**
   * Changes caught mid-execution by a process that stopped: each one whose hold has lapsed is taken
   * over here and carried on from its recorded steps (see `#resume`); one still held by a live replica
   * is left to it, and the tick takes it over once that hold lapses. Verifications simply continue
   * from their stored samples.
   */
  async recover(): Promise<void> {
    for (const change of await this.ledger.list({ state: 'executing' })) {
      // A release's controller resumes it from its own record: it never repeats a step.
      if (change.kind === 'release') continue;
      try {
        await this.ledger.tryExclusive(change.id, () => this.#due(change.id, this.options.clock.now()));
      } catch (error) {
        this.options.logger.error(
          { err: error, change: change.id },
          'change worker could not resume a change',
        );
      }
    }
  }

  /** One pass over due work: expiries, scheduled and queued executions, verification samples. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const now = this.options.clock.now();
    await this.options.beforeTick?.(now).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'error-budget policy evaluation failed');
    });
    // The list is a snapshot: only what looks due is re-read under the change's hold, and a change
    // another replica holds right now is skipped (that replica is on it; the next tick looks again).
    for (const listed of (await this.ledger.list()).filter((change) => looksDue(change, now))) {
      try {
        await this.ledger.tryExclusive(listed.id, () => this.#due(listed.id, now));
      } catch (error) {
        this.options.logger.error({ err: error, change: listed.id }, 'change worker step failed');
      }
    }
  }

  async #due(id: string, now: Date): Promise<void> {
    const change = await this.ledger.get(id);
    if (change.state === 'pending-approval' && new Date(change.expiresAt) <= now) {
      await this.ledger.transition(change, 'expired', {
        mover: 'system',
        detail: 'no decision before the request expired',
      });
    } else if (awaitsPickup(change)) {
      // Only the pipeline's next question delivers it; one it never asks again expires unseen.
      if (new Date(change.expiresAt) <= now) await this.expirePickup(change);
    } else if (change.state === 'approved') {
      await this.startWhenDue(change, undefined);
    } else if (change.state === 'executing' && change.kind !== 'release') {
      // Executions run under the change's hold from start to end: holding it now means whoever ran
      // this one stopped (killed, or restarted) before it finished.
      await this.#resume(change);
    } else if (change.state === 'verifying' && new Date(change.verification!.nextSampleAt) <= now) {
      await this.#sample(change);
    }
  }

  /**
   * Carries on an execution a stopped replica left: the steps it recorded as done are not run again;
   * a step it had called without an answer runs again only when that is safe (a read, an idempotent
   * write). Otherwise the change fails for a person to check, naming the step.
   */
  async #resume(change: ChangeRequest): Promise<void> {
    const progress = change.execution?.progress;
    const { clock } = this.options;
    if (change.runbook === undefined) {
      // A pipeline delivery: the gate had answered pass; verification is what was left to start.
      change.verification ??= pendingVerification([]);
      await this.beginVerification(change, 'system', undefined);
      return;
    }
    const unsafe = progress?.inFlight && !this.options.runbooks.repeatable(progress.inFlight.uses);
    if (progress?.stopped || unsafe) {
      const where = progress?.inFlight
        ? `while step ${progress.inFlight.position} (${progress.inFlight.label}, ${progress.inFlight.uses}) was running; it is not safe to repeat`
        : 'after a step had failed';
      change.execution = {
        ...change.execution!,
        finishedAt: clock.now().toISOString(),
        status: 'interrupted',
      };
      await this.ledger.transition(change, 'failed', {
        mover: 'system',
        detail: `the replica running this change (${progress?.by ?? 'unknown'}) stopped ${where}; check the audit trail for which steps ran`,
        release: true,
      });
      return;
    }
    this.ledger.note(
      change,
      'resumed',
      SYSTEM,
      `${REPLICA_ID} carries on from step ${(progress?.done ?? 0) + 1} after ${progress?.by ?? 'a replica'} stopped`,
    );
    await this.#execute(change, undefined, progress);
  }

  /**
   * Runs an approved change when its time has come and its service's lock is free, after the gate
   * agrees once more; otherwise notes that it is scheduled or queued.
   */
  async startWhenDue(change: ChangeRequest, ref: string | undefined): Promise<void> {
    const { clock } = this.options;
    if (change.notBefore && new Date(change.notBefore) > clock.now()) {
      // Every tick until then asks again; only the first leaves a row (and a write).
      if (this.ledger.note(change, 'scheduled', SYSTEM, `runs at ${change.notBefore}`))
        await this.ledger.save(change);
      return;
    }
    const busy = await this.#lockServices(change);
    if (busy) {
      const waiting = `waiting for the change lock on ${busy.service}${busy.holder ? ` (held by ${busy.holder})` : ''}`;
      if (this.ledger.note(change, 'queued', SYSTEM, waiting)) await this.ledger.save(change);
      return;
    }
    // The budget may have drained while the change waited: decide again before touching anything.
    const evaluation = await this.ledger.evaluate(change, 'execution');
    const stillFine =
      evaluation.decision === 'approved' ||
      (change.humanApproved && evaluation.decision === 'needs-approval' && !newFailures(change, evaluation));
    if (!stillFine) {
      await this.ledger.transition(change, 'denied', {
        mover: 'system',
        detail: `stopped at execution: the gate now says ${evaluation.decision}`,
        ref,
        release: true,
      });
      return;
    }
    const baseline = await this.#burnNow(change);
    change.execution = { startedAt: clock.now().toISOString() };
    if (change.delivery) {
      // The pipeline delivers it as soon as the gate answers pass; verification starts from here.
      await this.ledger.transition(change, 'executing', {
        mover: 'system',
        detail: change.delivery.polls
          ? `${change.delivery.pipeline} is answered pass and goes ahead (picked up): ${change.summary}`
          : `${change.delivery.pipeline} may go ahead: ${change.summary}`,
        ref,
      });
      change.verification = pendingVerification(baseline);
      await this.beginVerification(change, 'system', ref);
      return;
    }
    if (change.kind === 'release') {
      // The release controller moves the canary step by step and closes the change when it ends; the
      // service's change lock stays taken until then.
      await this.ledger.transition(change, 'executing', {
        mover: 'system',
        detail: `release ${change.release?.id ?? ''} may start: ${change.summary}`,
        ref,
      });
      change.verification = pendingVerification(baseline);
      await this.ledger.save(change);
      return;
    }
    if (change.kind === 'manual') {
      await this.ledger.transition(change, 'in-progress', {
        mover: 'system',
        detail: `${change.requestedBy} may go ahead; close it with change done ${change.id}`,
        ref,
      });
      change.verification = pendingVerification(baseline);
      await this.ledger.save(change);
      return;
    }
    await this.ledger.transition(change, 'executing', {
      mover: 'system',
      detail: `running ${change.runbook}`,
      ref,
    });
    change.verification = pendingVerification(baseline);
    await this.#execute(change, ref, undefined);
  }

  /**
   * Runs the change's runbook, recording each step before its executor is called and after it
   * answers, so a replica that takes over knows what ran; then verification, or the failure.
   */
  async #execute(
    change: ChangeRequest,
    ref: string | undefined,
    resume: RunProgress | undefined,
  ): Promise<void> {
    const { clock } = this.options;
    const progress: ExecutionProgress = {
      done: 0,
      summaries: [],
      outputs: {},
      ...resume,
      by: REPLICA_ID,
      inFlight: undefined,
    };
    delete progress.inFlight;
    const record = async () => {
      change.execution = { ...change.execution!, progress: { ...progress } };
      await this.ledger.save(change);
    };
    await record();
    const runbook = this.options.runbooks.get(change.runbook!);
    const outcome = await this.options.runbooks.run(
      runbook,
      change.params as Record<string, ParamValue>,
      {
        actor: change.requestedBy,
        surface: 'scheduler',
        channel: change.channel,
        ref: ref ?? change.id,
        clock,
      },
      {
        dryRun: false,
        ...(resume ? { resume } : {}),
        onStepStart: async (step) => {
          progress.inFlight = step;
          await record();
        },
        onStep: async (step, _total, output) => {
          if (step.phase !== 'main') return;
          delete progress.inFlight;
          progress.done = step.position;
          progress.summaries[step.position - 1] = step.summary;
          if (output) progress.outputs[output.id] = output.values;
          if (step.status === 'failed') progress.stopped = true;
          await record();
        },
      },
    );
    change.execution = {
      ...change.execution!,
      finishedAt: clock.now().toISOString(),
      status: outcome.status,
    };
    if (outcome.status !== 'succeeded') {
      const state: ChangeState = outcome.status === 'rolled-back' ? 'rolled-back' : 'failed';
      const failed = outcome.steps.find((s) => s.status === 'failed');
      await this.ledger.transition(change, state, {
        mover: 'system',
        detail: `${change.runbook} ${outcome.status}${failed ? ` at ${failed.label}: ${failed.summary}` : ''}`,
        ref,
        release: true,
      });
      return;
    }
    change.verification ??= pendingVerification([]);
    await this.beginVerification(change, 'system', ref);
  }

  /** Expires a polling pipeline's approved delivery that it never came back for: it was not delivered. */
  async expirePickup(change: ChangeRequest): Promise<void> {
    await this.ledger.transition(change, 'expired', {
      mover: 'system',
      detail: `approved, but ${change.delivery?.pipeline ?? 'the pipeline'} did not ask again before the request expired; nothing was delivered`,
    });
  }

  /** Starts watching the burn rates after a change ran (or its requester closed it as done). */
  async beginVerification(change: ChangeRequest, mover: Mover, ref: string | undefined): Promise<void> {
    const now = this.options.clock.now();
    const { window, interval } = this.options.policy.verify;
    change.verification = {
      samples: [],
      ...change.verification,
      startedAt: now.toISOString(),
      until: new Date(now.getTime() + parseDuration(window)).toISOString(),
      nextSampleAt: new Date(now.getTime() + parseDuration(interval)).toISOString(),
    };
    await this.ledger.transition(change, 'verifying', {
      mover,
      detail: `watching the burn rates of ${change.service} for ${window}`,
      ref,
    });
  }

  async #sample(change: ChangeRequest): Promise<void> {
    const { clock, policy } = this.options;
    const now = clock.now();
    const verification = change.verification!;
    let after: BurnSnapshot[] | undefined;
    let note: string;
    let verdict: ReturnType<typeof judgeBurn> | undefined;
    try {
      after = await this.#readBurn(change, now);
      if (after) {
        verification.after = after;
        verdict = judgeBurn(
          verification.baseline ?? [],
          after,
          policy.verify.tolerance,
          policy.verify.minEvents,
        );
        note = verdict.lines.join('; ') || 'no SLOs to watch';
      } else note = 'no error budget source';
    } catch (error) {
      note = `could not read burn rates: ${asMillwrightError(error).message}`;
    }
    const measured = after?.some((s) => s.burnState !== 'unknown' || Object.keys(s.burnRates).length > 0);
    const worst = after?.reduce<number | undefined>(
      (max, s) => (s.burnRates['5m'] === undefined ? max : Math.max(max ?? 0, s.burnRates['5m'])),
      undefined,
    );
    verification.samples.push({
      at: now.toISOString(),
      ...(worst !== undefined ? { worstBurnRate: worst } : {}),
      page: after?.some((s) => s.burnState === 'page') ?? false,
      ...(measured ? { measured } : {}),
      note,
    });
    verification.nextSampleAt = new Date(now.getTime() + parseDuration(policy.verify.interval)).toISOString();
    if (verdict?.regressed) {
      await this.#failVerification(change, `worse than before the change: ${note}`);
      return;
    }
    if (now >= new Date(verification.until)) {
      const unread = verification.samples.every((s) => !s.measured);
      if (unread && this.options.gate.budgets) {
        // Nothing could be measured: do not call it a success.
        await this.ledger.transition(change, 'failed', {
          mover: 'system',
          detail: 'verification could not read any burn rate; a person must check the service',
          release: true,
        });
        await this.options.events?.emit('change.verification-failed', { change, reason: 'unmeasured' });
        return;
      }
      await this.ledger.transition(change, 'succeeded', {
        mover: 'system',
        detail: `no regression in ${policy.verify.window} after the change: ${note}`,
        release: true,
      });
      return;
    }
    await this.ledger.save(change);
  }

  async #failVerification(change: ChangeRequest, why: string): Promise<void> {
    const { runbooks, policy, clock, catalog } = this.options;
    await this.ledger.transition(change, 'failed', {
      mover: 'system',
      detail: `verification failed: ${why}`,
    });
    const plan = planRollback(change, { runbooks, catalog, policy });
    const told = whoIsTold(change, catalog);
    let rollback: RollbackOutcome;
    if (plan.kind === 'none') {
      rollback = { status: 'none', detail: plan.why };
      this.ledger.note(change, 'no rollback', SYSTEM, `no rollback was run: ${plan.why}; told ${told}`);
      await this.ledger.save(change);
    } else {
      this.ledger.note(change, 'rollback', SYSTEM, `running ${plan.what}`);
      await this.ledger.save(change);
      const outcome = await runbooks.run(
        plan.runbook,
        plan.params,
        { actor: change.requestedBy, surface: 'scheduler', channel: change.channel, ref: change.id, clock },
        { dryRun: false },
      );
      const failedStep = outcome.steps.find((s) => s.status === 'failed');
      const ended = `${plan.what} ${outcome.status}${failedStep ? ` at ${failedStep.label}: ${failedStep.summary}` : ''}`;
      rollback = {
        status: outcome.status === 'succeeded' ? 'succeeded' : 'failed',
        runbook: plan.runbook.spec.metadata.name,
        detail: ended,
      };
      await this.ledger.transition(change, rollback.status === 'succeeded' ? 'rolled-back' : 'failed', {
        mover: 'system',
        detail:
          rollback.status === 'succeeded'
            ? `rolled back: ${ended}`
            : `rollback failed: ${ended}; told ${told}`,
      });
    }
    await this.ledger.release(change);
    await this.options.events?.emit('change.verification-failed', {
      change,
      reason: 'regressed',
      why,
      rolledBack: rollback.status === 'succeeded',
      rollback,
      owners: ownerChannels(change, catalog),
    });
  }

  /**
   * Takes the change lock of every service the change touches, or none of them: the first busy
   * service and who holds it when one is taken.
   */
  async #lockServices(change: ChangeRequest): Promise<{ service: string; holder?: string } | undefined> {
    const { store, policy } = this.options;
    const lockTtl = parseDuration(policy.lockTtl) + parseDuration(policy.verify.window);
    const taken: string[] = [];
    for (const service of servicesOf(change)) {
      if (await store.tryLock(`change:${service}`, change.id, lockTtl)) {
        taken.push(service);
        continue;
      }
      for (const held of taken) await store.unlock(`change:${held}`, change.id);
      const holder = await store.get<{ id: string; owner: string }>('locks', `change:${service}`);
      return { service, ...(holder ? { holder: holder.owner } : {}) };
    }
    return undefined;
  }

  /** Every SLO of every service the change touches, as verification keeps it; undefined without a budget source. */
  async #readBurn(change: ChangeRequest, at: Date): Promise<BurnSnapshot[] | undefined> {
    const budgets = this.options.gate.budgets;
    if (!budgets) return undefined;
    const snapshots: BurnSnapshot[] = [];
    for (const service of servicesOf(change))
      snapshots.push(...(await budgets.statusFor(service, at)).map(snapshotOf));
    return snapshots;
  }

  /** The burn before the change, the bar verification judges by; empty when it cannot be read. */
  async #burnNow(change: ChangeRequest): Promise<BurnSnapshot[]> {
    try {
      return (await this.#readBurn(change, this.options.clock.now())) ?? [];
    } catch (error) {
      // Judged as if it had been fine before: an unknown baseline never excuses a regression.
      this.options.logger.warn({ err: error, change: change.id }, 'baseline burn rates unavailable');
      return [];
    }
  }
}

/** Whether the worker has something to do for a change now, judged on a listed (maybe stale) copy. */
function looksDue(change: ChangeRequest, now: Date): boolean {
  switch (change.state) {
    case 'pending-approval':
      return new Date(change.expiresAt) <= now;
    case 'approved':
      return true;
    case 'executing':
      // A release's controller carries its own executions on.
      return change.kind !== 'release';
    case 'verifying':
      return change.verification !== undefined && new Date(change.verification.nextSampleAt) <= now;
    default:
      return false;
  }
}

/** Whether a rule that passed when people approved now fails (the budget drained meanwhile). */
function newFailures(change: ChangeRequest, latest: GateEvaluation): boolean {
  const approvedOn = change.evaluations.find((e) => e.purpose === 'request');
  if (!approvedOn) return true;
  const failing = (e: GateEvaluation) =>
    new Set(e.rules.filter((r) => r.status !== 'pass').map((r) => r.evidence.split(':')[0]));
  const before = failing(approvedOn);
  return [...failing(latest)].some((rule) => !before.has(rule));
}

/** Verification not started yet, holding the burn seen before the change (the bar it is judged by). */
function pendingVerification(baseline: BurnSnapshot[]): NonNullable<ChangeRequest['verification']> {
  return { startedAt: '', until: '', nextSampleAt: '', samples: [], baseline };
}

/** The home channels of the services a change touches, where their owners hear of a failed rollback. */
function ownerChannels(change: ChangeRequest, catalog: ServiceCatalog): string[] {
  const channels = servicesOf(change).flatMap((service) => catalog[service]?.channel ?? []);
  return [...new Set(channels.filter((channel) => channel !== change.channel))];
}

/** `C-OPS and the owners of checkout (ana, olu) in C-CHECKOUT`: who the notice goes to, for the timeline. */
function whoIsTold(change: ChangeRequest, catalog: ServiceCatalog): string {
  const owners = servicesOf(change).flatMap((service) => catalog[service]?.owners ?? []);
  const channels = ownerChannels(change, catalog);
  const ownerText = owners.length ? ` (owners ${[...new Set(owners)].join(', ')})` : '';
  return channels.length
    ? `${change.channel} and ${channels.join(', ')}${ownerText}`
    : `${change.channel}${ownerText}`;
}
