// Whether Prometheus's history reaches back over the windows of an evaluation in the past: the first
// sample it holds of the SLI's series, so `budget at=` before it says so instead of "missing series".
import { parseDuration } from '../core/duration.js';
import { ErrorCode } from '../core/errors.js';
import type { PrometheusClient } from './prometheus-client.js';
import { seriesSelectors } from './promql.js';
import type { Reading } from './reading.js';
import type { Slo } from './spec.js';

/** Prometheus's default lookback: the history is searched from this far before the longest window. */
const LOOKBACK_MS = 5 * 60_000;
/** Buckets per look: the first finds the bucket the first sample is in, the second the second. */
const MAX_STEPS = 11_000;
/** A first sample this soon after a window starts still covers it (rate() extrapolates a scrape's gap). */
const SCRAPE_SLACK_MS = 60_000;

/** The first sample Prometheus holds of an SLI, and how late it may be found (0: to the second). */
export interface HistoryStart {
  at: Date;
  precisionMs: number;
}

/**
 * When Prometheus's history of the SLI begins: the first sample of its total query's series between
 * `from` and `to`. Per series selector, one subquery counts samples in buckets that tile the range
 * and takes the end of the first bucket holding any; a second does the same at one-second buckets
 * inside that one. `null` when Prometheus holds no sample there (the series is missing),
 * `undefined` when that could not be asked (the readings say why).
 *
 * @example
 * const start = await historyStart(slo, { from: monthAgo, to: now }, prometheus);
 * start?.at // 2026-11-03T10:00:00.000Z
 */
export async function historyStart(
  slo: Slo,
  range: { from: Date; to: Date },
  prometheus: PrometheusClient,
  signal?: AbortSignal,
): Promise<HistoryStart | null | undefined> {
  const selectors = seriesSelectors(slo.totalQuery);
  if (selectors.length === 0) return undefined;
  const rangeS = Math.ceil(Math.max(range.to.getTime() - range.from.getTime(), LOOKBACK_MS) / 1000);
  const stepS = Math.max(1, Math.ceil(rangeS / MAX_STEPS));
  const fineS = Math.max(1, Math.ceil(stepS / MAX_STEPS));
  // timestamp() of a computed value is its evaluation time: the end of the first bucket with samples.
  const firstBucket = async (selector: string, spanS: number, bucketS: number, at: Date) => {
    const query = `min_over_time(timestamp(sum(count_over_time(${selector}[${bucketS}s])))[${spanS}s:${bucketS}s])`;
    const [sample] = await prometheus.query(query, at, signal);
    return sample && Number.isFinite(sample.value) ? sample.value : null;
  };
  const firsts = await Promise.all(
    selectors.map(async (selector) => {
      try {
        const coarse = await firstBucket(selector, rangeS, stepS, range.to);
        if (coarse === null) return null;
        return (await firstBucket(selector, stepS, fineS, new Date(coarse * 1000))) ?? coarse;
      } catch (error) {
        if (signal?.aborted) throw error;
        return undefined;
      }
    }),
  );
  if (firsts.includes(undefined)) return undefined;
  const found = firsts.filter((first): first is number => first !== null);
  if (found.length === 0) return null;
  return { at: new Date(Math.min(...found) * 1000), precisionMs: fineS > 1 ? fineS * 1000 : 0 };
}

/** How far back the history must be searched for the windows of `slo` at `at`. */
export function historyRange(slo: Slo, at: Date, now: Date): { from: Date; to: Date } {
  const longest = Math.max(...[slo.window, ...slo.burnWindows].map(parseDuration));
  return {
    from: new Date(at.getTime() - longest - LOOKBACK_MS),
    to: new Date(Math.max(now.getTime(), at.getTime())),
  };
}

/**
 * The reading of a window that starts before the history does: unknown, with when it begins, never
 * a number over part of the window or "missing series"; `reading` as measured when it is covered.
 */
export function coveredReading(
  reading: Reading,
  window: string,
  at: Date,
  start: HistoryStart,
  query: string,
): Reading {
  const windowStart = at.getTime() - parseDuration(window);
  if (start.at.getTime() <= windowStart + SCRAPE_SLACK_MS + start.precisionMs) return reading;
  return {
    kind: 'unknown',
    query,
    code: ErrorCode.HistoryNotCovered,
    message: `Prometheus's history of this SLI begins at ${isoSeconds(start.at)}, so a window that starts before then is not covered`,
  };
}

/** `2026-11-03T10:00:00Z`: the time as people type it in at=. */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.000Z$/, 'Z');
}
