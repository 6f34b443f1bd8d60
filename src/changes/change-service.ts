// Change requests as people make them: request, the gate's decision, approvals, denials, cancels and
// freezes. The ledger keeps the records and transitions; the worker runs, verifies and resumes them.

import type { AuditLog } from '../audit/types.js';
import { permissionDenied, withUnreadGroups } from '../core/access.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { AccessPolicy, Origin } from '../core/context.js';
import { parseDuration } from '../core/duration.js';
import { badArgument, ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { type RunbookService, workloadsOf } from '../runbooks/index.js';
import type { Store } from '../store/store.js';
import { BudgetPolicy } from './budget-policy.js';
import { ChangeLedger, SYSTEM } from './ledger.js';
import { type AdHocFreeze, evaluateGate, type GateInputs } from './policy-gate.js';
import type { PolicyConfig } from './policy-schema.js';
import { type Mover, mayMove, moversOf, PEOPLE, sourcesOf } from './transitions.js';
import {
  awaitsPickup,
  type ChangeRequest,
  type ChangeState,
  type Delivery,
  type DeliveryKind,
  FINAL_STATES,
  type GateEvaluation,
} from './types.js';
import { ChangeWorker } from './worker.js';
import { knownService, resolveServices, type ServiceCatalog } from './workloads.js';

export interface ChangeServiceOptions {
  store: Store;
  audit: AuditLog;
  runbooks: RunbookService;
  policy: PolicyConfig;
  /** The service catalog: which services own which workloads, their rollback runbooks. */
  catalog: ServiceCatalog;
  gate: Omit<GateInputs, 'store'>;
  clock: Clock;
  logger: Logger;
  /** Where transitions are told (src/notices renders and posts them); without it nobody hears. */
  events?: EventBus;
  /** Who holds which role; without it the roles resolved on the actor count. */
  access?: Pick<AccessPolicy, 'rolesFor'>;
}

/** A change a pipeline delivers, as `ChangeService.requestDelivery` takes it. */
export interface NewDelivery {
  service: string;
  kind: DeliveryKind;
  /** The pipeline asking (its name in `gates.pipelines`). */
  pipeline: string;
  version?: string | undefined;
  environment?: string | undefined;
  risk: 'low' | 'medium' | 'high';
  reason?: string | undefined;
  /** A fix for an outage: the error-budget policy's freeze lets it through. */
  emergency?: boolean | undefined;
  /** The requester's identities in chat, when the pipeline knows them (see ChangeRequest.requesterIds). */
  requesterIds?: readonly string[] | undefined;
  /** Why the requester has no known chat identity (see ChangeRequest.requesterUnverified). */
  requesterUnverified?: string | undefined;
  /** The pipeline learns its answer by asking again (see `Delivery.polls`). */
  polls?: boolean | undefined;
}

/** A progressive release as `ChangeService.requestRelease` files it. */
export interface NewRelease {
  service: string;
  /** The release that will carry the change out (`REL-3`). */
  releaseId: string;
  image: string;
  /** The canary's share per step, in percent (`5,25,50,100`). */
  steps: readonly number[];
  /** How long each step runs before it is judged. */
  intervalMs: number;
  reason?: string | undefined;
}

export interface NewChange {
  runbook?: string;
  params?: Record<string, string>;
  service?: string;
  summary?: string;
  reason?: string;
  risk?: 'low' | 'medium' | 'high';
  at?: Date;
  /** A fix for an outage: the error-budget policy's freeze lets it through (a reason is required). */
  emergency?: boolean;
}

export class ChangeService {
  readonly #ledger: ChangeLedger;
  readonly #worker: ChangeWorker;
  /** The error-budget policy, when `policy.errorBudget` is configured. */
  readonly budgetPolicy: BudgetPolicy | undefined;

  constructor(private readonly options: ChangeServiceOptions) {
    this.#ledger = new ChangeLedger(options);
    const { errorBudget } = options.policy;
    this.budgetPolicy = errorBudget
      ? new BudgetPolicy({
          config: errorBudget,
          catalog: options.catalog,
          budgets: options.gate.budgets,
          store: options.store,
          audit: options.audit,
          clock: options.clock,
          logger: options.logger.child({ part: 'budget-policy' }),
          events: options.events,
        })
      : undefined;
    const policy = this.budgetPolicy;
    this.#worker = new ChangeWorker(this.#ledger, {
      ...options,
      ...(policy ? { beforeTick: (now: Date) => policy.evaluate(now) } : {}),
    });
  }

  // --- reading -------------------------------------------------------------------------------

  get(id: string): Promise<ChangeRequest> {
    return this.#ledger.get(id);
  }

  list(filter: { service?: string; state?: string; requestedBy?: string } = {}): Promise<ChangeRequest[]> {
    return this.#ledger.list(filter);
  }

  // --- requesting ----------------------------------------------------------------------------

  /** The fields every new change starts with: who asked, from where, when it expires. */
  #base(
    origin: Origin,
    input: { reason?: string | undefined; at?: Date | undefined; emergency?: boolean | undefined },
  ) {
    if (input.emergency && !input.reason)
      throw badArgument(
        'an emergency change needs reason="..." (what outage it fixes)',
        'say what outage it fixes: reason="roll back the bad release" in chat or the CLI, "reason" in a gate request',
        'reason',
      );
    const now = this.options.clock.now();
    return {
      requestedBy: origin.actor.id,
      channel: origin.channel,
      surface: origin.surface,
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + parseDuration(this.options.policy.approvals.ttl)).toISOString(),
      state: 'pending-approval' as ChangeState,
      approvals: [],
      humanApproved: false,
      evaluations: [],
      timeline: [],
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.at ? { notBefore: input.at.toISOString() } : {}),
      ...(input.emergency ? { emergency: true } : {}),
    };
  }

  /** Records a new change, evaluates the gate, and acts on its decision. */
  async #file(change: ChangeRequest, origin: Origin): Promise<ChangeRequest> {
    this.#ledger.note(change, 'requested', origin.actor.id, change.summary);
    const evaluation = await this.#ledger.evaluate(change, 'request');
    // Saved and decided under one hold: an approval that arrives as soon as the change can be seen
    // waits for the gate's decision instead of being overwritten by it.
    await this.#ledger.exclusive(change.id, async () => {
      await this.#ledger.save(change, origin, 'change.request', {
        summary: change.summary,
        decision: evaluation.decision,
      });
      await this.#applyDecision(change, evaluation, origin);
    });
    return this.get(change.id);
  }

  /**
   * Files a change a pipeline delivers (a deployment, a config push) and evaluates the same gate as
   * every other change. Millwright runs nothing: once the gate or a person lets it through, the
   * pipeline goes ahead and verification watches the burn rates afterwards.
   *
   * @example
   * await changes.requestDelivery(origin, { service: 'checkout', kind: 'deployment', pipeline: 'ci', version: '1.4.2', risk: 'low' });
   */
  async requestDelivery(origin: Origin, input: NewDelivery): Promise<ChangeRequest> {
    const service = knownService(input.service, this.options.catalog);
    const delivery: Delivery = {
      pipeline: input.pipeline,
      ...(input.version ? { version: input.version } : {}),
      ...(input.environment ? { environment: input.environment } : {}),
      ...(input.polls ? { polls: true } : {}),
    };
    const change: ChangeRequest = {
      ...this.#base(origin, input),
      ...(input.requesterIds?.length ? { requesterIds: [...input.requesterIds] } : {}),
      ...(input.requesterUnverified ? { requesterUnverified: input.requesterUnverified } : {}),
      id: await this.#ledger.nextId(),
      kind: input.kind,
      delivery,
      service,
      services: [service],
      summary: [
        `${input.kind} of ${service}`,
        input.version ? ` ${input.version}` : '',
        input.environment ? ` to ${input.environment}` : '',
        ` by ${input.pipeline}`,
      ].join(''),
      risk: input.risk,
      // A pipeline's change is standard work; its risk says when a person must look (high).
      changeClass: 'standard',
    };
    return this.#file(change, origin);
  }

  /**
   * Files a progressive release as a change: the same gate as every change decides whether it may
   * start. Once approved (by the gate or a person) it goes to executing and stays there, holding the
   * service's change lock, until the release ends (`finishRelease`).
   *
   * @example
   * await changes.requestRelease(origin, { service: 'checkout', releaseId: 'REL-1', image: 'reg/checkout:2.4.0', steps: [5, 25, 50, 100] });
   */
  async requestRelease(origin: Origin, input: NewRelease): Promise<ChangeRequest> {
    const service = knownService(input.service, this.options.catalog);
    const change: ChangeRequest = {
      ...this.#base(origin, input),
      id: await this.#ledger.nextId(),
      kind: 'release',
      release: {
        id: input.releaseId,
        image: input.image,
        steps: [...input.steps],
        intervalMs: input.intervalMs,
      },
      service,
      services: [service],
      summary: `release of ${service} ${input.image} in steps ${input.steps.join(',')}%`,
      // Judged step by step against the stable and rolled back by itself: standard work.
      risk: 'low',
      changeClass: 'standard',
    };
    return this.#file(change, origin);
  }

  /**
   * The gate as it stands now for a change under way (a release's next step): evaluated for
   * execution, not recorded on the change.
   */
  recheck(change: ChangeRequest): Promise<GateEvaluation> {
    const { policy, gate, store, clock } = this.options;
    return evaluateGate(change, policy.rules, { ...gate, store }, clock.now(), 'execution');
  }

  /**
   * Ends a release's change: promoted goes on to verification like any change that ran; aborted is
   * failed, and the service's change lock is free again.
   */
  finishRelease(id: string, outcome: 'promoted' | 'aborted', detail: string): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, async () => {
      const change = await this.get(id);
      if (change.kind !== 'release' || change.state !== 'executing') return change;
      change.execution = {
        ...change.execution!,
        finishedAt: this.options.clock.now().toISOString(),
        status: outcome,
        detail,
      };
      if (outcome === 'aborted') {
        await this.#ledger.transition(change, 'failed', { mover: 'system', detail, release: true });
        return change;
      }
      await this.#worker.beginVerification(change, 'system', undefined);
      return this.get(id);
    });
  }

  /** Files a change, evaluates the gate, and executes it at once when the gate approves and no time is set. */
  async request(origin: Origin, input: NewChange): Promise<ChangeRequest> {
    const { runbooks, policy } = this.options;
    let change: ChangeRequest;
    const base = this.#base(origin, input);
    if (input.runbook) {
      const runbook = runbooks.get(input.runbook);
      const decision = runbooks.authorize(origin.actor, runbook, origin.channel);
      if (!decision.allowed) {
        throw runbooks.refusal(
          origin.actor,
          runbook,
          origin.channel,
          decision,
          'a change runs the runbook as you, so you need a role the runbook allows',
        );
      }
      const raw = { ...(input.params ?? {}) };
      const declaresService = runbook.spec.spec.params.some((p) => p.name === 'service');
      if (declaresService && input.service) raw.service = input.service;
      const params = runbooks.params(runbook, raw);
      const { services, unowned } = resolveServices({
        workloads: workloadsOf(runbook.spec, params),
        declared: runbook.spec.metadata.services,
        typed: input.service,
        catalog: this.options.catalog,
        unownedWorkloads: policy.unownedWorkloads,
      });
      change = {
        ...base,
        id: await this.#ledger.nextId(),
        kind: 'runbook',
        service: services[0]!,
        services,
        ...(unowned.length ? { unowned } : {}),
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
        id: await this.#ledger.nextId(),
        kind: 'manual',
        service: knownService(input.service, this.options.catalog),
        services: [input.service],
        summary: input.summary,
        risk,
        changeClass: risk === 'low' ? 'standard' : 'normal',
      };
    }
    return this.#file(change, origin);
  }

  async #applyDecision(change: ChangeRequest, evaluation: GateEvaluation, origin: Origin): Promise<void> {
    if (evaluation.decision === 'denied') {
      await this.#ledger.transition(change, 'denied', {
        mover: 'system',
        detail: 'denied by the policy gate',
        ref: origin.ref,
      });
      return;
    }
    if (evaluation.decision === 'approved') {
      await this.#ledger.transition(change, 'approved', {
        mover: 'system',
        detail: 'approved by the policy gate: every rule passed, no human needed',
        ref: origin.ref,
      });
      await this.#worker.startWhenDue(change, origin.ref);
      return;
    }
    if (evaluation.decision === 'unknown' && this.options.policy.whenUnknown === 'deny') {
      await this.#ledger.transition(change, 'denied', {
        mover: 'system',
        detail: 'the gate could not decide and policy.whenUnknown is deny',
        ref: origin.ref,
      });
      return;
    }
    const why =
      evaluation.decision === 'unknown'
        ? 'the gate could not decide; a person must approve'
        : 'needs approval';
    this.#ledger.note(change, 'awaiting approval', SYSTEM, why);
    await this.#ledger.save(change, undefined, 'change.evaluate', { decision: evaluation.decision });
  }

  // --- people deciding -----------------------------------------------------------------------

  approve(origin: Origin, id: string, reason?: string): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, () => this.#approve(origin, id, reason));
  }

  async #approve(origin: Origin, id: string, reason?: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    const { role, required } = this.options.policy.approvals;
    this.#expectState(change, 'approved', 'approve');
    if (change.requesterUnverified) {
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `${change.id} cannot be approved in chat: ${change.requesterUnverified}, so no approval can show it comes from someone else`,
        {
          hint: `deny it, or map the requester and run the deployment again; change deny ${change.id} reason="..."`,
        },
      );
    }
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
    // Before the role check: a second approval is refused for what it is, whatever the groups say.
    if (change.approvals.some((a) => a.by === origin.actor.id))
      throw badArgument(`${origin.actor.id} already approved ${change.id}`);
    if (!mayMove(change, 'approved', movers)) {
      const roles = this.#rolesOf(origin);
      throw this.#refusal(
        origin,
        change,
        'approved',
        `approving changes needs the ${role} role; ${origin.actor.id} has ${roles.join(', ') || 'none'}`,
        `ask someone with the ${role} role`,
      );
    }
    if (new Date(change.expiresAt) <= this.options.clock.now()) {
      await this.#ledger.transition(change, 'expired', {
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
    this.#ledger.note(
      change,
      'approval',
      origin.actor.id,
      reason ?? `${change.approvals.length} of ${required}`,
    );
    if (change.approvals.length < required) {
      await this.#ledger.save(change, origin, 'change.approve', {
        approvals: change.approvals.length,
        required,
      });
      return change;
    }
    change.humanApproved = true;
    await this.#ledger.transition(change, 'approved', {
      mover: 'approver',
      by: origin.actor.id,
      detail: `approved by ${change.approvals.map((a) => a.by).join(', ')}`,
      ref: origin.ref,
    });
    if (awaitsPickup(change)) {
      // Nothing is delivered until the pipeline hears pass: its next question picks the change up.
      this.#ledger.note(
        change,
        'awaiting pickup',
        SYSTEM,
        `${change.delivery!.pipeline} delivers it when it next asks (GET /api/v1/gates/${change.id}); expires at ${change.expiresAt}`,
      );
      await this.#ledger.save(change);
    } else await this.#worker.startWhenDue(change, origin.ref);
    return this.get(change.id);
  }

  /**
   * The pipeline asked again about a delivery it was let through: it hears pass now, so the change is
   * delivered (verification starts, the service's change lock is taken), or it keeps waiting for the
   * lock. A change not awaiting pickup is returned as it is.
   */
  pickUp(id: string, ref: string): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, async () => {
      const change = await this.get(id);
      if (!awaitsPickup(change)) return change;
      if (new Date(change.expiresAt) <= this.options.clock.now()) {
        await this.#worker.expirePickup(change);
        return change;
      }
      await this.#worker.startWhenDue(change, ref);
      return this.get(id);
    });
  }

  /**
   * The pipeline's change for the same delivery (service, kind, version, environment, emergency or
   * not) still waiting for a person or the lock, if any: a re-run of the same step answers with it
   * instead of filing (and asking the channel) again.
   */
  async pendingDelivery(input: NewDelivery): Promise<ChangeRequest | undefined> {
    const open = await this.#ledger.list({ service: input.service });
    return open.find(
      (change) =>
        (change.state === 'pending-approval' || change.state === 'approved') &&
        !change.execution &&
        change.kind === input.kind &&
        Boolean(change.emergency) === Boolean(input.emergency) &&
        change.delivery?.pipeline === input.pipeline &&
        change.delivery.version === (input.version || undefined) &&
        change.delivery.environment === (input.environment || undefined),
    );
  }

  deny(origin: Origin, id: string, reason: string): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, () => this.#deny(origin, id, reason));
  }

  async #deny(origin: Origin, id: string, reason: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    this.#expectState(change, 'denied', 'deny');
    const [mover] = this.#moversOf(origin, change);
    if (!mover || !mayMove(change, 'denied', [mover])) {
      const { role } = this.options.policy.approvals;
      throw this.#refusal(
        origin,
        change,
        'denied',
        `denying changes needs the ${role} role`,
        `ask someone with the ${role} role`,
      );
    }
    await this.#ledger.transition(change, 'denied', {
      mover,
      by: origin.actor.id,
      detail: reason,
      ref: origin.ref,
    });
    return change;
  }

  cancel(origin: Origin, id: string): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, () => this.#cancel(origin, id));
  }

  async #cancel(origin: Origin, id: string): Promise<ChangeRequest> {
    const change = await this.get(id);
    this.#expectState(change, 'cancelled', 'cancel');
    const [mover] = this.#moversOf(origin, change);
    if (!mover || !mayMove(change, 'cancelled', [mover])) {
      throw this.#refusal(
        origin,
        change,
        'cancelled',
        `only ${change.requestedBy} or an approver may cancel ${change.id}`,
        `ask ${change.requestedBy} or someone with the ${this.options.policy.approvals.role} role`,
      );
    }
    await this.#ledger.transition(change, 'cancelled', {
      mover,
      by: origin.actor.id,
      detail: 'cancelled',
      ref: origin.ref,
    });
    return change;
  }

  /** A person finished a manual change; verification starts on success. */
  done(origin: Origin, id: string, outcome: 'success' | 'failed'): Promise<ChangeRequest> {
    return this.#ledger.exclusive(id, () => this.#done(origin, id, outcome));
  }

  async #done(origin: Origin, id: string, outcome: 'success' | 'failed'): Promise<ChangeRequest> {
    const change = await this.get(id);
    if (change.kind !== 'manual')
      throw badArgument(
        change.delivery
          ? `${change.id} is delivered by ${change.delivery.pipeline}; verification closes it`
          : `${change.id} runs a runbook; Millwright finishes it by itself`,
      );
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
      await this.#ledger.transition(change, 'failed', {
        mover: 'requester',
        by: origin.actor.id,
        detail: 'the person performing it reported failure',
        ref: origin.ref,
        release: true,
      });
      return change;
    }
    await this.#worker.beginVerification(change, 'requester', origin.ref);
    return this.get(change.id);
  }

  async freeze(origin: Origin, service: string, until: Date, reason: string): Promise<AdHocFreeze> {
    knownService(service, this.options.catalog);
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
      ...viaOf(origin.actor),
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
      ...viaOf(origin.actor),
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

  /** Resumes in-flight work and ticks every `intervalMs` (policy.workerInterval) until `stop()`. */
  start(intervalMs?: number): Promise<void> {
    return this.#worker.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#worker.stop();
  }

  /** After a restart: carries on changes caught mid-execution whose hold lapsed; verifications continue. */
  recover(): Promise<void> {
    return this.#worker.recover();
  }

  /** One pass over due work: expiries, scheduled and queued executions, verification samples. */
  tick(): Promise<void> {
    return this.#worker.tick();
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** Refuses a person's command on a change in a state from which people cannot move it to `to`. */
  #expectState(change: ChangeRequest, to: ChangeState, verb: string): void {
    const states = sourcesOf(to, PEOPLE);
    if (!states.includes(change.state)) {
      throw badArgument(
        `${change.id} is ${change.state}; only a change that is ${states.join(' or ')} can be told to ${verb}`,
      );
    }
  }

  /** The roles of the person behind `origin`, as access control sees them. */
  #rolesOf(origin: Origin): readonly string[] {
    return this.options.access?.rolesFor(origin.actor) ?? origin.actor.roles;
  }

  /**
   * A person's move refused for want of a role. When groups the surface could not read (Slack user
   * groups Slack would not list) hold a role that would have allowed the move, the line says so and why.
   */
  #refusal(
    origin: Origin,
    change: ChangeRequest,
    to: ChangeState,
    reason: string,
    hint: string,
  ): MillwrightError {
    const hoped = withUnreadGroups(origin.actor);
    const unreadMattered =
      hoped !== undefined && mayMove(change, to, this.#moversOf({ ...origin, actor: hoped }, change));
    if (unreadMattered) return permissionDenied(reason, hint, origin.actor.unreadGroups);
    return new MillwrightError(ErrorCode.PermissionDenied, reason, { hint });
  }

  #moversOf(origin: Origin, change: ChangeRequest): Mover[] {
    return moversOf(origin.actor.id, this.#rolesOf(origin), change, this.options.policy.approvals.role);
  }
}

export { FINAL_STATES };
