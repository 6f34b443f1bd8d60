// Change requests end to end: request, gate, approvals, one-at-a-time execution per service under a
// lock, verification against the burn rates afterwards, and resumption of in-flight work after a restart.
import type { AuditLog } from '../audit/types.js';
import type { Clock } from '../core/clock.js';
import type { AccessPolicy, Origin } from '../core/context.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError, badArgument, ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ParamValue, RunbookService } from '../runbooks/index.js';
import type { Store } from '../store/store.js';
import { type AdHocFreeze, evaluateGate, explainRule, type GateInputs } from './policy-gate.js';
import type { PolicyConfig } from './policy-schema.js';
import { assertMove, type Mover, mayMove, moversOf, PEOPLE, sourcesOf } from './transitions.js';
import {
  type ChangeRequest,
  type ChangeState,
  FINAL_STATES,
  type GateEvaluation,
  type SloStatus,
} from './types.js';

const COLLECTION = 'changes';
const SYSTEM = 'millwright';

export interface ChangeServiceOptions {
  store: Store;
  audit: AuditLog;
  runbooks: RunbookService;
  policy: PolicyConfig;
  gate: Omit<GateInputs, 'store'>;
  clock: Clock;
  logger: Logger;
  /** Where transitions are told (src/notices renders and posts them); without it nobody hears. */
  events?: EventBus;
  /** Who holds which role; without it the roles resolved on the actor count. */
  access?: Pick<AccessPolicy, 'rolesFor'>;
}

/** One state change as the service asks for it; `by` defaults to Millwright itself. */
interface Move {
  mover: Mover;
  by?: string;
  detail: string;
  ref?: string | undefined;
  /** Free the service's change lock before anyone hears of it (the change is done with it). */
  release?: boolean;
}

export interface NewChange {
  runbook?: string;
  params?: Record<string, string>;
  service?: string;
  summary?: string;
  reason?: string;
  risk?: 'low' | 'medium' | 'high';
  at?: Date;
}

export class ChangeService {
  #timer: NodeJS.Timeout | undefined;
  readonly #busy = new Map<string, Promise<void>>();
  #ticking: Promise<void> | undefined;

  constructor(private readonly options: ChangeServiceOptions) {}

  // --- reading -------------------------------------------------------------------------------

  async get(id: string): Promise<ChangeRequest> {
    const change = await this.options.store.get<ChangeRequest>(COLLECTION, id.toUpperCase());
    if (!change)
      throw new MillwrightError(ErrorCode.NotFound, `there is no change ${id}`, {
        hint: 'change list shows recent changes',
      });
    return change;
  }

  async list(
    filter: { service?: string; state?: string; requestedBy?: string } = {},
  ): Promise<ChangeRequest[]> {
    const found = await this.options.store.list<ChangeRequest>(
      COLLECTION,
      (c) =>
        (!filter.service || c.service === filter.service) &&
        (!filter.state || c.state === filter.state) &&
        (!filter.requestedBy || c.requestedBy === filter.requestedBy),
    );
    return found.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  }

  // --- requesting ----------------------------------------------------------------------------

