// Release notes in numbers: per service, how many pipeline deliveries the gate let through, how many
// failed verification, and what each cost in error budget (budget left before it, less after it).
import { type BurnSnapshot, type ChangeRequest, servicesOf } from './types.js';

export interface DeliveryStats {
  service: string;
  /** Deliveries that ran (the gate or a person let them through). */
  delivered: number;
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
  return both.reduce((sum, slo) => sum + before.get(slo)! - after.get(slo)!, 0);
}

/** Per service (sorted by name), the deliveries among `changes` and what they cost. */
export function deliveryStats(changes: readonly ChangeRequest[]): DeliveryStats[] {
  const byService = new Map<string, ChangeRequest[]>();
  for (const change of changes) {
    if (!change.delivery || !change.execution) continue;
    for (const service of servicesOf(change))
      byService.set(service, [...(byService.get(service) ?? []), change]);
  }
  return [...byService.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, delivered]) => {
      const costs = delivered.flatMap((change) => {
        const cost = budgetCost(change);
        return cost === undefined ? [] : [cost];
      });
      return {
        service,
        delivered: delivered.length,
        failed: delivered.filter((c) => c.state === 'failed' || c.state === 'rolled-back').length,
        ...(costs.length ? { budgetCost: costs.reduce((a, b) => a + b, 0) / costs.length } : {}),
        measured: costs.length,
      };
    });
}
