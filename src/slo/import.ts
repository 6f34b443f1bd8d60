// Converts Sloth (`prometheus/v1`, and its `PrometheusServiceLevel` resource) and OpenSLO v1 `SLO`
// documents into native SLO specs, with a clear error for every form Millwright cannot evaluate.
import { isDuration } from '../core/duration.js';
import type { SloSpec } from './spec.js';

export type SloFormat = 'native' | 'sloth' | 'openslo';

/** A spec produced from a document, with where it came from inside the YAML. */
export interface ImportedSpec {
  spec: unknown;
  /** Path of the document node the spec came from, for error positions. */
  path: Array<string | number>;
  format: SloFormat;
}

/** Something in a document Millwright cannot use; `path` points into the YAML. */
export class ImportProblem extends Error {
  constructor(
    message: string,
    readonly path: Array<string | number>,
  ) {
    super(message);
    this.name = 'ImportProblem';
  }
}

type Doc = Record<string, unknown>;

const isObject = (value: unknown): value is Doc =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Which format a parsed YAML document is in; undefined when it is none Millwright knows. */
export function detectFormat(doc: unknown): SloFormat | 'openslo-other' | undefined {
  if (!isObject(doc)) return undefined;
  if (doc.version === 'prometheus/v1') return 'sloth';
  if (typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('sloth.slok.dev/')) return 'sloth';
  if (typeof doc.apiVersion === 'string' && /^openslo\//.test(doc.apiVersion)) {
    return doc.kind === 'SLO' ? 'openslo' : 'openslo-other';
  }
  if ('slos' in doc || 'sli' in doc || ('service' in doc && 'name' in doc)) return 'native';
  return undefined;
}

/** Sloth writes `{{.window}}`; Millwright's placeholder is `{{window}}`. */
function windowPlaceholder(query: unknown): unknown {
  return typeof query === 'string' ? query.replace(/\{\{\s*\.window\s*\}\}/g, '{{window}}') : query;
}

function pick(doc: Doc, snake: string, camel: string): unknown {
  return doc[snake] ?? doc[camel];
}

