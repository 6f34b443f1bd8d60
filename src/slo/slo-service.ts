// The error-budget service commands use (ctx.services.slo): the loaded SLOs, their evaluation at a
// given time, and the budget chart written under <store.path>/charts/.
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import type { UpstreamResilience } from '../core/resilience.js';
import { availableChartFonts, renderBudgetChart, sparkline } from './chart.js';
import { configuredSlos } from './configured-slos.js';
import { errorRatio, evaluateSlos, type SloEvaluation, worstFirst } from './evaluate.js';
import { type BudgetHistory, budgetHistory } from './history.js';
import { duplicateProblems, throwIfProblems } from './load.js';
import { PrometheusClient } from './prometheus-client.js';
import type { Reading } from './reading.js';
import { type BurnRule, renderQuery, type Slo } from './spec.js';

export interface SloServiceOptions {
  slos: readonly Slo[];
  prometheus: PrometheusClient;
  useRecordingRules?: boolean;
  /** Where chart PNGs are written (`<store.path>/charts`). */
  chartDir: string;
  clock: Clock;
  logger?: Logger;
  fontFiles?: string[];
  /** Charts kept on disk; older ones are removed. Default 50. */
  keepCharts?: number;
}

/** What the change gate reads about one SLO; undefined numbers mean unknown. */
export interface SloBudgetStatus {
  /** The SLO id, `checkout-availability`. */
  slo: string;
  remainingPercent?: number;
  burnState: 'ok' | 'ticket' | 'page' | 'unknown' | 'no-traffic';
  burnRate5m?: number;
  burnRate1h?: number;
  /** Events the SLI counted in the last 5 minutes, when Prometheus could say. */
  events5m?: number;
  /** Every window's burn rate that has a value, `{ '5m': 40, '1h': 20.8, ... }`. */
  burnRates?: Record<string, number>;
  /** The SLO's multiwindow rules (long and short window, factor), to explain a state with its pair. */
  burnRules?: readonly BurnRule[];
  /** Why a value is unknown (Prometheus down, no data), shown as evidence. */
  detail?: string;
  /** Set when Prometheus could not be asked (down, timeout, a query it refused): the numbers are missing, not zero. */
  unreadable?: { code: string; message: string };
}

/** A rendered budget chart on disk. */
export interface BudgetChart {
  file: string;
  /** `file://` URL for the Reply image block; adapters upload it. */
  url: string;
  /** One-line sparkline of budget left over the window. */
  sparkline: string;
  history: BudgetHistory;
}

/**
 * SLOs and their error budgets, evaluated against Prometheus.
 *
 * @example
 * const [checkout] = ctx.services.slo!.find('checkout');
 * const evaluation = await ctx.services.slo!.evaluate(checkout!, ctx.clock.now());
 */
export class SloService {
  readonly #options: SloServiceOptions;
  readonly prometheus: PrometheusClient;

  constructor(options: SloServiceOptions) {
    this.#options = options;
    this.prometheus = options.prometheus;
  }

  /** Whether `budget` reads recorded series (one query per window) instead of raw queries. */
  get usesRecordingRules(): boolean {
    return this.#options.useRecordingRules ?? false;
  }

