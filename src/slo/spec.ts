// The native SLO format (config `slos:` and `slos/*.yml`) and the normalised `Slo` every other part
// of src/slo works with. Imports only zod and core helpers, so src/config can use the schema.
import { z } from 'zod';
import { formatDuration, isDuration, parseDuration } from '../core/duration.js';
import { lazySchema } from '../core/index.js';

/** Burn-rate windows every evaluation reports (Google SRE Workbook, "Alerting on SLOs"). */
export const DEFAULT_BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

/** One multiwindow, multi-burn-rate condition: both windows burn faster than `factor`. */
export interface BurnRule {
  severity: 'page' | 'ticket';
  long: string;
  short: string;
  factor: number;
}

/** The Workbook's table 5-8: 2% of a 30-day budget in 1h, 5% in 6h (page); 10% in 1d, 10% in 3d (ticket). */
export const DEFAULT_BURN_RULES: readonly BurnRule[] = [
  { severity: 'page', long: '1h', short: '5m', factor: 14.4 },
  { severity: 'page', long: '6h', short: '30m', factor: 6 },
  { severity: 'ticket', long: '1d', short: '2h', factor: 3 },
  { severity: 'ticket', long: '3d', short: '6h', factor: 1 },
];

const NAME = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const ALERT_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** `{{window}}` as Millwright writes it, and `{{.window}}` as Sloth does. */
export const WINDOW_PLACEHOLDER = /\{\{\s*\.?window\s*\}\}/g;

// Built on first use: a start that reads no SLO needs none of it.
function buildSloSpecSchema() {
  const text = z.string().trim().min(1, { error: 'must not be empty' });
  const name = z
    .string()
    .regex(NAME, { error: 'expected lowercase letters, digits, - or _ (like checkout or api-availability)' });
  const window = z
    .string()
    .refine(isDuration, { error: 'expected a duration like 5m, 6h, 28d or 30d' })
    .refine((value) => !isDuration(value) || parseDuration(value) >= 60_000, {
      error: 'must be at least 1m (Prometheus needs two samples in a window)',
    });
  // Interpolated values arrive as strings, so numbers also accept their string form.
  const number = z.preprocess(
    (value) =>
      typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))
        ? Number(value)
        : value,
    z.number(),
  );
  const labels = z
    .record(
      z.string().regex(LABEL, { error: 'label names are letters, digits and _, not starting with a digit' }),
      z.string(),
    )
    .refine(
      (value) => Object.keys(value).every((key) => !key.startsWith('__') && !key.startsWith('sloth_')),
      {
        error: 'label names starting with __ or sloth_ are reserved',
      },
    )
    .default(() => ({}));

  const query = text.refine((value) => /\{\{\s*\.?window\s*\}\}/.test(value), {
    error:
      'must contain the {{window}} placeholder where the range goes, like rate(http_requests_total[{{window}}])',
  });

  const eventsSli = z
    .strictObject({
      errorQuery: query.optional(),
      goodQuery: query.optional(),
      totalQuery: query,
    })
    .superRefine((value, ctx) => {
      if ((value.errorQuery === undefined) === (value.goodQuery === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'give exactly one of errorQuery (bad events) or goodQuery (good events), with totalQuery',
        });
      }
    });

  const latencySli = z.strictObject({
    /** Histogram base name: `<metric>_bucket` and `<metric>_count` must exist. */
    metric: z.string().regex(METRIC, { error: 'expected a metric name like http_request_duration_seconds' }),
    /** Label matchers without braces: `job="checkout",route!="/healthz"`. */
    selector: z.string().optional(),
    /** Upper bound of the bucket that counts as fast (the `le` label), in the histogram's unit. */
    threshold: z.union([z.number().positive(), text]),
  });

  const sli = z
    .strictObject({ events: eventsSli.optional(), latency: latencySli.optional() })
    .superRefine((value, ctx) => {
      if ((value.events === undefined) === (value.latency === undefined)) {
        ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of events or latency' });
      }
    });

  const burnRule = z
    .strictObject({
      severity: z.enum(['page', 'ticket']),
      long: window,
      short: window,
      factor: number.pipe(z.number().positive({ error: 'expected a burn-rate factor above 0, like 14.4' })),
    })
    .superRefine((value, ctx) => {
      if (
        isDuration(value.long) &&
        isDuration(value.short) &&
        parseDuration(value.short) >= parseDuration(value.long)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['short'],
          message: 'the short window must be shorter than the long one',
        });
      }
    });

  const alertSeverity = z
    .strictObject({
      disable: z.boolean().default(false),
      labels: labels,
      annotations: z.record(z.string(), z.string()).default(() => ({})),
    })
    .prefault({});

  const alerting = z
    .strictObject({
      /** Alert name in the generated rules; defaults to the service and SLO in CamelCase. */
      name: z
        .string()
        .regex(ALERT_NAME, { error: 'expected an alert name like CheckoutAvailability' })
        .optional(),
      labels: labels,
      annotations: z.record(z.string(), z.string()).default(() => ({})),
      page: alertSeverity,
      ticket: alertSeverity,
      /** The multiwindow, multi-burn-rate table; the Workbook's by default. */
      windows: z.array(burnRule).min(1).optional(),
    })
    .prefault({});

  return z.strictObject({
    service: name,
    name: name,
    objective: number.pipe(
      z
        .number()
        .gt(0, { error: 'expected a percentage above 0, like 99.9' })
        .refine((value) => value < 100, {
          error:
            'an objective of 100% leaves no error budget: one failed request would exhaust it and burn rates divide by zero; use 99.99 or lower',
        }),
    ),
    window: window.default('30d'),
    description: z.string().optional(),
    labels: labels,
    sli: sli,
    alerting: alerting,
  });
}

