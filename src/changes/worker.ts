// The change worker: runs approved changes when they are due, one per service under a lock, watches
// the burn rates afterwards, rolls back a change that made them worse, and resumes after a restart.
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ParamValue, RunbookService } from '../runbooks/index.js';
import type { Store } from '../store/store.js';
import { type ChangeLedger, SYSTEM } from './ledger.js';
import type { GateInputs } from './policy-gate.js';
import type { PolicyConfig } from './policy-schema.js';
import type { Mover } from './transitions.js';
import type { ChangeRequest, ChangeState, GateEvaluation, SloStatus } from './types.js';

export interface ChangeWorkerOptions {
  store: Store;
  runbooks: RunbookService;
  policy: PolicyConfig;
  gate: Omit<GateInputs, 'store'>;
  clock: Clock;
  logger: Logger;
  events?: EventBus | undefined;
}

export class ChangeWorker {
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    private readonly ledger: ChangeLedger,
    private readonly options: ChangeWorkerOptions,
  ) {}

  /** Resumes in-flight work and ticks every `intervalMs` until `stop()`. */
  async start(intervalMs = 15_000): Promise<void> {
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
   * After a restart: a change caught mid-execution cannot safely be re-run, so it is marked failed
   * for a person to check; verifications simply continue from their stored samples.
   */
  async recover(): Promise<void> {
    for (const change of await this.ledger.list({ state: 'executing' })) {
      change.execution = {
        ...change.execution!,
        finishedAt: this.options.clock.now().toISOString(),
        status: 'interrupted',
      };
      await this.ledger.transition(change, 'failed', {
        mover: 'system',
        detail:
          'Millwright restarted while this change was executing; check the audit trail for which steps ran',
        release: true,
      });
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
    for (const listed of await this.ledger.list()) {
      try {
        // Re-read under the change's lock: an approval may have landed since the list was taken.
        await this.ledger.exclusive(listed.id, () => this.#due(listed.id, now));
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
    } else if (change.state === 'approved') {
      await this.startWhenDue(change, undefined);
    } else if (change.state === 'verifying' && new Date(change.verification!.nextSampleAt) <= now) {
      await this.#sample(change);
    }
  }

  /**
   * Runs an approved change when its time has come and its service's lock is free, after the gate
   * agrees once more; otherwise notes that it is scheduled or queued.
   */
  async startWhenDue(change: ChangeRequest, ref: string | undefined): Promise<void> {
    const { store, policy, clock } = this.options;
    if (change.notBefore && new Date(change.notBefore) > clock.now()) {
      this.ledger.note(change, 'scheduled', SYSTEM, `runs at ${change.notBefore}`);
      await this.ledger.save(change);
      return;
    }
    const lockTtl = parseDuration(policy.lockTtl) + parseDuration(policy.verify.window);
    if (!(await store.tryLock(`change:${change.service}`, change.id, lockTtl))) {
      const holder = await store.get<{ id: string; owner: string }>('locks', `change:${change.service}`);
      const waiting = `waiting for the change lock on ${change.service}${holder ? ` (held by ${holder.owner})` : ''}`;
      if (change.timeline.at(-1)?.detail !== waiting) {
        this.ledger.note(change, 'queued', SYSTEM, waiting);
        await this.ledger.save(change);
      }
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
    const baseline = await this.#worstBurn(change.service, '1h');
    change.execution = { startedAt: clock.now().toISOString() };
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
      { dryRun: false },
    );
    change.execution = { ...change.execution, finishedAt: clock.now().toISOString(), status: outcome.status };
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
    change.verification = pendingVerification(baseline);
    await this.beginVerification(change, 'system', ref);
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
    let statuses: SloStatus[] | undefined;
    let note: string;
    try {
      statuses = this.options.gate.budgets
        ? await this.options.gate.budgets.statusFor(change.service, now)
        : undefined;
      note = statuses
        ? statuses
            .map(
              (s) =>
                `${s.slo}: ${s.burnState}${s.burnRate5m !== undefined ? `, 5m burn ${s.burnRate5m.toFixed(1)}x` : ''}`,
            )
            .join('; ')
        : 'no error budget source';
    } catch (error) {
      note = `could not read burn rates: ${asMillwrightError(error).message}`;
    }
    const page = statuses?.some((s) => s.burnState === 'page') ?? false;
    const worst = statuses?.reduce<number | undefined>(
      (max, s) => (s.burnRate5m === undefined ? max : Math.max(max ?? 0, s.burnRate5m)),
      undefined,
    );
    const limit = Math.max(1, (verification.baselineBurnRate ?? 0) * policy.verify.tolerance);
    const regressed = page || (worst !== undefined && worst > limit);
    verification.samples.push({
      at: now.toISOString(),
      ...(worst !== undefined ? { worstBurnRate: worst } : {}),
      page,
      note,
    });
    verification.nextSampleAt = new Date(now.getTime() + parseDuration(policy.verify.interval)).toISOString();
    if (regressed) {
      const why = page
        ? `the page condition fired (${note})`
        : `5m burn ${worst!.toFixed(1)}x exceeds ${limit.toFixed(1)}x (baseline ${verification.baselineBurnRate?.toFixed(1) ?? '0'}x × ${policy.verify.tolerance})`;
      await this.#failVerification(change, why);
      return;
    }
    if (now >= new Date(verification.until)) {
      const unread = verification.samples.every((s) => s.worstBurnRate === undefined && !s.page);
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
        detail: `no regression in ${policy.verify.window} after the change`,
        release: true,
      });
      return;
    }
    await this.ledger.save(change);
  }

  async #failVerification(change: ChangeRequest, why: string): Promise<void> {
    const { runbooks, policy, clock } = this.options;
    await this.ledger.transition(change, 'failed', {
      mover: 'system',
      detail: `verification failed: ${why}`,
    });
    let rolledBack = false;
    if (policy.verify.rollback && change.kind === 'runbook') {
      const runbook = runbooks.get(change.runbook!);
      if (runbook.spec.spec.rollback.length > 0) {
        const rollbackOnly = {
          ...runbook,
          spec: {
            ...runbook.spec,
            spec: { ...runbook.spec.spec, steps: runbook.spec.spec.rollback, rollback: [] },
          },
        };
        this.ledger.note(
          change,
          'rollback',
          SYSTEM,
          'policy.verify.rollback allows rolling back a change that failed verification',
        );
        const outcome = await runbooks.run(
          rollbackOnly,
          change.params as Record<string, ParamValue>,
          { actor: change.requestedBy, surface: 'scheduler', channel: change.channel, ref: change.id, clock },
          { dryRun: false },
        );
        rolledBack = outcome.status === 'succeeded';
        await this.ledger.transition(change, rolledBack ? 'rolled-back' : 'failed', {
          mover: 'system',
          detail: rolledBack ? 'rollback steps ran' : `rollback ${outcome.status}`,
        });
      }
    }
    await this.ledger.release(change);
    await this.options.events?.emit('change.verification-failed', {
      change,
      reason: 'regressed',
      why,
      rolledBack,
    });
  }

  async #worstBurn(service: string, window: '1h'): Promise<number | undefined> {
    try {
      const statuses = await this.options.gate.budgets?.statusFor(service, this.options.clock.now());
      const key = window === '1h' ? 'burnRate1h' : 'burnRate5m';
      return statuses?.reduce<number | undefined>(
        (max, s) => (s[key] === undefined ? max : Math.max(max ?? 0, s[key]!)),
        undefined,
      );
    } catch (error) {
      this.options.logger.warn({ err: error, service }, 'baseline burn rate unavailable');
      return undefined;
    }
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

/** Verification not started yet, holding the burn rate seen before the change (the bar it is judged by). */
function pendingVerification(baseline: number | undefined): NonNullable<ChangeRequest['verification']> {
  return {
    startedAt: '',
    until: '',
    nextSampleAt: '',
    samples: [],
    ...(baseline !== undefined ? { baselineBurnRate: baseline } : {}),
  };
}
