// What each track of a release served over an analysis interval: bad and total events per SLO of the
// service, read from Prometheus with the track label added to every selector of the SLO's queries.
import type { PrometheusClient, Slo } from '../slo/index.js';
import { promDuration, renderQuery } from '../slo/spec.js';
import type { EventCounts, SliSample } from './analysis.js';

/** The pod label that tells the tracks apart, and its value on each. */
export interface TrackLabels {
  label: string;
  canary: string;
  stable: string;
}

export const DEFAULT_TRACKS: TrackLabels = { label: 'track', canary: 'canary', stable: 'stable' };

/**
 * Bad and total events of each track for every SLO over the `intervalMs` before `at`. A query with
 * no series counts 0 (no errors, or no traffic, which the verdict then calls too little to judge); a
 * Prometheus that fails or refuses a query throws, so a step is never judged on missing numbers.
 *
 * @example
 * const samples = await readTrackSamples(slos, prometheus, { at, intervalMs: 300_000, tracks: DEFAULT_TRACKS });
 * judgeStep(samples, policy, { waited });
 */
export async function readTrackSamples(
  slos: readonly Slo[],
  prometheus: Pick<PrometheusClient, 'query'>,
  options: { at: Date; intervalMs: number; tracks: TrackLabels; signal?: AbortSignal },
): Promise<SliSample[]> {
  const { at, intervalMs, tracks, signal } = options;
  if (!(intervalMs >= 60_000)) throw new RangeError('the analysis interval must be at least 1m');
  // The PromQL tools load with the first analysis, not with every start that reads the release config.
  const { withLabel } = await import('../slo/promql.js');
  const window = promDuration(intervalMs);
  const seconds = intervalMs / 1000;
  // rate() over the interval times its length: the events in it (Prometheus's increase()).
  const events = async (template: string, value: string) => {
    const query = `sum(${renderQuery(withLabel(template, tracks.label, value), window)}) * ${seconds}`;
    const [sample] = await prometheus.query(query, at, signal);
    return sample && Number.isFinite(sample.value) ? Math.max(0, Math.round(sample.value)) : 0;
  };
  const counts = async (slo: Slo, value: string): Promise<EventCounts> => {
    const [bad, total] = await Promise.all([events(slo.errorQuery, value), events(slo.totalQuery, value)]);
    // Bad and total come from two queries; rounding must not make a proportion over 1.
    return { bad: Math.min(bad, total), total };
  };
  return Promise.all(
    slos.map(async (slo) => {
      const [canary, stable] = await Promise.all([counts(slo, tracks.canary), counts(slo, tracks.stable)]);
      return { sli: slo.id, errorBudget: slo.errorBudget, canary, stable };
    }),
  );
}