function slothAlert(alert: unknown): Doc | undefined {
  if (!isObject(alert)) return undefined;
  const { disable, labels, annotations } = alert;
  return {
    ...(disable !== undefined ? { disable } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/**
 * Native specs from a Sloth `prometheus/v1` spec (or a `PrometheusServiceLevel`, whose `spec` has
 * the same shape in camelCase). Sloth's period is 30 days unless its CLI was told otherwise.
 *
 * @example
 * importSloth(parse(readFileSync('sloth.yml', 'utf8')))[0].spec.sli.events.errorQuery
 */
export function importSloth(doc: Doc): ImportedSpec[] {
  const crd = typeof doc.apiVersion === 'string';
  if (crd && doc.kind !== 'PrometheusServiceLevel') {
    throw new ImportProblem(`Sloth kind ${String(doc.kind)} is not supported; use PrometheusServiceLevel`, [
      'kind',
    ]);
  }
  const body = crd ? doc.spec : doc;
  const base = crd ? ['spec'] : [];
  if (!isObject(body)) throw new ImportProblem('the Sloth resource has no spec', base);
  const { service, labels } = body;
  if (!Array.isArray(body.slos) || body.slos.length === 0) {
    throw new ImportProblem('the Sloth spec lists no slos', [...base, 'slos']);
  }
  return body.slos.map((item, index): ImportedSpec => {
    const path = [...base, 'slos', index];
    if (!isObject(item)) throw new ImportProblem('expected an SLO mapping', path);
    const sli = isObject(item.sli) ? item.sli : {};
    if (sli.raw !== undefined) {
      throw new ImportProblem(
        'Sloth raw SLIs (error_ratio_query) are not supported: a ratio alone cannot tell "no traffic" from "no errors"; rewrite it as events with error_query and total_query',
        [...path, 'sli', 'raw'],
      );
    }
    if (sli.plugin !== undefined) {
      throw new ImportProblem(
        'Sloth SLI plugins are not supported: Millwright needs the PromQL; rewrite it as events with error_query and total_query',
        [...path, 'sli', 'plugin'],
      );
    }
    if (!isObject(sli.events)) {
      throw new ImportProblem('the SLO has no sli.events (error_query and total_query)', [...path, 'sli']);
    }
    const alerting = isObject(item.alerting) ? item.alerting : {};
    const page = slothAlert(pick(alerting, 'page_alert', 'pageAlert'));
    const ticket = slothAlert(pick(alerting, 'ticket_alert', 'ticketAlert'));
    const spec = {
      service,
      name: item.name,
      objective: item.objective,
      window: '30d',
      ...(item.description !== undefined ? { description: item.description } : {}),
      labels: { ...(isObject(labels) ? labels : {}), ...(isObject(item.labels) ? item.labels : {}) },
      sli: {
        events: {
          errorQuery: windowPlaceholder(pick(sli.events, 'error_query', 'errorQuery')),
          totalQuery: windowPlaceholder(pick(sli.events, 'total_query', 'totalQuery')),
        },
      },
      alerting: {
        ...(alerting.name !== undefined ? { name: alerting.name } : {}),
        ...(alerting.labels !== undefined ? { labels: alerting.labels } : {}),
        ...(alerting.annotations !== undefined ? { annotations: alerting.annotations } : {}),
        ...(page ? { page } : {}),
        ...(ticket ? { ticket } : {}),
      },
    };
    return { spec, path, format: 'sloth' };
  });
}

const SELECTOR = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$/;

/** An OpenSLO query as a `{{window}}` template: kept when it has one, else a counter selector made a rate. */
function opensloQuery(query: string, counter: unknown, path: Array<string | number>): string {
  const trimmed = query.trim();
  if (/\{\{\s*\.?window\s*\}\}/.test(trimmed)) return windowPlaceholder(trimmed) as string;
  const inner = /^sum\s*\((.*)\)$/s.exec(trimmed)?.[1]?.trim() ?? trimmed;
  if (counter === true && SELECTOR.test(inner)) return `sum(rate(${inner}[{{window}}]))`;
  throw new ImportProblem(
    counter === true
      ? `the query "${trimmed}" has no {{window}} placeholder and is not a plain counter selector; write it like sum(rate(http_requests_total{code="200"}[{{window}}]))`
      : `the query "${trimmed}" has no {{window}} placeholder and the ratioMetric is not a counter (counter: true); write it like sum(rate(http_requests_total[{{window}}]))`,
    path,
  );
}

function metricQuery(
  metric: unknown,
  counter: unknown,
  path: Array<string | number>,
  dataSources: ReadonlyMap<string, Doc>,
): string {
  const source = isObject(metric) && isObject(metric.metricSource) ? metric.metricSource : undefined;
  if (!source) throw new ImportProblem('expected metricSource with a Prometheus query', path);
  let type = source.type;
  if (type === undefined && typeof source.metricSourceRef === 'string') {
    const referenced = dataSources.get(source.metricSourceRef);
    if (!referenced) {
      throw new ImportProblem(
        `metricSourceRef ${source.metricSourceRef} names no DataSource in this file; add it, or set metricSource.type: Prometheus`,
        [...path, 'metricSource', 'metricSourceRef'],
      );
    }
    type = isObject(referenced.spec) ? referenced.spec.type : undefined;
  }
  if (typeof type !== 'string' || type.toLowerCase() !== 'prometheus') {
    throw new ImportProblem(
      `metric source type ${String(type)} is not supported; Millwright reads Prometheus`,
      [...path, 'metricSource'],
    );
  }
  const spec = isObject(source.spec) ? source.spec : {};
  const query = spec.query ?? spec.promql;
  if (typeof query !== 'string' || query.trim() === '') {
    throw new ImportProblem('the Prometheus metric source has no spec.query', [
      ...path,
      'metricSource',
      'spec',
    ]);
  }
  return opensloQuery(query, counter, [...path, 'metricSource', 'spec', 'query']);
}

function opensloWindow(spec: Doc): string {
  const windows = spec.timeWindow;
  if (windows === undefined) return '30d';
  const first = Array.isArray(windows) ? windows[0] : windows;
  if (!isObject(first))
    throw new ImportProblem('expected timeWindow with a duration', ['spec', 'timeWindow']);
  if (first.isRolling === false || first.calendar !== undefined) {
    throw new ImportProblem(
      'calendar-aligned time windows are not supported; Millwright evaluates rolling windows (isRolling: true)',
      ['spec', 'timeWindow', 0],
    );
  }
  const duration = String(first.duration ?? '');
  if (/^\d+[MQY]$/.test(duration)) {
    throw new ImportProblem(
      `the duration ${duration} has no fixed length in a rolling window; give it in days, like 30d or 28d`,
      ['spec', 'timeWindow', 0, 'duration'],
    );
  }
  if (!isDuration(duration)) {
    throw new ImportProblem(`expected a duration like 28d or 4w, got "${duration}"`, [
      'spec',
      'timeWindow',
      0,
      'duration',
    ]);
  }
  return duration;
}

function opensloLabels(labels: unknown): Record<string, string> {
  if (!isObject(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels).map(([key, value]) => [
      key,
      Array.isArray(value) ? value.join(',') : String(value),
    ]),
  );
}

/**
 * A native spec from an OpenSLO v1 `SLO` whose indicator is a `ratioMetric` on Prometheus. `SLI` and
 * `DataSource` documents in the same file resolve `indicatorRef` and `metricSourceRef`.
 *
 * @example
 * importOpenSlo(sloDoc, { slis: new Map(), dataSources: new Map() }).spec.objective // 99.5 for target 0.995
 */
export function importOpenSlo(
  doc: Doc,
  refs: { slis: ReadonlyMap<string, Doc>; dataSources: ReadonlyMap<string, Doc> },
): ImportedSpec {
  if (doc.apiVersion !== 'openslo/v1') {
    throw new ImportProblem(`OpenSLO ${String(doc.apiVersion)} is not supported; convert it to openslo/v1`, [
      'apiVersion',
    ]);
  }
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const spec = isObject(doc.spec) ? doc.spec : {};
  const method = spec.budgetingMethod ?? 'Occurrences';
  if (method !== 'Occurrences') {
    throw new ImportProblem(
      `budgetingMethod ${String(method)} is not supported; Millwright budgets by Occurrences (bad events ÷ all events)`,
      ['spec', 'budgetingMethod'],
    );
  }
  let indicator: Doc | undefined;
  let indicatorPath: Array<string | number> = ['spec', 'indicator'];
  if (isObject(spec.indicator)) indicator = spec.indicator;
  else if (typeof spec.indicatorRef === 'string') {
    indicator = refs.slis.get(spec.indicatorRef);
    indicatorPath = ['spec', 'indicatorRef'];
    if (!indicator) {
      throw new ImportProblem(
        `indicatorRef ${spec.indicatorRef} names no SLI in this file; put the SLI document in the same file`,
        indicatorPath,
      );
    }
  }
  if (!indicator) throw new ImportProblem('the SLO has no indicator or indicatorRef', ['spec']);
  const ratio = isObject(indicator.spec) ? indicator.spec.ratioMetric : undefined;
  if (!isObject(ratio)) {
    throw new ImportProblem(
      'only ratioMetric indicators are supported (thresholdMetric has no event counts to budget)',
      indicator === spec.indicator ? [...indicatorPath, 'spec'] : indicatorPath,
    );
  }
  const ratioPath = indicator === spec.indicator ? [...indicatorPath, 'spec', 'ratioMetric'] : indicatorPath;
  if (ratio.total === undefined || (ratio.good === undefined) === (ratio.bad === undefined)) {
    throw new ImportProblem('ratioMetric needs total and exactly one of good or bad', ratioPath);
  }
  const total = metricQuery(ratio.total, ratio.counter, [...ratioPath, 'total'], refs.dataSources);
  const events =
    ratio.good !== undefined
      ? { goodQuery: metricQuery(ratio.good, ratio.counter, [...ratioPath, 'good'], refs.dataSources) }
      : { errorQuery: metricQuery(ratio.bad, ratio.counter, [...ratioPath, 'bad'], refs.dataSources) };
  const objectives = Array.isArray(spec.objectives) ? spec.objectives : [];
  if (objectives.length !== 1 || !isObject(objectives[0])) {
    throw new ImportProblem(
      `expected exactly one objective, found ${objectives.length}; split the others into their own SLO documents`,
      ['spec', 'objectives'],
    );
  }
  const objective = objectives[0];
  const percent =
    typeof objective.targetPercent === 'number'
      ? objective.targetPercent
      : typeof objective.target === 'number'
        ? Number((objective.target * 100).toPrecision(12))
        : undefined;
  if (percent === undefined) {
    throw new ImportProblem('the objective has no target (0-1) or targetPercent', ['spec', 'objectives', 0]);
  }
  const native: SloSpec = {
    service: String(spec.service ?? ''),
    name: String(metadata.name ?? ''),
    objective: percent,
    window: opensloWindow(spec),
    labels: opensloLabels(metadata.labels),
    sli: { events: { ...events, totalQuery: total } },
  };
  const description = spec.description ?? metadata.displayName;
  if (typeof description === 'string') native.description = description;
  return { spec: native, path: [], format: 'openslo' };
}
