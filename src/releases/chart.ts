// The release chart: canary vs stable bad-event ratio at each judged step, per SLI, drawn with vega
// like the budget chart.
import { CHART_FONT_FAMILY, renderVegaLite } from '../slo/chart.js';
import type { ReleaseRecord } from './controller.js';

/** One bar of the chart: a track's ratio (in percent) for one SLI at one judged interval. */
export interface ReleaseChartPoint {
  /** `#2 at 25%`: which verdict, and the canary's share while it was judged. */
  step: string;
  sli: string;
  track: 'canary' | 'stable';
  percent: number;
}

/**
 * Every verdict with numbers, in order, as chart points; empty before the first verdict.
 *
 * @example
 * releaseChartPoints(release) // [{ step: '#1 at 5%', sli: 'checkout-availability', track: 'canary', percent: 0.52 }, ...]
 */
export function releaseChartPoints(release: ReleaseRecord): ReleaseChartPoint[] {
  const points: ReleaseChartPoint[] = [];
  let share: number | undefined;
  let judged = 0;
  for (const entry of release.history) {
    const slis = entry.verdict?.slis;
    if (slis?.length) {
      judged++;
      const step = `#${judged} at ${share ?? '?'}%`;
      for (const sli of slis) {
        points.push({ step, sli: sli.sli, track: 'canary', percent: round(sli.canaryRatio * 100) });
        points.push({ step, sli: sli.sli, track: 'stable', percent: round(sli.stableRatio * 100) });
      }
    }
    if (entry.share !== undefined) share = entry.share;
  }
  return points;
}

/** The vega-lite spec: grouped bars per judged step, one panel per SLI. */
export function releaseChartSpec(release: ReleaseRecord, points: readonly ReleaseChartPoint[]) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${release.id} ${release.service}: bad events per step, canary vs stable`,
      anchor: 'start',
    },
    data: { values: points },
    config: {
      font: CHART_FONT_FAMILY,
      background: 'white',
      view: { stroke: null },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb' },
    },
    mark: { type: 'bar' },
    encoding: {
      row: { field: 'sli', type: 'nominal', title: null },
      x: { field: 'step', type: 'ordinal', title: null, sort: null },
      xOffset: { field: 'track', type: 'nominal' },
      y: { field: 'percent', type: 'quantitative', title: 'bad (%)' },
      color: {
        field: 'track',
        type: 'nominal',
        scale: { domain: ['stable', 'canary'], range: ['#2563eb', '#ea580c'] },
        title: null,
      },
    },
    width: 360,
    height: 140,
  };
}

/**
 * The chart as a PNG `data:` URL, which the chat surfaces upload (Slack shows no other image it
 * cannot fetch), or undefined before any verdict.
 *
 * @example
 * const url = await releaseChart(release); // 'data:image/png;base64,...'
 */
export async function releaseChart(release: ReleaseRecord): Promise<string | undefined> {
  const points = releaseChartPoints(release);
  if (points.length === 0) return undefined;
  const png = await renderVegaLite(releaseChartSpec(release, points));
  return `data:image/png;base64,${png.toString('base64')}`;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