/**
 * One SLO as written in `millwright.yml` (`slos:`) or in `slos/*.yml`.
 *
 * @example
 * sloSpecSchema.parse({ service: 'checkout', name: 'availability', objective: 99.9, window: '30d',
 *   sli: { events: { errorQuery: 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
 *                    totalQuery: 'sum(rate(http_requests_total[{{window}}]))' } } });
 */
export const sloSpecSchema = lazySchema(buildSloSpecSchema);

export type SloSpec = z.input<typeof sloSpecSchema>;
export type ParsedSloSpec = z.output<typeof sloSpecSchema>;

/** Where an SLO was defined, for lint messages and `budget --explain`. */
export interface SloSource {
  format: 'native' | 'sloth' | 'openslo' | 'config';
  file?: string;
  /** Where in the file: the YAML document (0-based) and the SLO's path in it, like `slos[2]`. */
  document?: number;
  path?: string;
}

/** An SLO ready to evaluate: queries normalised to error/total templates, budget as a ratio. */
export interface Slo {
  /** `<service>-<name>`; the `sloth_id` label of the recorded series. */
  id: string;
  service: string;
  name: string;
  /** Percentage, like 99.9. */
  objective: number;
  /** 1 − objective as a ratio (0.001 for 99.9%), rounded so 99.9 gives exactly 0.001. */
  errorBudget: number;
  /** The SLO window as written (`30d`) and in milliseconds. */
  window: string;
  windowMs: number;
  description?: string;
  labels: Record<string, string>;
  /** PromQL templates with `{{window}}`: bad events and all events. */
  errorQuery: string;
  totalQuery: string;
  /** What the SLO was written as (events with error or good query, or latency). */
  sliKind: 'errors' | 'good' | 'latency';
  alerting: {
    name: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    page: { disable: boolean; labels: Record<string, string>; annotations: Record<string, string> };
    ticket: { disable: boolean; labels: Record<string, string>; annotations: Record<string, string> };
    rules: BurnRule[];
  };
  /** Every window reported: the defaults plus any the alert table adds, shortest first. */
  burnWindows: string[];
  source: SloSource;
  /** The validated spec it was built from, for `slo import` to print. */
  spec: ParsedSloSpec;
}

/** Milliseconds to the Prometheus duration used in names and ranges: `5m`, `6h`, `30d`, `90s`. */
export function promDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}

