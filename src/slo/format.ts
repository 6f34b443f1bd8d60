// Words and numbers for an evaluation, shared by `budget`, digests and the change gate's evidence.
import {
  describeReading,
  type Exhaustion,
  formatBurn,
  formatExhaustion,
  formatPercent,
} from './burn-rate.js';
import type { SloEvaluation } from './evaluate.js';
import type { Reading } from './reading.js';
import { sloLabel, windowAdjective } from './spec.js';

/** `50%`, `-12.5%` (overspent), or what the reading is instead of a number. */
export function formatRemaining(reading: Reading): string {
  return reading.kind === 'value' ? formatPercent(reading.value) : describeReading(reading);
}

/** The SLI as a percentage with enough digits to compare with the objective: `99.95%`. */
export function formatSli(reading: Reading): string {
  if (reading.kind !== 'value') return describeReading(reading);
  return `${Number((reading.value * 100).toFixed(4))}%`;
}

/** The 1h burn rate, the one people quote. */
export function currentBurn(evaluation: SloEvaluation): Reading {
  return (
    evaluation.burnRates.find((burn) => burn.window === '1h')?.burnRate ?? { kind: 'no_data', query: '1h' }
  );
}

/** The sooner of the 1h and 6h exhaustion estimates, for one-line summaries. */
export function soonestExhaustion(evaluation: SloEvaluation): Exhaustion | undefined {
  const order = (e: Exhaustion) =>
    e.status === 'exhausted'
      ? -1
      : e.status === 'burning'
        ? e.inMs!
        : e.status === 'unknown'
          ? Number.MAX_VALUE
          : Infinity;
  return [...evaluation.exhaustion].sort((a, b) => order(a) - order(b))[0];
}

/**
 * The answer first, in one line.
 *
 * @example
 * summarizeEvaluation(evaluation)
 * // 'checkout/availability: 50% of the 30-day error budget left, burning 0.5× (1h); ok'
 */
export function summarizeEvaluation(evaluation: SloEvaluation): string {
  const { slo } = evaluation;
  const name = sloLabel(slo);
  const window = windowAdjective(slo.windowMs);
  const remaining = evaluation.budgetRemaining;
  let lead: string;
  if (remaining.kind === 'value') {
    lead =
      remaining.value >= 0
        ? `${formatPercent(remaining.value)} of the ${window} error budget left`
        : `the ${window} error budget is overspent by ${formatPercent(-remaining.value)}`;
  } else if (remaining.kind === 'no_traffic') {
    lead = `no traffic in the ${window} window, so no budget to measure`;
  } else if (remaining.kind === 'no_data') {
    lead = 'no data: a series the SLO queries is missing';
  } else {
    lead = `budget unknown (${remaining.message})`;
  }
  const burn = currentBurn(evaluation);
  const burning = burn.kind === 'value' ? `, burning ${formatBurn(burn)} (1h)` : '';
  return `${name}: ${lead}${burning}; ${evaluation.state}`;
}

/** The exhaustion estimate for a table cell: `in 3h6m (1h)`. */
export function formatSoonestExhaustion(evaluation: SloEvaluation): string {
  const soonest = soonestExhaustion(evaluation);
  if (!soonest) return 'unknown';
  return soonest.status === 'burning'
    ? `${formatExhaustion(soonest)} (${soonest.window} rate)`
    : formatExhaustion(soonest);
}
