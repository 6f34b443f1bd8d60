// Release notes in numbers: per service, how many pipeline deliveries the gate let through, how many
// failed verification, and what each cost in error budget (budget left before it, less after it).
import { type BurnSnapshot, type ChangeRequest, FINAL_STATES, servicesOf } from './types.js';

export interface DeliveryStats {
  service: string;
  /** Deliveries that ran (the gate or a person let them through). */
  delivered: number;
  /** Of those, how many verification has judged (it ended): the change failure rate's denominator. */
  verified: number;
  /** Of those, how many failed verification (failed or rolled back). */
  failed: number;
  /** Mean budget spent per delivery, in percentage points of the window, over `measured` of them. */
  budgetCost?: number;
  measured: number;
}

/**
 * Budget points a change spent: for each SLO read both before it and at its last verification sample,
 * the budget left before less the budget left after. Undefined when no SLO was read both times.
 *
 * @example
 * budgetCost(change) // 0.46: the change's window took 0.46 points of the 30-day budget
 */
export function budgetCost(change: Pick<ChangeRequest, 'verification'>): number | undefined {
  const left = (snapshots: readonly BurnSnapshot[] | undefined) =>
    new Map(
      (snapshots ?? []).flatMap((s) =>
        s.remainingPercent === undefined ? [] : [[s.slo, s.remainingPercent] as const],
      ),
    );
  const before = left(change.verification?.baseline);
  const after = left(change.verification?.after);
  const both = [...before.keys()].filter((slo) => after.has(slo));
  if (both.length === 0) return undefined;
  const cost = both.reduce((sum, slo) => sum + before.get(slo)! - after.get(slo)!, 0);
  // The difference of two equal readings is not always 0 in floating point: such noise cost nothing.
  return Math.abs(cost) < NOISE ? 0 : cost;
}

/** Below this, a budget cost is floating-point noise, not a cost. */
const NOISE = 1e-9;

/** The figures of a group of deliveries (one service's, or one team's). */
function figuresOf(delivered: readonly ChangeRequest[]): Omit<DeliveryStats, 'service'> {
  const costs = delivered.flatMap((change) => {
    const cost = budgetCost(change);
    return cost === undefined ? [] : [cost];
  });
  return {
    delivered: delivered.length,
    verified: delivered.filter((c) => FINAL_STATES.includes(c.state)).length,
    failed: delivered.filter((c) => c.state === 'failed' || c.state === 'rolled-back').length,
    ...(costs.length ? { budgetCost: costs.reduce((a, b) => a + b, 0) / costs.length } : {}),
    measured: costs.length,
  };
}

/** The deliveries among `changes` that ran, grouped under each key `keysOf` gives them, by key. */
function grouped(
  changes: readonly ChangeRequest[],
  keysOf: (change: ChangeRequest) => readonly string[],
): Array<[string, ChangeRequest[]]> {
  const groups = new Map<string, ChangeRequest[]>();
  for (const change of changes) {
    if (!change.delivery || !change.execution) continue;
    for (const key of new Set(keysOf(change))) groups.set(key, [...(groups.get(key) ?? []), change]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Per service (sorted by name), the deliveries among `changes` and what they cost. */
export function deliveryStats(changes: readonly ChangeRequest[]): DeliveryStats[] {
  return grouped(changes, servicesOf).map(([service, delivered]) => ({ service, ...figuresOf(delivered) }));
}

/** One team's deliveries: the services of the catalog whose `team` it is, summed. */
export interface TeamDeliveryStats extends Omit<DeliveryStats, 'service'> {
  team: string;
  services: string[];
}

/** What `team` a service without one is counted under. */
export const NO_TEAM = '(no team)';

/**
 * Per team (sorted by name), from each service's `team` in the catalog; a delivery touching two
 * services of one team counts once for it.
 *
 * @example
 * deliveryStatsByTeam(changes, (service) => catalog[service]?.team) // [{ team: 'payments', delivered: 4, failed: 1, ... }]
 */
export function deliveryStatsByTeam(
  changes: readonly ChangeRequest[],
  teamOf: (service: string) => string | undefined,
): TeamDeliveryStats[] {
  const team = (service: string) => teamOf(service) ?? NO_TEAM;
  return grouped(changes, (change) => servicesOf(change).map(team)).map(([name, delivered]) => ({
    team: name,
    services: [...new Set(delivered.flatMap(servicesOf).filter((service) => team(service) === name))].sort(),
    ...figuresOf(delivered),
  }));
}

/**
 * `25.0% (1 of 4)`: the change failure rate with its counts, over the deliveries whose verification
 * ended; `3 in verification` is added for those still watched, which count for neither side.
 */
export function formatFailureRate(figures: Pick<DeliveryStats, 'delivered' | 'verified' | 'failed'>): string {
  const watched = figures.delivered - figures.verified;
  const still = watched ? `${watched} in verification` : '';
  if (figures.verified === 0) return `none verified yet (${still})`;
  const rate = `${((100 * figures.failed) / figures.verified).toFixed(1)}% (${figures.failed} of ${figures.verified})`;
  return still ? `${rate}, ${still}` : rate;
}

/** The change failure rate as a fraction of the deliveries whose verification ended; null before any did. */
export function failureRateOf(figures: Pick<DeliveryStats, 'verified' | 'failed'>): number | null {
  return figures.verified ? figures.failed / figures.verified : null;
}

/** `0.46 pp of the budget (3 measured)`, or `not measured`: the mean budget cost per delivery. */
export function formatBudgetCost(
  figures: Pick<DeliveryStats, 'delivered' | 'budgetCost' | 'measured'>,
): string {
  if (figures.budgetCost === undefined) return 'not measured';
  const some = figures.measured < figures.delivered ? ` (${figures.measured} measured)` : '';
  return `${figures.budgetCost.toFixed(2)} pp of the budget${some}`;
}