/** Canonical form of a window (`2w` → `14d`, `60m` → `1h`), so `ratio_rate<window>` names agree. */
export function canonicalWindow(window: string): string {
  return promDuration(parseDuration(window));
}

/** Replaces every `{{window}}` (or Sloth's `{{.window}}`) in a query template. */
export function renderQuery(template: string, window: string): string {
  return template.replace(WINDOW_PLACEHOLDER, window);
}

function camel(value: string): string {
  return value
    .split(/[-_]/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function latencyQueries(latency: NonNullable<ParsedSloSpec['sli']['latency']>) {
  const matchers =
    latency.selector
      ?.trim()
      .replace(/^\{|\}$/g, '')
      .trim() ?? '';
  const le = typeof latency.threshold === 'number' ? String(latency.threshold) : latency.threshold;
  const withLe = [matchers, `le="${le}"`].filter(Boolean).join(',');
  const total = `sum(rate(${latency.metric}_count{${matchers}}[{{window}}]))`;
  const fast = `sum(rate(${latency.metric}_bucket{${withLe}}[{{window}}]))`;
  return { errorQuery: `(${total} - ${fast})`, totalQuery: total };
}

/**
 * Turns a validated spec into an `Slo`.
 *
 * @example
 * const slo = normalizeSlo(sloSpecSchema.parse(spec), { format: 'native', file: 'slos/checkout.yml' });
 * slo.errorBudget // 0.001 for objective 99.9
 */
export function normalizeSlo(spec: ParsedSloSpec, source: SloSource): Slo {
  const { events, latency } = spec.sli;
  let queries: { errorQuery: string; totalQuery: string; sliKind: Slo['sliKind'] };
  if (latency) {
    queries = { ...latencyQueries(latency), sliKind: 'latency' };
  } else if (events?.errorQuery) {
    queries = { errorQuery: events.errorQuery, totalQuery: events.totalQuery, sliKind: 'errors' };
  } else {
    // Bad events are all events minus good ones; the subtraction keeps "no data" when either is missing.
    queries = {
      errorQuery: `((${events!.totalQuery}) - (${events!.goodQuery}))`,
      totalQuery: events!.totalQuery,
      sliKind: 'good',
    };
  }
  const rules = (spec.alerting.windows ?? DEFAULT_BURN_RULES).map((rule) => ({
    ...rule,
    long: canonicalWindow(rule.long),
    short: canonicalWindow(rule.short),
  }));
  const windows = new Set<string>(DEFAULT_BURN_WINDOWS);
  for (const rule of rules) windows.add(rule.long).add(rule.short);
  const windowMs = parseDuration(spec.window);
  return {
    id: `${spec.service}-${spec.name}`,
    service: spec.service,
    name: spec.name,
    objective: spec.objective,
    errorBudget: Number(((100 - spec.objective) / 100).toPrecision(12)),
    window: promDuration(windowMs),
    windowMs,
    ...(spec.description ? { description: spec.description } : {}),
    labels: spec.labels,
    ...queries,
    alerting: {
      name: spec.alerting.name ?? `${camel(spec.service)}${camel(spec.name)}SLO`,
      labels: spec.alerting.labels,
      annotations: spec.alerting.annotations,
      page: spec.alerting.page,
      ticket: spec.alerting.ticket,
      rules,
    },
    burnWindows: [...windows].sort((a, b) => parseDuration(a) - parseDuration(b)),
    source,
    spec,
  };
}

/** `checkout/availability`, how people name an SLO in chat. */
export function sloLabel(slo: Pick<Slo, 'service' | 'name'>): string {
  return `${slo.service}/${slo.name}`;
}

/** `30-day` for a window of 30d, `6-hour` for 6h. */
export function windowAdjective(windowMs: number): string {
  const text = formatDuration(windowMs);
  const match = /^(\d+)([dhms])$/.exec(text);
  if (!match) return text;
  const unit = { d: 'day', h: 'hour', m: 'minute', s: 'second' }[match[2] as 'd' | 'h' | 'm' | 's'];
  return `${match[1]}-${unit}`;
}
