// SLO specs without Prometheus: validation with positions, Sloth and OpenSLO conversion and what they
// refuse, the burn-state table, time to exhaustion, and SLOs in millwright.yml.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/core/index.js';
import { buildRuntime } from '../../src/main.js';
import {
  type BurnRule,
  burnState,
  canonicalWindow,
  DEFAULT_BURN_RULES,
  formatSloProblem,
  lintSlos,
  loadSloFile,
  normalizeSlo,
  parseSloFile,
  type Reading,
  sloSpecSchema,
  sparkline,
  timeToExhaustion,
} from '../../src/slo/index.js';
import { startTestBot, TEST_ACCESS } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'slo');
const v = (value: number): Reading => ({ kind: 'value', value });
const noTraffic: Reading = { kind: 'no_traffic', query: 'q' };
const unknown: Reading = {
  kind: 'unknown',
  query: 'q',
  code: 'millwright_prometheus_unavailable',
  message: 'down',
};

const events = {
  errorQuery: 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
  totalQuery: 'sum(rate(http_requests_total[{{window}}]))',
};

describe('the native spec', () => {
  it('turns the objective into an exact budget and reports every burn window, shortest first', () => {
    const slo = normalizeSlo(
      sloSpecSchema.parse({
        service: 'checkout',
        name: 'availability',
        objective: 99.95,
        window: '4w',
        sli: { events },
        alerting: { windows: [{ severity: 'page', long: '12h', short: '60m', factor: 3 }] },
      }),
      { format: 'native' },
    );
    expect(slo).toMatchObject({
      id: 'checkout-availability',
      errorBudget: 0.0005,
      window: '28d',
      windowMs: 28 * 86_400_000,
    });
    expect(slo.burnWindows).toEqual(['5m', '30m', '1h', '2h', '6h', '12h', '1d', '3d']);
    expect(slo.alerting.rules).toEqual([{ severity: 'page', long: '12h', short: '1h', factor: 3 }]);
    expect(slo.alerting.name).toBe('CheckoutAvailabilitySLO');
    expect(canonicalWindow('2w')).toBe('14d');
  });

  it('a good-events SLI becomes bad = total − good, so a missing series stays missing', () => {
    const slo = normalizeSlo(
      sloSpecSchema.parse({
        service: 'search',
        name: 'availability',
        objective: 99,
        sli: { events: { goodQuery: 'sum(rate(ok[{{window}}]))', totalQuery: 'sum(rate(all[{{window}}]))' } },
      }),
      { format: 'native' },
    );
    expect(slo.errorQuery).toBe('((sum(rate(all[{{window}}]))) - (sum(rate(ok[{{window}}]))))');
    expect(slo.sliKind).toBe('good');
  });

  it('reports each problem in a file with its line, column and path, and a near miss for typos', async () => {
    const loaded = await loadSloFile(path.join(FIXTURES, 'invalid-native.yml'), 'invalid-native.yml');
    expect(loaded.slos).toEqual([]);
    expect(loaded.problems.map(formatSloProblem)).toEqual([
      'invalid-native.yml:4:16 slos[0].objective: an objective of 100% leaves no error budget: one failed request would exhaust it and burn rates divide by zero; use 99.99 or lower',
      'invalid-native.yml:7:21 slos[0].sli.events.errorQuery: must contain the {{window}} placeholder where the range goes, like rate(http_requests_total[{{window}}])',
      'invalid-native.yml:12:5 slos[1].windw: unknown key; did you mean "window"?',
    ]);
  });

  it('lint catches PromQL the grammar refuses and a burn factor the objective can never reach', () => {
    const { slos, problems } = parseSloFile(
      [
        'service: checkout',
        'slos:',
        '  - name: availability',
        '    objective: 90',
        '    sli:',
        '      events:',
        '        errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{window}}])',
        '        totalQuery: sum(rate(http_requests_total[{{window}}]))',
      ].join('\n'),
      'checkout.yml',
    );
    expect(problems).toEqual([]);
    expect(lintSlos(slos).map(formatSloProblem)).toEqual([
      'checkout.yml: checkout/availability: errorQuery: syntax error: the query ends too early (an unclosed bracket or missing operand?)',
      'checkout.yml: checkout/availability: a burn-rate factor of 14.4× on a 90% objective needs an error ratio above 100%; lower the factor or the objective',
    ]);
  });

  it('SLOs in millwright.yml are checked when the config loads, with the config file position', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slo-config-'));
    try {
      const file = path.join(dir, 'millwright.yml');
      await writeFile(
        file,
        `slos:\n  - service: checkout\n    name: availability\n    objective: 100\n    sli:\n      events:\n        errorQuery: x[{{window}}]\n        totalQuery: y[{{window}}]\n`,
      );
      await expect(loadConfig(file, { env: {}, cwd: dir })).rejects.toMatchObject({
        code: 'millwright_config_invalid',
        message: expect.stringMatching(
          /^millwright\.yml:4:16 slos\[0\]\.objective: an objective of 100% leaves no error budget/,
        ),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SLOs from the config and from slo.dir together', () => {
  const inline = `slos:\n  - service: checkout\n    name: errors\n    objective: 99\n    sli:\n      events:\n        errorQuery: e[{{window}}]\n        totalQuery: t[{{window}}]\n`;

  it('the service lists both, and a service finds all its SLOs', async () => {
    const bot = await startTestBot({
      config: `prometheus:\n  url: http://127.0.0.1:1\nslo:\n  dir: ${path.join(FIXTURES, 'scenarios')}\n${inline}${TEST_ACCESS}`,
    });
    try {
      const service = bot.runtime.services.slo!;
      expect(service.find('checkout').map((slo) => slo.name)).toEqual(['availability', 'errors', 'latency']);
      expect(service.find('checkout/latency').map((slo) => slo.id)).toEqual(['checkout-latency']);
      expect(service.find('availability')).toHaveLength(7);
      expect(service.list()).toHaveLength(9);
    } finally {
      await bot.close();
    }
  });

  it('the same SLO twice refuses to start, naming both places', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slo-duplicate-'));
    try {
      const file = path.join(dir, 'millwright.yml');
      const duplicate = inline.replace('name: errors', 'name: availability');
      await writeFile(
        file,
        `store:\n  path: ./data\nprometheus:\n  url: http://127.0.0.1:1\nslo:\n  dir: ${path.join(FIXTURES, 'scenarios')}\n${duplicate}`,
      );
      const loaded = await loadConfig(file, { env: {} });
      await expect(buildRuntime(loaded, { logger: silentLogger() })).rejects.toMatchObject({
        code: 'millwright_slo_invalid',
        message: expect.stringMatching(
          /SLO checkout\/availability is defined twice \(also in .*millwright\.yml\)/,
        ),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('imports', () => {
  it('reads a Sloth PrometheusServiceLevel resource (camelCase) like the prometheus/v1 file', () => {
    const { slos, problems } = parseSloFile(
      [
        'apiVersion: sloth.slok.dev/v1',
        'kind: PrometheusServiceLevel',
        'metadata: { name: checkout }',
        'spec:',
        '  service: checkout',
        '  slos:',
        '    - name: availability',
        '      objective: 99.9',
        '      sli:',
        '        events:',
        '          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
        '          totalQuery: sum(rate(http_requests_total[{{.window}}]))',
        '      alerting:',
        '        name: CheckoutAvailability',
        '        pageAlert: { labels: { severity: critical } }',
        '        ticketAlert: { disable: true }',
      ].join('\n'),
      'crd.yml',
    );
    expect(problems).toEqual([]);
    expect(slos[0]).toMatchObject({
      id: 'checkout-availability',
      errorQuery: 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
      alerting: {
        name: 'CheckoutAvailability',
        page: { labels: { severity: 'critical' } },
        ticket: { disable: true },
      },
      source: { format: 'sloth', file: 'crd.yml' },
    });
  });

  it('turns OpenSLO counter selectors into rates, and the target ratio into a percentage', async () => {
    const { slos } = await loadSloFile(path.join(FIXTURES, 'openslo-checkout.yml'));
    expect(slos[0]).toMatchObject({
      objective: 99.9,
      labels: { tier: '1' },
      description: 'Checkout requests that do not fail with a 5xx.',
      totalQuery: 'sum(rate(http_requests_total{service="checkout"}[{{window}}]))',
      errorQuery:
        '((sum(rate(http_requests_total{service="checkout"}[{{window}}]))) - (sum(rate(http_requests_total{service="checkout",code!~"5.."}[{{window}}]))))',
    });
  });

  it.each([
    [
      'sloth-raw.yml',
      'sloth-raw.yml:8:9 slos[0].sli.raw: Sloth raw SLIs (error_ratio_query) are not supported: a ratio alone cannot tell "no traffic" from "no errors"; rewrite it as events with error_query and total_query',
    ],
    [
      'openslo-timeslices.yml',
      'openslo-timeslices.yml:26:20 spec.budgetingMethod: budgetingMethod Timeslices is not supported; Millwright budgets by Occurrences (bad events ÷ all events)',
    ],
    [
      'openslo-datadog.yml',
      'openslo-datadog.yml:20:13 spec.indicator.spec.ratioMetric.total.metricSource: metric source type Datadog is not supported; Millwright reads Prometheus',
    ],
  ])('refuses %s with the reason and its place', async (file, message) => {
    const loaded = await loadSloFile(path.join(FIXTURES, 'unsupported', file), file);
    expect(loaded.slos).toEqual([]);
    expect(loaded.problems.map(formatSloProblem)).toEqual([message]);
  });

  it('refuses calendar windows, months and queries it cannot give a window', () => {
    const doc = (timeWindow: string, query = 'http_requests_total', counter = true) =>
      [
        'apiVersion: openslo/v1',
        'kind: SLO',
        'metadata: { name: availability }',
        'spec:',
        '  service: checkout',
        '  indicator:',
        '    metadata: { name: good }',
        '    spec:',
        '      ratioMetric:',
        `        counter: ${counter}`,
        `        good: { metricSource: { type: Prometheus, spec: { query: '${query}' } } }`,
        `        total: { metricSource: { type: Prometheus, spec: { query: '${query}' } } }`,
        `  timeWindow: [${timeWindow}]`,
        '  objectives: [{ target: 0.99 }]',
      ].join('\n');
    const message = (text: string) => parseSloFile(text, 'x.yml').problems.map((problem) => problem.message);
    expect(
      message(
        doc(
          '{ duration: 1w, isRolling: false, calendar: { startTime: "2022-01-01 12:00:00", timeZone: UTC } }',
        ),
      ),
    ).toEqual([
      'calendar-aligned time windows are not supported; Millwright evaluates rolling windows (isRolling: true)',
    ]);
    expect(message(doc('{ duration: 1M, isRolling: true }'))).toEqual([
      'the duration 1M has no fixed length in a rolling window; give it in days, like 30d or 28d',
    ]);
    expect(message(doc('{ duration: 28d, isRolling: true }', 'sum(rate(x[5m]))', false))).toEqual([
      'the query "sum(rate(x[5m]))" has no {{window}} placeholder and the ratioMetric is not a counter (counter: true); write it like sum(rate(http_requests_total[{{window}}]))',
    ]);
    expect(parseSloFile(doc('{ duration: 28d, isRolling: true }'), 'x.yml').slos[0]).toMatchObject({
      window: '28d',
      objective: 99,
    });
  });
});

describe('the burn state (SRE Workbook table 5-8)', () => {
  const rates = (values: Record<string, Reading>) => new Map(Object.entries(values));
  const steady = {
    '5m': v(0.5),
    '30m': v(0.5),
    '1h': v(0.5),
    '2h': v(0.5),
    '6h': v(0.5),
    '1d': v(0.5),
    '3d': v(0.5),
  };

  it.each<[string, Record<string, Reading>, string, RegExp]>([
    ['ok when nothing burns', steady, 'ok', /no burn-rate rule fires/],
    [
      'page on 1h and 5m above 14.4×',
      { ...steady, '1h': v(15), '5m': v(20) },
      'page',
      /1h 15× and 5m 20× both above 14\.4×/,
    ],
    [
      'not a page when only the long window burns',
      { ...steady, '1h': v(15), '5m': v(2) },
      'ok',
      /no burn-rate rule fires/,
    ],
    ['page on 6h and 30m above 6×', { ...steady, '6h': v(7), '30m': v(7) }, 'page', /6h 7× and 30m 7×/],
    ['ticket on 1d and 2h above 3×', { ...steady, '1d': v(3.5), '2h': v(4) }, 'ticket', /1d 3\.5× and 2h 4×/],
    [
      'ticket on 3d and 6h above 1×',
      { ...steady, '3d': v(1.2), '6h': v(1.1) },
      'ticket',
      /3d 1\.2× and 6h 1\.1×/,
    ],
    [
      'exactly at the factor is not above it',
      { ...steady, '1h': v(14.4), '5m': v(14.4) },
      'ok',
      /no burn-rate rule fires/,
    ],
    [
      'no traffic does not burn',
      { ...steady, '5m': noTraffic, '1h': v(20) },
      'ok',
      /no burn-rate rule fires/,
    ],
    [
      'an unknown window that could page is unknown',
      { ...steady, '5m': unknown, '1h': v(20) },
      'unknown',
      /cannot rule out page: no answer for the 5m window/,
    ],
    [
      'an unknown window beside a calm one is settled',
      { ...steady, '5m': unknown },
      'ok',
      /no burn-rate rule fires/,
    ],
    [
      'a page that fires needs no other window',
      { ...steady, '1h': v(20), '5m': v(20), '6h': unknown },
      'page',
      /1h 20×/,
    ],
  ])('%s', (_name, values, state, reason) => {
    const result = burnState(rates(values), DEFAULT_BURN_RULES);
    expect(result.state).toBe(state);
    expect(result.reason).toMatch(reason);
  });

  it('follows a custom table', () => {
    const rules: BurnRule[] = [{ severity: 'page', long: '12h', short: '1h', factor: 2 }];
    expect(burnState(rates({ '12h': v(2.5), '1h': v(3) }), rules).state).toBe('page');
  });
});

describe('time to exhaustion', () => {
  const month = 30 * 86_400_000;
  it.each<[string, Reading, Reading, string, number | undefined]>([
    ['half left at half the pace lasts the whole window', v(0.5), v(0.5), 'burning', month],
    ['a quarter left at 2× lasts an eighth of it', v(0.25), v(2), 'burning', month / 8],
    ['nothing left is exhausted', v(-0.1), v(3), 'exhausted', undefined],
    ['no burn never runs out', v(0.5), v(0), 'never', undefined],
    ['no traffic never runs out', v(0.5), noTraffic, 'never', undefined],
    ['an unknown rate is unknown', v(0.5), unknown, 'unknown', undefined],
    ['an unknown budget is unknown', unknown, v(1), 'unknown', undefined],
  ])('%s', (_name, remaining, burn, status, inMs) => {
    const result = timeToExhaustion(remaining, burn, '1h', month);
    expect(result.status).toBe(status);
    if (inMs === undefined) expect(result.inMs).toBeUndefined();
    else expect(result.inMs).toBeCloseTo(inMs, 3);
  });
});

describe('sparkline', () => {
  it('draws budget left from 0% to 100% in one line, at most the width asked for', () => {
    expect(sparkline([1, 0.875, 0.5, 0.25, 0])).toBe('█▇▅▃▁');
    expect(
      sparkline(
        Array.from({ length: 121 }, (_, i) => 1 - i / 120),
        30,
      ),
    ).toHaveLength(30);
    expect(sparkline([])).toBe('');
  });
});
