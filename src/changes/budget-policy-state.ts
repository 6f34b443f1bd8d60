// The error-budget policy's states per service, the table of moves between them, and the judgment
// of one reading of a service's SLOs against the policy's triggers: pure, so it reads as a table.
import { parseDuration } from '../core/duration.js';
import type { StoredRecord } from '../store/store.js';
import type { ErrorBudgetPolicyConfig } from './policy-schema.js';
import type { SloStatus } from './types.js';

/** The store collection the policy keeps one record per service in. */
export const BUDGET_POLICY = 'budget_policy';

export type BudgetPolicyState = 'normal' | 'frozen' | 'overridden';

/** What moves a service between states: a reading, a person, or the end of an override. */
export type BudgetPolicyTrigger = 'exhausted' | 'recovered' | 'override' | 'override-ended';

/** The state machine, as a table: from each state, what each trigger leads to (absent: nothing moves). */
export const BUDGET_POLICY_MOVES: Readonly<
  Record<BudgetPolicyState, Partial<Record<BudgetPolicyTrigger, BudgetPolicyState>>>
> = {
  normal: { exhausted: 'frozen' },
  frozen: { recovered: 'normal', override: 'overridden' },
  overridden: { recovered: 'normal', 'override-ended': 'frozen' },
};

export interface BudgetPolicyTransition {
  at: string;
  from: BudgetPolicyState;
  to: BudgetPolicyState;
  trigger: BudgetPolicyTrigger;
  /** `millwright` for the evaluator, else the person who overrode. */
  by: string;
  /** One line with the numbers: `payments-availability: -12.4% of the budget left ≤ 0%`. */
  detail: string;
  /** Set once the transition was handed to the notices (a restart never tells it again). */
  announced: boolean;
}

/** The numbers of the last reading the evaluator took of a service. */
export interface BudgetPolicyReading {
  at: string;
  /** The SLO with the least budget left, and how much (percent of its window's budget). */
  slo?: string;
  remainingPercent?: number;
  paging: boolean;
}

export interface BudgetPolicyRecord extends StoredRecord {
  id: string;
  service: string;
  state: BudgetPolicyState;
  /** When the service entered its state. */
  since: string;
  /** Why it is in that state, with the numbers. */
  detail: string;
  reading?: BudgetPolicyReading;
  /** The thresholds the last reading was judged by (the gate names them). */
  limits?: { budgetAtOrBelow: number; budgetAbove: number; pagingFor?: string };
  /** Since when every reading saw the burn state `page` (cleared by a reading without it). */
  pagingSince?: string;
  override?: { by: string; reason: string; at: string; until: string };
  /** The last reading that failed (Prometheus down): the state was kept, not judged. */
  unread?: { at: string; code: string; message: string };
  /** The newest transitions, oldest first (at most 20 are kept). */
  transitions: BudgetPolicyTransition[];
}

/** The thresholds in force for one service: the default, with the service's own overrides. */
export interface ServiceBudgetPolicy {
  enabled: boolean;
  budgetAtOrBelow: number;
  pagingFor?: string;
  budgetAbove: number;
}

export function policyFor(config: ErrorBudgetPolicyConfig, service: string): ServiceBudgetPolicy {
  const own = config.services[service];
  const pagingFor = own?.freeze?.pagingFor ?? config.freeze.pagingFor;
  return {
    enabled: own?.enabled ?? true,
    budgetAtOrBelow: own?.freeze?.budgetAtOrBelow ?? config.freeze.budgetAtOrBelow,
    ...(pagingFor ? { pagingFor } : {}),
    budgetAbove: own?.lift?.budgetAbove ?? config.lift.budgetAbove,
  };
}

const pct = (value: number) => `${value.toFixed(1)}%`;

/** What one complete reading says: exhausted (with why), recovered (with why), or neither. */
export interface BudgetJudgment {
  trigger?: 'exhausted' | 'recovered';
  detail: string;
  reading: BudgetPolicyReading;
  pagingSince?: string;
}

/**
 * Judges a complete reading of a service's SLOs: exhausted when an SLO's budget left is at or below
 * the freeze threshold, or the burn state has been `page` for `pagingFor`; recovered when every SLO
 * has more than the lift threshold left and none pages. Between the two, nothing moves (hysteresis).
 *
 * @example
 * judgeBudget(statuses, policy, now, undefined).trigger // 'exhausted'
 */
export function judgeBudget(
  statuses: readonly SloStatus[],
  policy: ServiceBudgetPolicy,
  now: Date,
  pagingSince: string | undefined,
): BudgetJudgment {
  const known = statuses.filter((s) => s.remainingPercent !== undefined);
  const worst = [...known].sort((a, b) => a.remainingPercent! - b.remainingPercent!)[0];
  const paging = statuses.some((s) => s.burnState === 'page');
  const since = paging ? (pagingSince ?? now.toISOString()) : undefined;
  const reading: BudgetPolicyReading = {
    at: now.toISOString(),
    ...(worst ? { slo: worst.slo, remainingPercent: worst.remainingPercent! } : {}),
    paging,
  };
  const base = { reading, ...(since ? { pagingSince: since } : {}) };
  const spent = known.filter((s) => s.remainingPercent! <= policy.budgetAtOrBelow);
  if (spent.length > 0) {
    return {
      ...base,
      trigger: 'exhausted',
      detail: spent
        .map((s) => `${s.slo}: ${pct(s.remainingPercent!)} of the budget left ≤ ${policy.budgetAtOrBelow}%`)
        .join('; '),
    };
  }
  if (since && policy.pagingFor) {
    const forMs = now.getTime() - new Date(since).getTime();
    if (forMs >= parseDuration(policy.pagingFor)) {
      const slos = statuses.filter((s) => s.burnState === 'page').map((s) => s.slo);
      return {
        ...base,
        trigger: 'exhausted',
        detail: `${slos.join(', ')} paging for ${Math.round(forMs / 60_000)} min ≥ ${policy.pagingFor}`,
      };
    }
  }
  const healthy = statuses.every(
    (s) => s.remainingPercent === undefined || s.remainingPercent > policy.budgetAbove,
  );
  if (healthy && !paging) {
    return {
      ...base,
      trigger: 'recovered',
      detail: worst
        ? `${worst.slo}: ${pct(worst.remainingPercent!)} of the budget left > ${policy.budgetAbove}%, not paging`
        : 'no SLO has a budget to spend (no traffic), not paging',
    };
  }
  return {
    ...base,
    detail: worst
      ? `${worst.slo}: ${pct(worst.remainingPercent!)} left${paging ? ', paging' : ''}`
      : 'no budget reading',
  };
}
