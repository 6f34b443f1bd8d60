// The error-budget policy's evaluator: on each worker tick it reads every service's budgets, moves
// services between normal, frozen and overridden by the table, audits each move and tells it once.
import type { AuditLog } from '../audit/types.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError, badArgument } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { formatAbsolute } from '../core/time.js';
import type { Store } from '../store/store.js';
import {
  BUDGET_POLICY,
  BUDGET_POLICY_MOVES,
  type BudgetJudgment,
  type BudgetPolicyRecord,
  type BudgetPolicyTransition,
  type BudgetPolicyTrigger,
  judgeBudget,
  policyFor,
} from './budget-policy-state.js';
import type { ErrorBudgetPolicyConfig } from './policy-schema.js';
import type { BudgetSource } from './types.js';
import { knownService, type ServiceCatalog } from './workloads.js';

const SYSTEM = 'millwright';
const KEEP_TRANSITIONS = 20;

export interface BudgetPolicyOptions {
  config: ErrorBudgetPolicyConfig;
  catalog: ServiceCatalog;
  /** The SLO service; without it (no Prometheus) nothing is ever frozen by its budget. */
  budgets?: BudgetSource | undefined;
  store: Store;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  events?: EventBus | undefined;
}

/** A reading that could not be judged: Prometheus did not answer, or an SLO has no data at all. */
function unreadOf(statuses: Awaited<ReturnType<BudgetSource['statusFor']>>) {
  const unread = statuses.find(
    (s) => s.unreadable || (s.remainingPercent === undefined && s.burnState === 'unknown'),
  );
  if (!unread) return undefined;
  return {
    code: unread.unreadable?.code ?? 'millwright_no_data',
    message: `${unread.slo}: ${unread.unreadable?.message ?? unread.detail ?? 'no data'}`,
  };
}

/**
 * The error-budget policy of every service in the catalog, evaluated on the change worker's tick.
 *
 * @example
 * const policy = new BudgetPolicy({ config: policy.errorBudget, catalog, budgets: slo, store, audit, clock, logger, events });
 * await policy.evaluate();                       // the worker's tick does this
 * (await policy.stateOf('payments'))?.state      // 'frozen'
 */
export class BudgetPolicy {
  /** When the budgets were last read, so a tick more frequent than `interval` reads nothing. */
  #readAt: number | undefined;

  constructor(private readonly options: BudgetPolicyOptions) {}

  /** The service's policy record; undefined before its first reading (it counts as normal). */
  stateOf(service: string): Promise<BudgetPolicyRecord | undefined> {
    return this.options.store.get<BudgetPolicyRecord>(BUDGET_POLICY, service);
  }

  /** Every service's policy record, by name. */
  async states(): Promise<BudgetPolicyRecord[]> {
    const records = await this.options.store.list<BudgetPolicyRecord>(BUDGET_POLICY);
    return records.sort((a, b) => a.service.localeCompare(b.service));
  }

  /**
   * One pass: tells any move a restart interrupted before it was told, then reads each service's
   * budgets and moves it when a trigger says so. A service whose budget cannot be read keeps its
   * state (neither frozen nor lifted on a guess), with the failure noted on its record.
   */
  async evaluate(now: Date = this.options.clock.now()): Promise<void> {
    for (const record of await this.states())
      if (record.transitions.some((t) => !t.announced)) await this.#announce(record.service);
    const { budgets } = this.options;
    if (!budgets) return;
    const since = this.#readAt === undefined ? undefined : now.getTime() - this.#readAt;
    if (since !== undefined && since >= 0 && since < parseDuration(this.options.config.interval)) return;
    this.#readAt = now.getTime();
    for (const service of Object.keys(this.options.catalog)) {
      const policy = policyFor(this.options.config, service);
      if (!policy.enabled) continue;
      try {
        await this.#evaluateService(service, budgets, now);
      } catch (error) {
        this.options.logger.error({ err: error, service }, 'error-budget policy step failed');
      }
    }
  }

