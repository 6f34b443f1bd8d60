// How the budget was spent across the SLO window: bad and total events per step from two range
// queries, accumulated into "budget left" from the window's start to the evaluation time.

import type { PrometheusClient } from './prometheus-client.js';
import { promDuration, renderQuery, type Slo } from './spec.js';

export interface BudgetPoint {
  at: Date;
  /** Share of the budget left at this point, counting bad events since the window started. */
  remaining: number;
  /** Burn rate over the step that ends here (error ratio ÷ budget); undefined without traffic. */
  burnRate: number | undefined;
}

export interface BudgetHistory {
  points: BudgetPoint[];
  stepMs: number;
  /** The range queries, for `--explain`. */
  queries: { errors: string; total: string };
}

/**
 * Budget left over the window ending at `at`, in `steps` steps. Bad and total events per step are
 * both rates over the step, so their ratio and their sums weigh every step by its traffic.
 *
 * @example
 * const history = await budgetHistory(slo, at, { prometheus, steps: 120 });
 * history.points.at(-1)?.remaining // about the evaluation's budgetRemaining
 */
export async function budgetHistory(
  slo: Slo,
  at: Date,
  options: { prometheus: PrometheusClient; steps?: number; signal?: AbortSignal },
): Promise<BudgetHistory> {
  const steps = options.steps ?? 120;
  // Whole minutes keep the ranges readable and aligned with scrape intervals.
  const stepMs = Math.max(60_000, Math.round(slo.windowMs / steps / 60_000) * 60_000);
  const step = promDuration(stepMs);
  const queries = {
    errors: `sum(${renderQuery(slo.errorQuery, step)})`,
    total: `sum(${renderQuery(slo.totalQuery, step)})`,
  };
  // Windows in whole days divide evenly; others end up within one step of the window.
  const count = Math.max(1, Math.round(slo.windowMs / stepMs));
  const origin = new Date(at.getTime() - count * stepMs);
  const range = {
    start: new Date(origin.getTime() + stepMs),
    end: at,
    stepMs,
  };
  const [errors, total] = await Promise.all([
    options.prometheus.queryRange(queries.errors, range, options.signal),
    options.prometheus.queryRange(queries.total, range, options.signal),
  ]);
  const bad = new Map(errors[0]?.points ?? []);
  const all = total[0]?.points ?? [];
  const totalEvents = all.reduce((sum, [, count]) => sum + (Number.isFinite(count) ? count : 0), 0);
  // No events in the whole window: there is no budget curve to draw, and never a flat 100%.
  if (!(totalEvents > 0)) return { points: [], stepMs, queries };
  let spent = 0;
  // The window starts with the whole budget: nothing in it has been spent yet.
  const points: BudgetPoint[] = [{ at: origin, remaining: 1, burnRate: undefined }];
  for (const [t, count] of all) {
    const errorsInStep = bad.get(t) ?? 0;
    if (Number.isFinite(errorsInStep)) spent += errorsInStep;
    points.push({
      at: new Date(t * 1000),
      remaining: 1 - spent / (totalEvents * slo.errorBudget),
      burnRate: count > 0 ? errorsInStep / count / slo.errorBudget : undefined,
    });
  }
  return { points, stepMs, queries };
}
