// The budget chart: a vega-lite spec rendered to SVG by vega (no browser, no canvas), then to PNG by
// resvg with a font file from disk; and a one-line sparkline for terminals.
import { existsSync } from 'node:fs';
import { importExternal } from '../core/external.js';
import { formatBurn } from './burn-rate.js';
import type { SloEvaluation } from './evaluate.js';
import type { BudgetHistory } from './history.js';
import { sloLabel, windowAdjective } from './spec.js';

/** Fonts tried in order; `fonts-dejavu-core` (CI installs it) provides the first. */
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];
const FONT_FAMILY = 'DejaVu Sans';

/**
 * The font files on this machine that charts will use; empty means charts render without text.
 *
 * @example
 * if (availableChartFonts().length === 0) logger.warn('install fonts-dejavu-core for chart text');
 */
export function availableChartFonts(candidates: readonly string[] = FONT_FILES): string[] {
  return candidates.filter((file) => existsSync(file));
}

export interface ChartOptions {
  /** Font files to use instead of the system ones (for machines without fonts-dejavu-core). */
  fontFiles?: string[];
  width?: number;
}

/**
 * The vega-lite spec of the chart: budget left over the window, and the burn rate per step.
 *
 * @example
 * const spec = budgetChartSpec(evaluation, history);
 */
export function budgetChartSpec(evaluation: SloEvaluation, history: BudgetHistory, width = 640) {
  const { slo } = evaluation;
  const step =
    history.stepMs >= 3_600_000
      ? `${Math.round(history.stepMs / 3_600_000)}h`
      : `${history.stepMs / 60_000}m`;
  const values = history.points.map((point) => ({
    t: point.at.toISOString(),
    remaining: Number((point.remaining * 100).toFixed(3)),
    burn: point.burnRate === undefined ? null : Number(point.burnRate.toFixed(3)),
  }));
  const burnNow = evaluation.burnRates
    .filter((burn) => ['5m', '1h', '6h', '3d'].includes(burn.window))
    .map((burn) => `${burn.window} ${formatBurn(burn.burnRate)}`)
    .join('  ·  ');
  const x = { field: 't', type: 'temporal', title: null, scale: { type: 'utc' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // Short lines: vega sizes the canvas by an estimate of text width that runs long.
    title: {
      text: `${sloLabel(slo)}: budget left, ${windowAdjective(slo.windowMs)} window`,
      subtitle: [`objective ${slo.objective}%  ·  state ${evaluation.state}`, `burn now  ${burnNow}`],
      anchor: 'start',
    },
    data: { values },
    config: {
      font: FONT_FAMILY,
      background: 'white',
      view: { stroke: null },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb' },
    },
    vconcat: [
      {
        width,
        height: 220,
        layer: [
          {
            mark: { type: 'area', line: { color: '#2563eb' }, color: '#bfdbfe', opacity: 0.7 },
            encoding: {
              x,
              y: {
                field: 'remaining',
                type: 'quantitative',
                title: 'budget left (%)',
                scale: { domainMax: 100 },
              },
            },
          },
          {
            data: { values: [{ zero: 0 }] },
            mark: { type: 'rule', color: '#dc2626', strokeDash: [4, 4] },
            encoding: { y: { field: 'zero', type: 'quantitative' } },
          },
        ],
      },
      {
        width,
        height: 120,
        layer: [
          {
            mark: { type: 'line', color: '#ea580c', interpolate: 'step-before' },
            encoding: {
              x,
              y: { field: 'burn', type: 'quantitative', title: `burn rate per ${step}` },
            },
          },
          {
            data: { values: [{ one: 1 }] },
            mark: { type: 'rule', color: '#6b7280', strokeDash: [2, 3] },
            encoding: { y: { field: 'one', type: 'quantitative' } },
          },
        ],
      },
    ],
  };
}

type Renderers = {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
  Resvg: typeof import('@resvg/resvg-js').Resvg;
};
let renderers: Promise<Renderers> | undefined;

function loadRenderers(): Promise<Renderers> {
  renderers ??= (async () => {
    // Loaded from node_modules at run time, never bundled: vega uses top-level await, resvg is a
    // native addon.
    const vega = await importExternal<typeof import('vega')>('vega');
    const vegaLite = await importExternal<typeof import('vega-lite')>('vega-lite');
    const { Resvg } = await importExternal<typeof import('@resvg/resvg-js')>('@resvg/resvg-js');
    return { vega, vegaLite, Resvg };
  })();
  return renderers;
}

/**
 * Renders the chart to PNG bytes.
 *
 * @example
 * await writeFile('budget.png', await renderBudgetChart(evaluation, history));
 */
export function renderBudgetChart(
  evaluation: SloEvaluation,
  history: BudgetHistory,
  options: ChartOptions = {},
): Promise<Buffer> {
  return renderVegaLite(budgetChartSpec(evaluation, history, options.width), options);
}

/**
 * Renders any vega-lite spec to PNG bytes the way the budget chart is drawn: vega to SVG, resvg to
 * PNG with the chart fonts found on disk.
 *
 * @example
 * await writeFile('canary.png', await renderVegaLite(spec));
 */
export async function renderVegaLite(spec: object, options: ChartOptions = {}): Promise<Buffer> {
  // Loaded on first use, one after the other: vega is large, most commands never draw, and the
  // packages share modules that concurrent first imports can race on (jest's ESM loader does).
  const { vega, vegaLite, Resvg } = await loadRenderers();
  // Warnings go nowhere: the shell's stdout carries replies only.
  const quiet = {
    level: () => quiet,
    error: () => quiet,
    warn: () => quiet,
    info: () => quiet,
    debug: () => quiet,
  };
  const compiled = vegaLite.compile(spec as never, { logger: quiet as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const fontFiles = availableChartFonts(options.fontFiles ?? FONT_FILES);
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      fontFiles,
      loadSystemFonts: fontFiles.length === 0,
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}

/** The font family every chart's spec names. */
export const CHART_FONT_FAMILY = FONT_FAMILY;

const BARS = '▁▂▃▄▅▆▇█';

/**
 * A one-line sparkline of budget left, scaled from 0% (or the lowest point) to 100%.
 *
 * @example
 * sparkline([1, 0.9, 0.75, 0.5]) // '█▇▆▄'
 */
export function sparkline(values: readonly number[], width = 30): string {
  if (values.length === 0) return '';
  const sampled =
    values.length <= width
      ? values
      : Array.from({ length: width }, (_, i) => values[Math.round((i * (values.length - 1)) / (width - 1))]!);
  const low = Math.min(0, ...sampled);
  const high = Math.max(1, ...sampled);
  return sampled
    .map(
      (value) =>
        BARS[
          Math.min(
            BARS.length - 1,
            Math.max(0, Math.round(((value - low) / (high - low)) * (BARS.length - 1))),
          )
        ],
    )
    .join('');
}