  async #evaluateService(service: string, budgets: BudgetSource, now: Date): Promise<void> {
    const policy = policyFor(this.options.config, service);
    const known = await this.stateOf(service);
    let statuses: Awaited<ReturnType<BudgetSource['statusFor']>>;
    try {
      statuses = await budgets.statusFor(service, now);
    } catch (error) {
      const failure = asMillwrightError(error);
      if (known) await this.#keep(known, now, { code: failure.code, message: failure.message });
      return;
    }
    if (statuses.length === 0) return;
    const unread = unreadOf(statuses);
    const record: BudgetPolicyRecord = known ?? {
      id: service,
      service,
      state: 'normal',
      since: now.toISOString(),
      detail: 'first reading',
      transitions: [],
    };
    if (unread) {
      this.options.logger.warn({ service, ...unread }, 'error-budget policy kept its state: budget unread');
      await this.#keep(record, now, unread);
      return;
    }
    const judged = judgeBudget(statuses, policy, now, record.pagingSince);
    record.reading = judged.reading;
    record.limits = {
      budgetAtOrBelow: policy.budgetAtOrBelow,
      budgetAbove: policy.budgetAbove,
      ...(policy.pagingFor ? { pagingFor: policy.pagingFor } : {}),
    };
    delete record.unread;
    if (judged.pagingSince) record.pagingSince = judged.pagingSince;
    else delete record.pagingSince;
    const trigger = this.#triggerOf(record, judged, now);
    if (trigger && BUDGET_POLICY_MOVES[record.state][trigger]) {
      await this.#move(record, trigger, SYSTEM, this.#why(record, trigger, judged), now);
      await this.#announce(service);
      return;
    }
    await this.options.store.put(BUDGET_POLICY, record);
  }

  /** An override that ran out ends (back to frozen) unless this reading says the budget recovered. */
  #triggerOf(record: BudgetPolicyRecord, judged: BudgetJudgment, now: Date): BudgetPolicyTrigger | undefined {
    if (record.state === 'overridden' && judged.trigger !== 'recovered') {
      const until = record.override ? new Date(record.override.until) : now;
      return until <= now ? 'override-ended' : undefined;
    }
    return judged.trigger;
  }

  #why(record: BudgetPolicyRecord, trigger: BudgetPolicyTrigger, judged: BudgetJudgment): string {
    if (trigger !== 'override-ended') return judged.detail;
    const { override } = record;
    return `the override by ${override?.by ?? 'someone'} ended at ${override ? formatAbsolute(new Date(override.until)) : 'now'}; ${judged.detail}`;
  }

  /** The state stays as it was; the record says when and why the budget could not be read. */
  async #keep(record: BudgetPolicyRecord, now: Date, unread: { code: string; message: string }) {
    record.unread = { at: now.toISOString(), ...unread };
    await this.options.store.put(BUDGET_POLICY, record);
  }

  /**
   * Lifts a freeze by a person's decision, audited, until `until` (at most `maxOverride`, which is
   * also the default). Changes then pass the policy rule again; the evaluator re-freezes the service
   * when the override ends and the budget has not recovered.
   *
   * @example
   * await policy.override(origin, 'payments', 'fix for the outage must ship', new Date(Date.now() + 4 * 3600_000));
   */
  async override(origin: Origin, service: string, reason: string, until?: Date): Promise<BudgetPolicyRecord> {
    knownService(service, this.options.catalog);
    const now = this.options.clock.now();
    const record = await this.stateOf(service);
    if (record?.state !== 'frozen')
      throw badArgument(
        `${service} is not frozen by the error-budget policy${record ? ` (${record.state} since ${formatAbsolute(new Date(record.since))})` : ''}`,
        'budget shows which services the policy has frozen',
        'service',
      );
    const longest = parseDuration(this.options.config.maxOverride);
    const end = until ?? new Date(now.getTime() + longest);
    if (end <= now) throw badArgument('until= must be in the future', undefined, 'until');
    if (end.getTime() - now.getTime() > longest)
      throw badArgument(
        `an override lasts at most ${this.options.config.maxOverride} (policy.errorBudget.maxOverride)`,
        `until=${this.options.config.maxOverride} or less`,
        'until',
      );
    record.override = { by: origin.actor.id, reason, at: now.toISOString(), until: end.toISOString() };
    await this.#move(
      record,
      'override',
      origin.actor.id,
      `overridden by ${origin.actor.id} until ${formatAbsolute(end)}: ${reason}`,
      now,
      origin,
    );
    await this.#announce(service);
    return (await this.stateOf(service)) ?? record;
  }

  /** One move allowed by the table: audited, then saved (not yet told). */
  async #move(
    record: BudgetPolicyRecord,
    trigger: BudgetPolicyTrigger,
    by: string,
    detail: string,
    now: Date,
    origin?: Origin,
  ): Promise<void> {
    const from = record.state;
    const to = BUDGET_POLICY_MOVES[from][trigger];
    if (!to) throw new Error(`the error-budget policy has no move from ${from} on ${trigger}`);
    const transition: BudgetPolicyTransition = {
      at: now.toISOString(),
      from,
      to,
      trigger,
      by,
      detail,
      announced: false,
    };
    record.state = to;
    record.since = transition.at;
    record.detail = detail;
    if (to !== 'overridden') delete record.override;
    record.transitions = [...record.transitions, transition].slice(-KEEP_TRANSITIONS);
    await this.options.audit.append({
      actor: by,
      ...(origin ? viaOf(origin.actor) : {}),
      surface: origin?.surface ?? 'scheduler',
      channel: origin?.channel ?? this.options.catalog[record.service]?.channel ?? 'scheduler',
      action: 'budget-policy.transition',
      args: { service: record.service, from, to, trigger, detail },
      outcome: to,
      ...(origin ? { ref: origin.ref } : {}),
    });
    await this.options.store.put(BUDGET_POLICY, record);
  }

  /**
   * Tells every move of the service not told yet, exactly once: the moves are marked told in the
   * store first (one atomic update), then emitted, so neither a restart nor a second pass repeats them.
   */
  async #announce(service: string): Promise<void> {
    let claimed: BudgetPolicyTransition[] = [];
    const record = await this.options.store.update<BudgetPolicyRecord>(BUDGET_POLICY, service, (current) => {
      if (!current) return current;
      claimed = current.transitions.filter((t) => !t.announced);
      return { ...current, transitions: current.transitions.map((t) => ({ ...t, announced: true })) };
    });
    if (!record || claimed.length === 0) return;
    const entry = this.options.catalog[service];
    const { notify } = this.options.config;
    const owners = notify.includes('owners') ? (entry?.owners ?? []) : [];
    const channel = notify.includes('channel') && entry?.channel ? [entry.channel] : [];
    const targets = [...new Set([...channel, ...owners])];
    for (const transition of claimed)
      await this.options.events?.emit('budget-policy.transitioned', { record, transition, targets, owners });
  }
}
