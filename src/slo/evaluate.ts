// Evaluates SLOs at a given time: the SLI and budget over the SLO window, burn rates per window, the
// burn state and time to exhaustion. Raw queries per SLO, or one recorded-series query per window.
import { parseDuration } from '../core/duration.js';
import { ErrorCode } from '../core/errors.js';
import { type BurnState, burnRate, burnState, type Exhaustion, timeToExhaustion } from './burn-rate.js';
import { coveredReading, historyRange, historyStart } from './coverage.js';
import { type PrometheusClient, unknownReading } from './prometheus-client.js';
import { errorRatioQuery, recordedMetric, recordedQuery } from './queries.js';
import { mapReading, type Reading } from './reading.js';
import { renderQuery, type Slo } from './spec.js';

/** The error ratio and burn rate over one window. */
export interface WindowBurn {
  window: string;
  windowMs: number;
  errorRatio: Reading;
  burnRate: Reading;
  /** The PromQL that produced `errorRatio`, for `--explain`. */
  query: string;
}

/** Everything Millwright knows about one SLO at one instant. */
export interface SloEvaluation {
  slo: Slo;
  /** The evaluation time every query used. */
  at: Date;
  /** Raw SLI queries, or the recorded series from `millwright slo rules`. */
  source: 'raw' | 'recording-rules';
  /** Bad ÷ all events over the SLO window. */
  errorRatio: Reading;
  /** Good ÷ all events over the SLO window (1 − errorRatio). */
  sli: Reading;
  /** Share of the error budget spent (1 means all of it; above 1, overspent). */
  budgetConsumed: Reading;
  /** Share of the error budget left; negative when overspent. */
  budgetRemaining: Reading;
  windowQuery: string;
  burnRates: WindowBurn[];
  state: BurnState;
  stateReason: string;
  /** At the current 1h and 6h burn rates. */
  exhaustion: Exhaustion[];
}

export interface EvaluateOptions {
  prometheus: PrometheusClient;
  /** Read `slo:sli_error:ratio_rate<window>` (one query per window for all SLOs). */
  useRecordingRules?: boolean;
  signal?: AbortSignal;
  /**
   * For an evaluation in the past (`budget at=`): check that Prometheus's history covers each
   * window, looking for the SLI's first sample up to this time (now). A window that starts before
   * it reads unknown with when the history begins.
   */
  historyUntil?: Date;
}

/** The windows whose current burn rate gives the time to exhaustion. */
export const EXHAUSTION_WINDOWS = ['1h', '6h'] as const;

interface Measured {
  reading: Reading;
  query: string;
}

/**
 * Evaluates one SLO at `at`. Prometheus failures become `unknown` readings and an `unknown` state,
 * never an exception, so a caller that decides on the result can fail closed.
 *
 * @example
 * const evaluation = await evaluateSlo(slo, new Date('2026-11-26T12:00:00Z'), { prometheus });
 * evaluation.budgetRemaining // { kind: 'value', value: 0.5 }
 * evaluation.state           // 'ok'
 */
export async function evaluateSlo(slo: Slo, at: Date, options: EvaluateOptions): Promise<SloEvaluation> {
  const [evaluation] = await evaluateSlos([slo], at, options);
  return evaluation!;
}

/**
 * Evaluates many SLOs at the same instant. With recording rules it asks one query per distinct
 * window for all SLOs together; otherwise one query per SLO and window, run with the client's bound.
 */
export async function evaluateSlos(
  slos: readonly Slo[],
  at: Date,
  options: EvaluateOptions,
): Promise<SloEvaluation[]> {
  const measured = options.useRecordingRules
    ? await recordedRatios(slos, at, options)
    : await Promise.all(slos.map((slo) => rawRatios(slo, at, options)));
  const until = options.historyUntil;
  if (until) {
    await Promise.all(
      slos.map(async (slo, i) => {
        const start = await historyStart(
          slo,
          historyRange(slo, at, until),
          options.prometheus,
          options.signal,
        );
        if (!start) return; // no series at all (no data says so), or Prometheus could not say
        const windows = measured[i]!;
        for (const [window, { reading, query }] of windows) {
          windows.set(window, { reading: coveredReading(reading, window, at, start, query), query });
        }
      }),
    );
  }
  return slos.map((slo, i) =>
    assemble(slo, at, measured[i]!, options.useRecordingRules ? 'recording-rules' : 'raw'),
  );
}

/**
 * The error ratio of an SLO over any window at `at`, from the raw queries; for comparing a window
 * after a change with the one before it.
 *
 * @example
 * const before = await errorRatio(slo, '15m', changeStart, { prometheus });
 */
export async function errorRatio(
  slo: Slo,
  window: string,
  at: Date,
  options: Omit<EvaluateOptions, 'useRecordingRules'>,
): Promise<Reading> {
  const reading = await options.prometheus.reading(errorRatioQuery(slo, window), at, options.signal);
  return confirmNoTraffic(slo, window, reading, at, options);
}

/**
 * A NaN error ratio reads "no traffic" only when the total really counted nothing: 0/0. A ratio that
 * is NaN while requests were counted comes from a query that yields NaN (a `* NaN`, a division inside
 * errorQuery), and is unknown, never a quiet service. One more query, and only for a NaN.
 */
