// Synthetic traffic with known answers: 30 days of per-minute counters for each scenario, and the
// expected numbers worked out by hand (each scenario's comment shows the arithmetic).
import type { SeriesFixture } from '../doubles/prometheus.js';

export const MINUTE = 60;
export const DAY = 86_400;
/** Requests per minute in every scenario with traffic: 100 per second. */
export const PER_MINUTE = 6000;

/** A counter that grows by `perMinute(t)` at each sample after the first, with an optional restart. */
function counter(
  family: string,
  labels: Record<string, string>,
  start: number,
  perMinute: (t: number) => number,
  resetAt?: number,
): SeriesFixture {
  let last = start - MINUTE;
  let total = 0;
  return {
    family,
    type: 'counter',
    labels,
    value: (t) => {
      // Samples are asked for in rising time order, once each; the running total is the counter.
      if (t !== start && t !== last + MINUTE) throw new Error('samples must be asked for in order');
      if (t !== start) total += perMinute(t);
      if (resetAt !== undefined && t === resetAt) total = perMinute(t); // the process restarted
      last = t;
      return total;
    },
  };
}

/** Error and success counters for one service whose error ratio over each minute is `ratio(t)`. */
function service(
  name: string,
  start: number,
  ratio: (t: number) => number,
  options: { traffic?: (t: number) => number; resetAt?: number } = {},
): SeriesFixture[] {
  const traffic = options.traffic ?? (() => PER_MINUTE);
  const errors = (t: number) => Math.round(traffic(t) * ratio(t));
  return [
    counter(
      'http_requests',
      { service: name, code: '200' },
      start,
      (t) => traffic(t) - errors(t),
      options.resetAt,
    ),
    counter('http_requests', { service: name, code: '500' }, start, errors, options.resetAt),
  ];
}

/**
 * Every scenario's series, ending at `end` (the evaluation time) and starting 30 days and 2 hours
 * before it, so the 30-day window is fully covered.
 */
export function scenarioSeries(end: number): { series: SeriesFixture[]; start: number } {
  const start = end - 30 * DAY - 2 * 3600;
  const series: SeriesFixture[] = [
    // checkout: 3 errors in 6000 every minute, 0.05% on a 99.9% objective = half the budget.
    ...service('checkout', start, () => 0.0005),
    // payments: the same, then 20% errors in the last 30 minutes: the page state.
    ...service('payments', start, (t) => (t > end - 30 * MINUTE ? 0.2 : 0.0005)),
    // search: 0.4% errors for the last day (4x): the ticket state.
    ...service('search', start, (t) => (t > end - DAY ? 0.004 : 0.0005)),
    // batch: traffic stopped two days ago; short windows have none.
    ...service('batch', start, () => 0.0005, { traffic: (t) => (t > end - 2 * DAY ? 0 : PER_MINUTE) }),
    // idle: its counters exist but never moved in 30 days.
    ...service('idle', start, () => 0, { traffic: () => 0 }),
    // ledger: as checkout, but the process restarted ten days ago and its counters began again.
    ...service('ledger', start, () => 0.0005, { resetAt: end - 10 * DAY }),
  ];
  // checkout latency: 6000 requests a minute, 5988 of them within 300 ms (99.8% fast) on a 99% objective.
  const buckets: Array<[string, number]> = [
    ['0.1', 5400],
    ['0.3', 5988],
    ['+Inf', PER_MINUTE],
  ];
  for (const [le, perMinute] of buckets) {
    series.push({
      ...counter('x', {}, start, () => perMinute),
      family: 'http_request_duration_seconds_bucket',
      type: 'unknown',
      labels: { service: 'checkout', le },
    });
  }
  series.push({
    ...counter('x', {}, start, () => PER_MINUTE),
    family: 'http_request_duration_seconds_count',
    type: 'unknown',
    labels: { service: 'checkout' },
  });
  return { series, start };
}

/** The error ratio of payments over the last `minutes`: 30 minutes at 20%, the rest at 0.05%. */
export function paymentsRatio(minutes: number): number {
  const spike = Math.min(30, minutes);
  return (spike * 1200 + (minutes - spike) * 3) / (minutes * PER_MINUTE);
}

/** The error ratio of search over the last `minutes`: one day at 0.4%, the rest at 0.05%. */
export function searchRatio(minutes: number): number {
  const bad = Math.min(1440, minutes);
  return (bad * 24 + (minutes - bad) * 3) / (minutes * PER_MINUTE);
}

export const WINDOW_MINUTES: Record<string, number> = {
  '5m': 5,
  '30m': 30,
  '1h': 60,
  '2h': 120,
  '6h': 360,
  '1d': 1440,
  '3d': 4320,
  '30d': 43_200,
};
