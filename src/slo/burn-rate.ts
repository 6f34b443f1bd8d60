// Error-budget arithmetic: burn rates, the multiwindow multi-burn-rate state and time to exhaustion.
// Pure functions over readings, so the numbers can be checked without Prometheus.
import { formatDuration } from '../core/duration.js';
import { mapReading, type Reading } from './reading.js';
import type { BurnRule } from './spec.js';

export type BurnState = 'page' | 'ticket' | 'ok' | 'unknown';

/**
 * How fast the budget burns in a window: error ratio ÷ (1 − objective). 1× spends exactly the
 * budget over the SLO window; 14.4× spends 2% of a 30-day budget in one hour.
 *
 * @example
 * burnRate({ kind: 'value', value: 0.0005 }, 0.001) // { kind: 'value', value: 0.5 }
 */
export function burnRate(errorRatio: Reading, errorBudget: number): Reading {
  return mapReading(errorRatio, (ratio) => ratio / errorBudget);
}

export interface BurnStateResult {
  state: BurnState;
  /** Why, in numbers: `1h 100.3× and 5m 200× both above 14.4×`, or which windows are unknown. */
  reason: string;
  /** The rule that fired, for page and ticket. */
  rule?: BurnRule;
}

/**
 * The multiwindow, multi-burn-rate state: page when a page rule's long and short windows both burn
 * faster than its factor, else ticket likewise, else ok. No traffic does not burn. A window that
 * is unknown or has no data makes the state unknown unless a rule already fires without it, so a
 * gate reading this fails closed.
 *
 * @example
 * burnState(new Map([['1h', value(100)], ['5m', value(200)], ...]), DEFAULT_BURN_RULES).state // 'page'
 */
export function burnState(
  burnRates: ReadonlyMap<string, Reading>,
  rules: readonly BurnRule[],
): BurnStateResult {
  const undecided = new Set<string>();
  for (const severity of ['page', 'ticket'] as const) {
    for (const rule of rules.filter((candidate) => candidate.severity === severity)) {
      const long = burnRates.get(rule.long) ?? { kind: 'no_data', query: rule.long };
      const short = burnRates.get(rule.short) ?? { kind: 'no_data', query: rule.short };
      const pair = [
        [rule.long, long],
        [rule.short, short],
      ] as const;
      if (pair.every(([, reading]) => reading.kind === 'value' && reading.value > rule.factor)) {
        const shown = pair
          .map(
            ([window, reading]) =>
              `${window} ${formatBurnAgainst((reading as { value: number }).value, rule.factor)}`,
          )
          .join(' and ');
        return { state: severity, rule, reason: `${shown} both above ${rule.factor}×` };
      }
      // One window known to be below the factor settles the rule whatever the other says.
      const settled = pair.some(
        ([, reading]) =>
          reading.kind === 'no_traffic' || (reading.kind === 'value' && !(reading.value > rule.factor)),
      );
      if (!settled) {
        for (const [window, reading] of pair) if (reading.kind !== 'value') undecided.add(window);
      }
    }
    if (undecided.size > 0) {
      return {
        state: 'unknown',
        reason: `cannot rule out ${severity}: no answer for the ${[...undecided].join(', ')} window${undecided.size > 1 ? 's' : ''}`,
      };
    }
  }
  return { state: 'ok', reason: 'no burn-rate rule fires' };
}

/** When the budget runs out at a window's current burn rate. */
export interface Exhaustion {
  /** The burn-rate window used (`1h`, `6h`). */
  window: string;
  burnRate: Reading;
  /** `exhausted`: none left; `never`: not burning; `unknown`: a number is missing. */
  status: 'exhausted' | 'burning' | 'never' | 'unknown';
  /** Milliseconds from the evaluation time, when `burning`. */
  inMs?: number;
}

/**
 * Time to exhaustion: the remaining share of the budget divided by the share burnt per unit of
 * time (burn rate ÷ SLO window), assuming the current rate holds.
 *
 * @example
 * timeToExhaustion(value(0.5), value(0.5), '1h', 30 * 86_400_000).inMs // 30 days
 */
export function timeToExhaustion(
  remaining: Reading,
  burn: Reading,
  window: string,
  sloWindowMs: number,
): Exhaustion {
  if (remaining.kind === 'value' && remaining.value <= 0)
    return { window, burnRate: burn, status: 'exhausted' };
  if (burn.kind === 'no_traffic' || (burn.kind === 'value' && burn.value <= 0)) {
    return { window, burnRate: burn, status: 'never' };
  }
  if (remaining.kind !== 'value' || burn.kind !== 'value')
    return { window, burnRate: burn, status: 'unknown' };
  return { window, burnRate: burn, status: 'burning', inMs: (remaining.value * sloWindowMs) / burn.value };
}

/** `0.5×`, `14.4×`, `200×`; readings that are not numbers say what they are. */
export function formatBurn(reading: Reading): string {
  if (reading.kind !== 'value') return describeReading(reading);
  // Three significant digits: never more than 0.5% off (0.4764 reads 0.476×, not 0.48×).
  return `${Number(reading.value.toPrecision(3))}×`;
}

/**
 * A burn rate next to the factor it is compared with, with as many digits as it takes (three, up to
 * six) for the text to agree with the comparison: 14.42 above 14.4 reads `14.42×`, never `14.4×`.
 *
 * @example
 * formatBurnAgainst(14.42, 14.4) // '14.42×'
 */
export function formatBurnAgainst(value: number, factor: number): string {
  for (let digits = 3; digits < 6; digits++) {
    const shown = Number(value.toPrecision(digits));
    if (Math.sign(shown - factor) === Math.sign(value - factor)) return `${shown}×`;
  }
  return `${Number(value.toPrecision(6))}×`;
}

/** Float noise from the budget arithmetic (1 − 1.0000000000000002) is no budget at all, not 2.22e-14%. */
const NOISE = 1e-12;

/** A percentage with at least three significant digits: `50%`, `36.1%`, `5.04%`, `0.476%`, `99.95%`. */
export function formatPercent(ratio: number, digits = 1): string {
  const percent = Math.abs(ratio) < NOISE ? 0 : ratio * 100;
  const fixed = Math.abs(percent) < 10 ? percent.toPrecision(3) : percent.toFixed(digits);
  return `${Number(fixed)}%`;
}

/** `no traffic`, `no data`, `unknown`. */
export function describeReading(reading: Reading): string {
  switch (reading.kind) {
    case 'value':
      return String(reading.value);
    case 'no_traffic':
      return 'no traffic';
    case 'no_data':
      return 'no data';
    case 'unknown':
      return 'unknown';
  }
}

/** `in 3h6m`, `never (not burning)`, `exhausted`, `unknown`. */
export function formatExhaustion(exhaustion: Exhaustion): string {
  switch (exhaustion.status) {
    case 'exhausted':
      return 'exhausted';
    case 'never':
      return 'not burning';
    case 'unknown':
      return 'unknown';
    case 'burning':
      return `in ${formatDuration(exhaustion.inMs!)}`;
  }
}