  /** Files a change, evaluates the gate, and executes it at once when the gate approves and no time is set. */
  async request(origin: Origin, input: NewChange): Promise<ChangeRequest> {
    const { runbooks, policy, clock } = this.options;
    const now = clock.now();
    let change: ChangeRequest;
    const base = {
      requestedBy: origin.actor.id,
      channel: origin.channel,
      surface: origin.surface,
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + parseDuration(policy.approvals.ttl)).toISOString(),
      state: 'pending-approval' as ChangeState,
      approvals: [],
      humanApproved: false,
      evaluations: [],
      timeline: [],
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.at ? { notBefore: input.at.toISOString() } : {}),
    };
    if (input.runbook) {
      const runbook = runbooks.get(input.runbook);
      const decision = runbooks.authorize(origin.actor, runbook, origin.channel);
      if (!decision.allowed) {
        throw new MillwrightError(ErrorCode.PermissionDenied, `permission denied: ${decision.reason}`, {
          hint: 'a change runs the runbook as you, so you need a role the runbook allows',
        });
      }
      const raw = { ...(input.params ?? {}) };
      const declaresService = runbook.spec.spec.params.some((p) => p.name === 'service');
      if (declaresService && input.service) raw.service = input.service;
      const params = runbooks.params(runbook, raw);
      const services = runbook.spec.metadata.services;
      const service = input.service ?? (services.length === 1 ? services[0] : undefined);
      if (!service) {
        throw badArgument(
          `say which service this change is for: service=${services.join('|') || 'NAME'}`,
          undefined,
          'service',
        );
      }
      change = {
        ...base,
        id: await this.#nextId(),
        kind: 'runbook',
        service,
        runbook: runbook.spec.metadata.name,
        params,
        summary: `${runbook.spec.metadata.name} ${Object.entries(params)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')}`.trim(),
        risk: runbook.spec.spec.risk,
        changeClass: runbook.spec.spec.changeClass,
      };
    } else {
      if (!input.service)
        throw badArgument(
          'a change needs service=',
          'change request service=checkout summary="raise pool size"',
          'service',
        );
      if (!input.summary)
        throw badArgument(
          'a change a person performs needs summary="..."',
          'say what you will change',
          'summary',
        );
      const risk = input.risk ?? 'medium';
      change = {
        ...base,
        id: await this.#nextId(),
        kind: 'manual',
        service: input.service,
        summary: input.summary,
        risk,
        changeClass: risk === 'low' ? 'standard' : 'normal',
      };
    }
    this.#note(change, 'requested', origin.actor.id, change.summary);
    const evaluation = await this.#evaluate(change, 'request');
    await this.#save(change, origin, 'change.request', {
      summary: change.summary,
      decision: evaluation.decision,
    });
    await this.#exclusive(change.id, () => this.#applyDecision(change, evaluation, origin));
    return this.get(change.id);
  }

  async #applyDecision(change: ChangeRequest, evaluation: GateEvaluation, origin: Origin): Promise<void> {
    if (evaluation.decision === 'denied') {
      await this.#transition(change, 'denied', {
        mover: 'system',
        detail: 'denied by the policy gate',
        ref: origin.ref,
      });
      return;
    }
    if (evaluation.decision === 'approved') {
      this.#note(change, 'approved', SYSTEM, 'every rule passed: approved without a human');
      await this.#transition(change, 'approved', {
        mover: 'system',
        detail: 'approved by the policy gate',
        ref: origin.ref,
      });
      await this.#startWhenDue(change, origin.ref);
      return;
    }
    const why =
      evaluation.decision === 'unknown'
        ? 'the gate could not decide; a person must approve'
        : 'needs approval';
    this.#note(change, 'awaiting approval', SYSTEM, why);
    await this.#save(change, undefined, 'change.evaluate', { decision: evaluation.decision });
  }

  // --- people deciding -----------------------------------------------------------------------

  approve(origin: Origin, id: string, reason?: string): Promise<ChangeRequest> {
    return this.#exclusive(id, () => this.#approve(origin, id, reason));
  }

  async #approve(origin: Origin, id: string, reason?: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    const { role, required } = this.options.policy.approvals;
    this.#expectState(change, 'approved', 'approve');
    const movers = this.#moversOf(origin, change);
    if (movers.includes('requester')) {
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `${origin.actor.id} requested ${change.id} and cannot approve it too`,
        {
          hint: `ask someone else with the ${role} role`,
        },
      );
    }
    if (!mayMove(change, 'approved', movers)) {
      const roles = this.#rolesOf(origin);
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `approving changes needs the ${role} role; ${origin.actor.id} has ${roles.join(', ') || 'none'}`,
        {
          hint: `ask someone with the ${role} role`,
        },
      );
    }
    if (change.approvals.some((a) => a.by === origin.actor.id))
      throw badArgument(`${origin.actor.id} already approved ${change.id}`);
    if (new Date(change.expiresAt) <= this.options.clock.now()) {
      await this.#transition(change, 'expired', {
        mover: 'system',
        detail: 'the request expired before enough approvals',
        ref: origin.ref,
      });
      throw new MillwrightError(ErrorCode.BadArgument, `${change.id} expired at ${change.expiresAt}`, {
        hint: 'file the change again',
      });
    }
    change.approvals.push({
      by: origin.actor.id,
      at: this.options.clock.now().toISOString(),
      ...(reason ? { reason } : {}),
    });
    this.#note(change, 'approval', origin.actor.id, reason ?? `${change.approvals.length} of ${required}`);
    if (change.approvals.length < required) {
      await this.#save(change, origin, 'change.approve', { approvals: change.approvals.length, required });
      return change;
    }
    change.humanApproved = true;
    await this.#transition(change, 'approved', {
      mover: 'approver',
      by: origin.actor.id,
      detail: `approved by ${change.approvals.map((a) => a.by).join(', ')}`,
      ref: origin.ref,
    });
    await this.#startWhenDue(change, origin.ref);
    return this.get(change.id);
  }

  deny(origin: Origin, id: string, reason: string): Promise<ChangeRequest> {
    return this.#exclusive(id, () => this.#deny(origin, id, reason));
  }

  async #deny(origin: Origin, id: string, reason: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    this.#expectState(change, 'denied', 'deny');
    const [mover] = this.#moversOf(origin, change);
    if (!mover || !mayMove(change, 'denied', [mover])) {
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `denying changes needs the ${this.options.policy.approvals.role} role`,
      );
    }
    await this.#transition(change, 'denied', { mover, by: origin.actor.id, detail: reason, ref: origin.ref });
    return change;
  }

  cancel(origin: Origin, id: string): Promise<ChangeRequest> {
    return this.#exclusive(id, () => this.#cancel(origin, id));
  }

  async #cancel(origin: Origin, id: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    this.#expectState(change, 'cancelled', 'cancel');
    const [mover] = this.#moversOf(origin, change);
    if (!mover || !mayMove(change, 'cancelled', [mover])) {
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `only ${change.requestedBy} or an approver may cancel ${change.id}`,
      );
    }
    await this.#transition(change, 'cancelled', {
      mover,
      by: origin.actor.id,
      detail: 'cancelled',
      ref: origin.ref,
    });
    return change;
  }

  /** A person finished a manual change; verification starts on success. */
  done(origin: Origin, id: string, outcome: 'success' | 'failed'): Promise<ChangeRequest> {
    return this.#exclusive(id, () => this.#done(origin, id, outcome));
  }

  async #done(origin: Origin, id: string, outcome: 'success' | 'failed'): Promise<ChangeRequest> {
    const change = await this.get(id);
    if (change.kind !== 'manual')
      throw badArgument(`${change.id} runs a runbook; Millwright finishes it by itself`);
    this.#expectState(change, outcome === 'failed' ? 'failed' : 'verifying', 'close');
    if (!mayMove(change, outcome === 'failed' ? 'failed' : 'verifying', this.#moversOf(origin, change)))
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `only ${change.requestedBy} may close ${change.id}`,
      );
    change.execution = {
      ...change.execution!,
      finishedAt: this.options.clock.now().toISOString(),
      status: outcome,
    };
    if (outcome === 'failed') {
      await this.#transition(change, 'failed', {
        mover: 'requester',
        by: origin.actor.id,
        detail: 'the person performing it reported failure',
        ref: origin.ref,
        release: true,
      });
      return change;
    }
    await this.#beginVerification(change, 'requester', origin.ref);
    return this.get(change.id);
  }

  async freeze(origin: Origin, service: string, until: Date, reason: string): Promise<AdHocFreeze> {
    if (until <= this.options.clock.now())
      throw badArgument('until= must be in the future', undefined, 'until');
    const freeze: AdHocFreeze = {
      id: service,
      service,
      until: until.toISOString(),
      reason,
      by: origin.actor.id,
      at: this.options.clock.now().toISOString(),
    };
    await this.options.store.put('freezes', freeze);
    await this.options.audit.append({
      actor: origin.actor.id,
      surface: origin.surface,
      channel: origin.channel,
      action: 'change.freeze',
      args: { service, until: freeze.until, reason },
      outcome: 'ok',
      ref: origin.ref,
    });
    return freeze;
  }

  async unfreeze(origin: Origin, service: string): Promise<boolean> {
    const removed = await this.options.store.delete('freezes', service);
    await this.options.audit.append({
      actor: origin.actor.id,
      surface: origin.surface,
      channel: origin.channel,
      action: 'change.unfreeze',
      args: { service },
      outcome: removed ? 'ok' : 'none',
      ref: origin.ref,
    });
    return removed;
  }

  // --- the worker ----------------------------------------------------------------------------

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
    for (const change of await this.list({ state: 'executing' })) {
      change.execution = {
        ...change.execution!,
        finishedAt: this.options.clock.now().toISOString(),
        status: 'interrupted',
      };
      await this.#transition(change, 'failed', {
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
    for (const listed of await this.list()) {
      try {
        // Re-read under the change's lock: an approval may have landed since the list was taken.
        await this.#exclusive(listed.id, () => this.#due(listed.id, now));
      } catch (error) {
        this.options.logger.error({ err: error, change: listed.id }, 'change worker step failed');
      }
    }
  }

  async #due(id: string, now: Date): Promise<void> {
    const change = await this.get(id);
    if (change.state === 'pending-approval' && new Date(change.expiresAt) <= now) {
      await this.#transition(change, 'expired', {
        mover: 'system',
        detail: 'no decision before the request expired',
      });
    } else if (change.state === 'approved') {
      await this.#startWhenDue(change, undefined);
    } else if (change.state === 'verifying' && new Date(change.verification!.nextSampleAt) <= now) {
      await this.#sample(change);
    }
  }

  // --- execution -----------------------------------------------------------------------------

  async #startWhenDue(change: ChangeRequest, ref: string | undefined): Promise<void> {
    const { store, policy, clock } = this.options;
    if (change.notBefore && new Date(change.notBefore) > clock.now()) {
      this.#note(change, 'scheduled', SYSTEM, `runs at ${change.notBefore}`);
      await this.#save(change);
      return;
    }
    const lockTtl = parseDuration(policy.lockTtl) + parseDuration(policy.verify.window);
    if (!(await store.tryLock(`change:${change.service}`, change.id, lockTtl))) {
      const holder = await store.get<{ id: string; owner: string }>('locks', `change:${change.service}`);
      const waiting = `waiting for the change lock on ${change.service}${holder ? ` (held by ${holder.owner})` : ''}`;
      if (change.timeline.at(-1)?.detail !== waiting) {
        this.#note(change, 'queued', SYSTEM, waiting);
        await this.#save(change);
      }
      return;
    }
    // The budget may have drained while the change waited: decide again before touching anything.
    const evaluation = await this.#evaluate(change, 'execution');
    const stillFine =
      evaluation.decision === 'approved' ||
      (change.humanApproved && evaluation.decision === 'needs-approval' && !newFailures(change, evaluation));
    if (!stillFine) {
      await this.#transition(change, 'denied', {
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
      await this.#transition(change, 'in-progress', {
        mover: 'system',
        detail: `${change.requestedBy} may go ahead; close it with change done ${change.id}`,
        ref,
      });
      change.verification = {
        startedAt: '',
        until: '',
        nextSampleAt: '',
        samples: [],
        ...(baseline !== undefined ? { baselineBurnRate: baseline } : {}),
      };
      await this.#save(change);
      return;
    }
    await this.#transition(change, 'executing', {
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
      await this.#transition(change, state, {
        mover: 'system',
        detail: `${change.runbook} ${outcome.status}${failed ? ` at ${failed.label}: ${failed.summary}` : ''}`,
        ref,
        release: true,
      });
      return;
    }
    change.verification = {
      startedAt: '',
      until: '',
      nextSampleAt: '',
      samples: [],
      ...(baseline !== undefined ? { baselineBurnRate: baseline } : {}),
    };
    await this.#beginVerification(change, 'system', ref);
  }

  async #beginVerification(change: ChangeRequest, mover: Mover, ref: string | undefined): Promise<void> {
    const now = this.options.clock.now();
    const { window, interval } = this.options.policy.verify;
    change.verification = {
      samples: [],
      ...change.verification,
      startedAt: now.toISOString(),
      until: new Date(now.getTime() + parseDuration(window)).toISOString(),
      nextSampleAt: new Date(now.getTime() + parseDuration(interval)).toISOString(),
    };
    await this.#transition(change, 'verifying', {
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
        await this.#transition(change, 'failed', {
          mover: 'system',
          detail: 'verification could not read any burn rate; a person must check the service',
          release: true,
        });
        await this.options.events?.emit('change.verification-failed', { change, reason: 'unmeasured' });
        return;
      }
      await this.#transition(change, 'succeeded', {
        mover: 'system',
        detail: `no regression in ${policy.verify.window} after the change`,
        release: true,
      });
      return;
    }
    await this.#save(change);
  }

  async #failVerification(change: ChangeRequest, why: string): Promise<void> {
    const { runbooks, policy, clock } = this.options;
    await this.#transition(change, 'failed', { mover: 'system', detail: `verification failed: ${why}` });
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
        this.#note(
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
        await this.#transition(change, rolledBack ? 'rolled-back' : 'failed', {
          mover: 'system',
          detail: rolledBack ? 'rollback steps ran' : `rollback ${outcome.status}`,
        });
      }
    }
    await this.#release(change);
    await this.options.events?.emit('change.verification-failed', {
      change,
      reason: 'regressed',
      why,
      rolledBack,
    });
  }

  /** Runs `work` alone for one change, so an approval and the worker never overwrite each other. */
  async #exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const key = id.toUpperCase();
    const before = this.#busy.get(key) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#busy.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#busy.get(key) === settled) this.#busy.delete(key);
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  async #evaluate(change: ChangeRequest, purpose: GateEvaluation['purpose']): Promise<GateEvaluation> {
    const evaluation = await evaluateGate(
      change,
      this.options.policy.rules,
      { ...this.options.gate, store: this.options.store },
      this.options.clock.now(),
      purpose,
    );
    change.evaluations.push(evaluation);
    this.#note(
      change,
      `evaluated (${purpose})`,
      SYSTEM,
      `${evaluation.decision}: ${evaluation.rules.map(explainRule).join('; ')}`,
    );
    return evaluation;
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

  /** Refuses a person's command on a change in a state from which people cannot move it to `to`. */
  #expectState(change: ChangeRequest, to: ChangeState, verb: string): void {
    const states = sourcesOf(to, PEOPLE);
    if (!states.includes(change.state)) {
      throw badArgument(
        `${change.id} is ${change.state}; only a change that is ${states.join(' or ')} can be told to ${verb}`,
      );
    }
  }

  #note(change: ChangeRequest, event: string, by: string, detail?: string): void {
    change.timeline.push({
      at: this.options.clock.now().toISOString(),
      event,
      by,
      ...(detail ? { detail } : {}),
    });
  }

  /** The roles of the person behind `origin`, as access control sees them. */
  #rolesOf(origin: Origin): readonly string[] {
    return this.options.access?.rolesFor(origin.actor) ?? origin.actor.roles;
  }

  #moversOf(origin: Origin, change: ChangeRequest): Mover[] {
    return moversOf(origin.actor.id, this.#rolesOf(origin), change, this.options.policy.approvals.role);
  }

  /**
   * One audited transition, allowed by the table: the record, then the state, both on disk (and the
   * lock freed when asked) before anyone hears of it.
   */
  async #transition(change: ChangeRequest, state: ChangeState, move: Move): Promise<void> {
    assertMove(change, state, move.mover);
    const { detail, ref } = move;
    const by = move.by ?? SYSTEM;
    const from = change.state;
    change.state = state;
    this.#note(change, state, by, detail);
    await this.options.audit.append({
      actor: by,
      surface: 'scheduler',
      channel: change.channel,
      action: 'change.transition',
      args: { change: change.id, service: change.service, from, to: state, detail },
      outcome: state,
      ...(ref ? { ref } : {}),
    });
    await this.#save(change);
    if (move.release) await this.#release(change);
    await this.options.events?.emit('change.transitioned', {
      change,
      from,
      to: state,
      mover: move.mover,
      by,
      detail,
      ...(ref ? { ref } : {}),
    });
  }

  async #save(
    change: ChangeRequest,
    origin?: Origin,
    action?: string,
    args?: Record<string, unknown>,
  ): Promise<void> {
    if (origin && action) {
      await this.options.audit.append({
        actor: origin.actor.id,
        surface: origin.surface,
        channel: origin.channel,
        action,
        args: { change: change.id, ...args },
        outcome: 'ok',
        ref: origin.ref,
      });
    }
    await this.options.store.put(COLLECTION, change);
  }

  async #release(change: ChangeRequest): Promise<void> {
    await this.options.store.unlock(`change:${change.service}`, change.id);
  }

  async #nextId(): Promise<string> {
    const counter = await this.options.store.update<{ id: string; value: number }>(
      'counters',
      'changes',
      (current) => ({ id: 'changes', value: (current?.value ?? 0) + 1 }),
    );
    return `CR-${counter!.value}`;
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

export { FINAL_STATES };