  /** Every SLO, by service then name. */
  list(): readonly Slo[] {
    return [...this.#options.slos].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The SLOs of one service from the catalog's point of view (its name in each SLO). */
  forService(service: string): Slo[] {
    return this.list().filter((slo) => slo.service === service);
  }

  /**
   * The SLOs a person means by `term`: `service/name`, a service (all its SLOs), or an SLO name.
   *
   * @example
   * slo.find('checkout/availability'); slo.find('checkout'); slo.find('availability');
   */
  find(term: string): Slo[] {
    const wanted = term.trim().toLowerCase();
    const all = this.list();
    const exact = all.filter((slo) => `${slo.service}/${slo.name}` === wanted || slo.id === wanted);
    if (exact.length > 0) return exact;
    const byService = all.filter((slo) => slo.service === wanted);
    if (byService.length > 0) return byService;
    return all.filter((slo) => slo.name === wanted);
  }

  /** Evaluates one SLO at `at` (default now). Never throws for Prometheus failures: see `Reading`. */
  async evaluate(
    slo: Slo,
    at: Date = this.#options.clock.now(),
    signal?: AbortSignal,
  ): Promise<SloEvaluation> {
    const [evaluation] = await this.evaluateMany([slo], at, signal);
    return evaluation!;
  }

  /**
   * Evaluates several SLOs (default all) at one instant, worst budget first. With `checkHistory`
   * (an evaluation in the past), a window that starts before Prometheus's history of the SLI reads
   * unknown, with when the history begins.
   */
  async evaluateMany(
    slos: readonly Slo[] = this.list(),
    at: Date = this.#options.clock.now(),
    signal?: AbortSignal,
    options: { checkHistory?: boolean } = {},
  ): Promise<SloEvaluation[]> {
    const evaluations = await evaluateSlos(slos, at, {
      prometheus: this.prometheus,
      useRecordingRules: this.usesRecordingRules,
      ...(signal ? { signal } : {}),
      ...(options.checkHistory ? { historyUntil: this.#options.clock.now() } : {}),
    });
    return evaluations.sort(worstFirst);
  }

  /**
   * One line per SLO of `service` for the change gate: budget left, burn state and the 5m and 1h
   * burn rates, with undefined numbers (and a `detail`) where Prometheus gave no answer.
   *
   * @example
   * const [status] = await slo.statusFor('checkout', now); // { slo: 'checkout-availability', remainingPercent: 62.4, burnState: 'ok', ... }
   */
  async statusFor(service: string, at: Date, signal?: AbortSignal): Promise<SloBudgetStatus[]> {
    const slos = this.forService(service);
    const [evaluations, traffic] = await Promise.all([
      this.evaluateMany(slos, at, signal),
      Promise.all(slos.map(async (slo) => [slo.id, await this.eventsIn(slo, '5m', at, signal)] as const)),
    ]);
    const events5m = new Map(traffic);
    return evaluations.map((evaluation) => {
      const burn = (window: string) => {
        const reading = evaluation.burnRates.find((candidate) => candidate.window === window)?.burnRate;
        return reading?.kind === 'value' ? reading.value : undefined;
      };
      const remaining = evaluation.budgetRemaining;
      const unknown = [evaluation.errorRatio, ...evaluation.burnRates.map((b) => b.errorRatio)].find(
        (reading) => reading.kind === 'unknown' || reading.kind === 'no_data',
      );
      const burnRate5m = burn('5m');
      const burnRate1h = burn('1h');
      const burnRates = Object.fromEntries(
        evaluation.burnRates.flatMap((b) =>
          b.burnRate.kind === 'value' ? [[b.window, b.burnRate.value]] : [],
        ),
      );
      return {
        slo: evaluation.slo.id,
        ...(remaining.kind === 'value' ? { remainingPercent: remaining.value * 100 } : {}),
        burnState:
          evaluation.state === 'ok' && remaining.kind === 'no_traffic' ? 'no-traffic' : evaluation.state,
        ...(burnRate5m !== undefined ? { burnRate5m } : {}),
        ...(burnRate1h !== undefined ? { burnRate1h } : {}),
        burnRates,
        burnRules: evaluation.slo.alerting.rules,
        ...(events5m.get(evaluation.slo.id)?.kind === 'value'
          ? { events5m: (events5m.get(evaluation.slo.id) as { value: number }).value }
          : {}),
        ...(unknown?.kind === 'unknown'
          ? { unreadable: { code: unknown.code, message: unknown.message } }
          : {}),
        ...(unknown
          ? { detail: unknown.kind === 'unknown' ? unknown.message : `no data: ${unknown.query}` }
          : remaining.kind === 'no_traffic'
            ? { detail: `no traffic in the ${evaluation.slo.window} window` }
            : {}),
      };
    });
  }

  /**
   * How many events (requests) the SLI counted in the window ending at `at`: its total query, a
   * per-second rate, times the window. Verification ignores a burn rate measured on too few.
   */
  eventsIn(slo: Slo, window: string, at: Date, signal?: AbortSignal): Promise<Reading> {
    const seconds = parseDuration(window) / 1000;
    return this.prometheus.reading(`sum(${renderQuery(slo.totalQuery, window)}) * ${seconds}`, at, signal);
  }

  /** The error ratio over any window ending at `at`, from the raw queries (baselines around a change). */
  errorRatio(slo: Slo, window: string, at: Date, signal?: AbortSignal): Promise<Reading> {
    parseDuration(window); // a bad window is the caller's mistake: throw it, not an `unknown` reading
    return errorRatio(slo, window, at, { prometheus: this.prometheus, ...(signal ? { signal } : {}) });
  }

  /** Budget left across the window ending at `at`. */
  history(slo: Slo, at: Date, signal?: AbortSignal): Promise<BudgetHistory> {
    return budgetHistory(slo, at, { prometheus: this.prometheus, ...(signal ? { signal } : {}) });
  }

  /**
   * Renders the budget chart for an evaluation to `<chartDir>/<slo id>-<time>.png`.
   *
   * @throws MillwrightError when Prometheus cannot answer the range queries.
   */
  async chart(evaluation: SloEvaluation, signal?: AbortSignal): Promise<BudgetChart> {
    const history = await this.history(evaluation.slo, evaluation.at, signal);
    const png = await renderBudgetChart(evaluation, history, {
      ...(this.#options.fontFiles ? { fontFiles: this.#options.fontFiles } : {}),
    });
    await mkdir(this.#options.chartDir, { recursive: true });
    const stamp = evaluation.at.toISOString().replace(/[:.]/g, '-');
    const file = path.join(this.#options.chartDir, `${evaluation.slo.id}-${stamp}.png`);
    await writeFile(file, png);
    await this.#prune();
    return {
      file,
      url: pathToFileURL(file).href,
      sparkline: sparkline(history.points.map((point) => point.remaining)),
      history,
    };
  }

  async #prune(): Promise<void> {
    const keep = this.#options.keepCharts ?? 50;
    const dir = this.#options.chartDir;
    const names = (await readdir(dir)).filter((name) => name.endsWith('.png'));
    if (names.length <= keep) return;
    const files = await Promise.all(
      names.map(async (name) => ({ name, written: (await stat(path.join(dir, name))).mtimeMs })),
    );
    files.sort((a, b) => a.written - b.written);
    await Promise.all(
      files.slice(0, files.length - keep).map((file) => rm(path.join(dir, file.name), { force: true })),
    );
  }
}

/**
 * Builds the service from a loaded config: SLOs from `slos:` and from the files in `slo.dir`, a
 * Prometheus client with the configured auth. Only called when `prometheus` is configured.
 *
 * @throws MillwrightError `millwright_slo_invalid` listing every problem in the SLO files.
 * @example
 * const slo = await createSloService(loaded, { clock, logger });
 */
export async function createSloService(
  loaded: Pick<LoadedConfig, 'path' | 'config'>,
  options: { clock: Clock; logger: Logger; fetch?: typeof fetch; resilience?: UpstreamResilience },
): Promise<SloService> {
  const { config } = loaded;
  const prometheusConfig = config.prometheus;
  if (!prometheusConfig) throw new Error('createSloService needs prometheus configured');
  const { slos, problems } = await configuredSlos(loaded, { cwd: path.dirname(loaded.path) });
  throwIfProblems([...problems, ...duplicateProblems(slos)]);
  const prometheus = new PrometheusClient({
    url: prometheusConfig.url,
    bearerToken: prometheusConfig.bearerToken,
    basicAuth: prometheusConfig.basicAuth,
    timeoutMs: parseDuration(prometheusConfig.timeout),
    concurrency: prometheusConfig.concurrency,
    logger: options.logger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.resilience ? { resilience: options.resilience } : {}),
  });
  if (availableChartFonts().length === 0) {
    options.logger.warn(
      'no font file found for budget charts: they will have no text; install fonts-dejavu-core',
    );
  }
  return new SloService({
    slos,
    prometheus,
    useRecordingRules: config.slo.useRecordingRules,
    chartDir: path.join(config.store.path, 'charts'),
    clock: options.clock,
    logger: options.logger,
  });
}