async function confirmNoTraffic(
  slo: Slo,
  window: string,
  reading: Reading,
  at: Date,
  options: Pick<EvaluateOptions, 'prometheus' | 'signal'>,
): Promise<Reading> {
  if (reading.kind !== 'no_traffic') return reading;
  const query = `sum(${renderQuery(slo.totalQuery, window)})`;
  const total = await options.prometheus.reading(query, at, options.signal);
  if (total.kind === 'no_data' || (total.kind === 'value' && total.value === 0)) return reading;
  if (total.kind === 'unknown') return { ...total, query: reading.query };
  const counted = total.kind === 'value' ? `${total.value.toPrecision(3)} events per second` : 'NaN events';
  return {
    kind: 'unknown',
    query: reading.query,
    code: ErrorCode.PrometheusQueryError,
    message: `the error ratio over ${window} is NaN although the total counted ${counted}: the error (or good) query yields NaN; run slo lint and budget --explain`,
  };
}

function windowsOf(slo: Slo): string[] {
  return [...slo.burnWindows, slo.window];
}

async function rawRatios(slo: Slo, at: Date, options: EvaluateOptions): Promise<Map<string, Measured>> {
  const windows = [...new Set(windowsOf(slo))];
  const readings = await Promise.all(
    windows.map(async (window) => {
      const query = errorRatioQuery(slo, window);
      const reading = await options.prometheus.reading(query, at, options.signal);
      return [window, { reading: await confirmNoTraffic(slo, window, reading, at, options), query }] as const;
    }),
  );
  return new Map(readings);
}

async function recordedRatios(
  slos: readonly Slo[],
  at: Date,
  options: EvaluateOptions,
): Promise<Array<Map<string, Measured>>> {
  const windows = [...new Set(slos.flatMap(windowsOf))];
  const byWindow = new Map<string, Map<string, number> | Reading>();
  await Promise.all(
    windows.map(async (window) => {
      const metric = recordedMetric(window);
      try {
        const samples = await options.prometheus.query(metric, at, options.signal);
        const byId = new Map<string, number>();
        for (const sample of samples) {
          const id = sample.labels.sloth_id;
          if (id === undefined) continue;
          // Two series for one SLO (say, two replicas' rules): keep the worse, never the kinder.
          const previous = byId.get(id);
          byId.set(
            id,
            previous === undefined || Number.isNaN(previous)
              ? sample.value
              : Math.max(previous, sample.value),
          );
        }
        byWindow.set(window, byId);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        byWindow.set(window, unknownReading(metric, error));
      }
    }),
  );
  return Promise.all(
    slos.map(async (slo) => {
      const measured = new Map<string, Measured>();
      for (const window of windowsOf(slo)) {
        const query = recordedQuery(slo, window);
        const found = byWindow.get(window)!;
        if (!(found instanceof Map)) {
          measured.set(window, { reading: found.kind === 'value' ? found : { ...found, query }, query });
          continue;
        }
        const sample = found.get(slo.id);
        const reading: Reading =
          sample === undefined
            ? { kind: 'no_data', query }
            : Number.isNaN(sample)
              ? { kind: 'no_traffic', query }
              : Number.isFinite(sample)
                ? { kind: 'value', value: sample }
                : {
                    kind: 'unknown',
                    query,
                    code: ErrorCode.PrometheusQueryError,
                    message: 'the recorded error ratio is infinite: errors were counted with no total events',
                  };
        measured.set(window, { reading: await confirmNoTraffic(slo, window, reading, at, options), query });
      }
      return measured;
    }),
  );
}

function assemble(
  slo: Slo,
  at: Date,
  measured: Map<string, Measured>,
  source: SloEvaluation['source'],
): SloEvaluation {
  const period = measured.get(slo.window)!;
  const errorRatioOverWindow = period.reading;
  const budgetConsumed = mapReading(errorRatioOverWindow, (ratio) => ratio / slo.errorBudget);
  const budgetRemaining = mapReading(budgetConsumed, (consumed) => 1 - consumed);
  const burnRates: WindowBurn[] = slo.burnWindows.map((window) => {
    const { reading, query } = measured.get(window)!;
    return {
      window,
      windowMs: parseDuration(window),
      errorRatio: reading,
      burnRate: burnRate(reading, slo.errorBudget),
      query,
    };
  });
  const state = burnState(new Map(burnRates.map((burn) => [burn.window, burn.burnRate])), slo.alerting.rules);
  const exhaustion = EXHAUSTION_WINDOWS.map((window) => {
    const burn = burnRates.find((candidate) => candidate.window === window)?.burnRate ?? {
      kind: 'no_data' as const,
      query: window,
    };
    return timeToExhaustion(budgetRemaining, burn, window, slo.windowMs);
  });
  return {
    slo,
    at,
    source,
    errorRatio: errorRatioOverWindow,
    sli: mapReading(errorRatioOverWindow, (ratio) => 1 - ratio),
    budgetConsumed,
    budgetRemaining,
    windowQuery: period.query,
    burnRates,
    state: state.state,
    stateReason: state.reason,
    exhaustion,
  };
}

/**
 * Worst first: unknown answers (a broken SLO hides a real one), then least budget left, then
 * no traffic; ties by name.
 *
 * @example
 * evaluations.sort(worstFirst);
 */
export function worstFirst(a: SloEvaluation, b: SloEvaluation): number {
  const rank = (evaluation: SloEvaluation) => {
    const remaining = evaluation.budgetRemaining;
    if (remaining.kind === 'value') return remaining.value;
    return remaining.kind === 'no_traffic' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  };
  return rank(a) - rank(b) || a.slo.id.localeCompare(b.slo.id);
}
