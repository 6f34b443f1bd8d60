// Error budgets against a real Prometheus with 30 days of backfilled traffic whose answers are known
// (test/slo/scenarios.ts): the numbers, the states, the `budget` command and the recorded-rule path.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { fixedClock } from '../../src/core/index.js';
import {
  availableChartFonts,
  DEFAULT_BURN_RULES,
  errorRatioQuery,
  evaluateSlo,
  evaluateSlos,
  loadSloFile,
  PrometheusClient,
  type Reading,
  recordedQuery,
  type Slo,
  type SloEvaluation,
  sloRulesYaml,
} from '../../src/slo/index.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { startTestBot, TEST_ACCESS, type TestBot } from '../helpers/runtime.js';
import { DAY, paymentsRatio, scenarioSeries, searchRatio, WINDOW_MINUTES } from './scenarios.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'slo');
const DAY_MS = 86_400_000;

let prometheus: RunningPrometheus;
let client: PrometheusClient;
let slos: Slo[];
let at: Date;
/** The first sample of the backfilled history: 30 days and 2 hours before `at`. */
let historyBegins: Date;

function numberIn(reading: Reading): number {
  if (reading.kind !== 'value') throw new Error(`expected a number, got ${JSON.stringify(reading)}`);
  return reading.value;
}

function slo(id: string): Slo {
  const found = slos.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no SLO ${id} in the fixture`);
  return found;
}

function burn(evaluation: SloEvaluation, window: string): Reading {
  return evaluation.burnRates.find((candidate) => candidate.window === window)!.burnRate;
}

beforeAll(async () => {
  const end = evaluationEnd();
  const { series, start } = scenarioSeries(end);
  prometheus = await startPrometheus({ series, start, end });
  at = prometheus.end;
  historyBegins = new Date(start * 1000);
  client = new PrometheusClient({ url: prometheus.url });
  const loaded = await loadSloFile(path.join(FIXTURES, 'scenarios', 'scenarios.yml'));
  expect(loaded.problems).toEqual([]);
  slos = loaded.slos;
}, 120_000);

afterAll(async () => {
  await prometheus?.close();
});

describe('the error-budget math against known answers', () => {
  it('a constant 0.05% error ratio on a 99.9% objective spends exactly half the 30-day budget', async () => {
    const evaluation = await evaluateSlo(slo('checkout-availability'), at, { prometheus: client });
    expect(numberIn(evaluation.errorRatio)).toBeCloseTo(0.0005, 10);
    expect(numberIn(evaluation.sli)).toBeCloseTo(0.9995, 10);
    expect(numberIn(evaluation.budgetConsumed)).toBeCloseTo(0.5, 6);
    expect(numberIn(evaluation.budgetRemaining)).toBeCloseTo(0.5, 6);
    for (const window of ['5m', '30m', '1h', '2h', '6h', '1d', '3d']) {
      expect(numberIn(burn(evaluation, window))).toBeCloseTo(0.5, 6);
    }
    expect(evaluation.state).toBe('ok');
    // Half the budget left at half the sustainable pace: 0.5 × 30 days ÷ 0.5 = 30 days.
    for (const exhaustion of evaluation.exhaustion) {
      expect(exhaustion.status).toBe('burning');
      expect(exhaustion.inMs! / DAY_MS).toBeCloseTo(30, 4);
    }
    expect(evaluation.at).toEqual(at);
  });

  it('a 20% error spike in the last 30 minutes puts payments in the page state', async () => {
    const evaluation = await evaluateSlo(slo('payments-availability'), at, { prometheus: client });
    for (const [window, minutes] of Object.entries(WINDOW_MINUTES)) {
      if (window === '30d') continue;
      expect(numberIn(burn(evaluation, window))).toBeCloseTo(paymentsRatio(minutes) / 0.001, 6);
    }
    expect(numberIn(burn(evaluation, '5m'))).toBeCloseTo(200, 6);
    expect(numberIn(burn(evaluation, '1h'))).toBeCloseTo(100.25, 6);
    expect(numberIn(burn(evaluation, '6h'))).toBeCloseTo(17.125, 6);
    const remaining = 1 - paymentsRatio(WINDOW_MINUTES['30d']!) / 0.001;
    expect(numberIn(evaluation.budgetRemaining)).toBeCloseTo(remaining, 6);
    expect(evaluation.state).toBe('page');
    expect(evaluation.stateReason).toMatch(/1h 100×? and 5m 200× both above 14\.4×/);
    // 36.1% of 30 days' budget at 100.25× lasts 0.3615 × 720 h ÷ 100.25 ≈ 2.6 h.
    const oneHour = evaluation.exhaustion.find((exhaustion) => exhaustion.window === '1h')!;
    expect(oneHour.inMs! / 3_600_000).toBeCloseTo((remaining * 720) / 100.25, 4);
    const sixHours = evaluation.exhaustion.find((exhaustion) => exhaustion.window === '6h')!;
    expect(sixHours.inMs! / 3_600_000).toBeCloseTo((remaining * 720) / 17.125, 4);
  });

  it('0.4% errors for a day (4×) is a ticket, not a page', async () => {
    const evaluation = await evaluateSlo(slo('search-availability'), at, { prometheus: client });
    expect(numberIn(burn(evaluation, '1h'))).toBeCloseTo(4, 6);
    expect(numberIn(burn(evaluation, '6h'))).toBeCloseTo(4, 6);
    expect(numberIn(burn(evaluation, '1d'))).toBeCloseTo(4, 6);
    expect(numberIn(burn(evaluation, '3d'))).toBeCloseTo(searchRatio(4320) / 0.001, 6);
    expect(numberIn(evaluation.budgetRemaining)).toBeCloseTo(1 - searchRatio(43_200) / 0.001, 6);
    expect(evaluation.state).toBe('ticket');
    expect(evaluation.stateReason).toMatch(/1d 4× and 2h 4× both above 3×/);
  });

  it('windows without traffic say "no traffic", never 100%, and do not burn', async () => {
    const batch = await evaluateSlo(slo('batch-availability'), at, { prometheus: client });
    for (const window of ['5m', '30m', '1h', '2h', '6h', '1d']) {
      expect(burn(batch, window).kind).toBe('no_traffic');
    }
    expect(numberIn(burn(batch, '3d'))).toBeCloseTo(0.5, 6);
    expect(numberIn(batch.budgetRemaining)).toBeCloseTo(0.5, 6);
    expect(batch.state).toBe('ok');
    expect(batch.exhaustion.map((exhaustion) => exhaustion.status)).toEqual(['never', 'never']);

    const idle = await evaluateSlo(slo('idle-availability'), at, { prometheus: client });
    expect(idle.budgetRemaining.kind).toBe('no_traffic');
    expect(idle.sli.kind).toBe('no_traffic');
    expect(idle.errorRatio).toEqual({ kind: 'no_traffic', query: idle.windowQuery });
  });

  it('a NaN ratio while requests were counted is unknown, never "no traffic" or ok', async () => {
    // The checkout SLO's queries, with an error query that yields NaN (a multiplication by NaN).
    const base = slo('checkout-availability');
    const broken: Slo = { ...base, id: 'checkout-nan', errorQuery: `(${base.errorQuery}) * NaN` };
    const evaluation = await evaluateSlo(broken, at, { prometheus: client });
    expect(evaluation.errorRatio).toMatchObject({
      kind: 'unknown',
      code: 'millwright_prometheus_query_error',
    });
    expect((evaluation.errorRatio as { message: string }).message).toMatch(
      /^the error ratio over 30d is NaN although the total counted [\d.e+]+ events per second/,
    );
    for (const window of ['5m', '1h', '6h']) expect(burn(evaluation, window).kind).toBe('unknown');
    expect(evaluation.state).not.toBe('ok');
  });

  it('a counter reset ten days ago changes nothing: rate() counts across the restart', async () => {
    const evaluation = await evaluateSlo(slo('ledger-availability'), at, { prometheus: client });
    expect(numberIn(evaluation.budgetRemaining)).toBeCloseTo(0.5, 6);
    expect(numberIn(burn(evaluation, '3d'))).toBeCloseTo(0.5, 6);
  });

  it('a latency SLI counts requests slower than the threshold bucket as bad', async () => {
    const evaluation = await evaluateSlo(slo('checkout-latency'), at, { prometheus: client });
    // 12 of 6000 requests a minute are slower than 300 ms: 0.2% against a 1% budget.
    expect(numberIn(evaluation.errorRatio)).toBeCloseTo(0.002, 10);
    expect(numberIn(evaluation.budgetRemaining)).toBeCloseTo(0.8, 6);
    expect(numberIn(burn(evaluation, '1h'))).toBeCloseTo(0.2, 6);
  });

  it('a missing series is "no data" with the query shown, and the state is unknown', async () => {
    const evaluation = await evaluateSlo(slo('inventory-availability'), at, { prometheus: client });
    expect(evaluation.budgetRemaining).toEqual({ kind: 'no_data', query: evaluation.windowQuery });
    expect(evaluation.windowQuery).toContain('inventory_requests_total');
    expect(evaluation.state).toBe('unknown');
    expect(evaluation.stateReason).toMatch(/cannot rule out page/);
    expect(evaluation.exhaustion.map((exhaustion) => exhaustion.status)).toEqual(['unknown', 'unknown']);
  });

  it('asks one query per window and SLO (and one total for a window that read 0/0), never more at once than the bound', async () => {
    let inFlight = 0;
    let most = 0;
    const counting = new PrometheusClient({
      url: prometheus.url,
      concurrency: 3,
      fetch: async (input, init) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          return await fetch(input, init);
        } finally {
          inFlight--;
        }
      },
    });
    const evaluations = await evaluateSlos(slos, at, { prometheus: counting });
    // A window without traffic is confirmed by its total: 0/0, not a query that yields NaN.
    const idleWindows = evaluations
      .flatMap((e) => [e.errorRatio, ...e.burnRates.map((b) => b.errorRatio)])
      .filter((reading) => reading.kind === 'no_traffic').length;
    expect(idleWindows).toBeGreaterThan(0);
    expect(counting.queryCount).toBe(slos.length * 8 + idleWindows);
    expect(most).toBe(3);
  });
});

describe('Sloth and OpenSLO imports give the same numbers as the native spec', () => {
  it.each([
    ['sloth-checkout.yml', 'sloth'],
    ['openslo-checkout.yml', 'openslo'],
  ])('%s', async (file, format) => {
    const loaded = await loadSloFile(path.join(FIXTURES, file));
    expect(loaded.problems).toEqual([]);
    expect(loaded.formats).toEqual([format]);
    const [imported] = loaded.slos;
    expect(imported).toMatchObject({
      id: 'checkout-availability',
      objective: 99.9,
      window: '30d',
      errorBudget: 0.001,
    });
    const [native, other] = await evaluateSlos([slo('checkout-availability'), imported!], at, {
      prometheus: client,
    });
    expect(numberIn(other!.budgetRemaining)).toBeCloseTo(numberIn(native!.budgetRemaining), 9);
    for (const window of native!.burnRates) {
      expect(numberIn(burn(other!, window.window))).toBeCloseTo(numberIn(window.burnRate), 9);
    }
    expect(other!.state).toBe(native!.state);
  });
});

describe('the budget command', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({
      clock: fixedClock(at),
      config: `prometheus:\n  url: ${prometheus.url}\nslo:\n  dir: ${path.join(FIXTURES, 'scenarios')}\n${TEST_ACCESS}`,
    });
  });
  afterAll(() => bot.close());

  it('lists every SLO, unknown and worst budget first, with state and time to exhaustion', async () => {
    const answer = await bot.run('budget');
    expect(answer.ok).toBe(true);
    const table = answer.blocks.find((block) => block.type === 'table');
    if (table?.type !== 'table') throw new Error('no table');
    expect(table.rows.map((row) => `${row[0]}/${row[1]}`)).toEqual([
      'inventory/availability',
      'payments/availability',
      'search/availability',
      'batch/availability',
      'checkout/availability',
      'ledger/availability',
      'checkout/latency',
      'idle/availability',
    ]);
    const payments = table.rows[1]!;
    expect(payments).toEqual([
      'payments',
      'availability',
      '99.9% / 30d',
      '99.9361%',
      '36.1%',
      '100×',
      'page',
      'in 2h35m (1h rate)',
    ]);
    expect(table.rows[0]!.slice(4, 7)).toEqual(['no data', 'no data', 'unknown']);
    expect(table.rows.at(-1)!.slice(3, 5)).toEqual(['no traffic', 'no traffic']);
    const first = answer.blocks[0];
    expect(first).toEqual({ type: 'text', text: expect.stringContaining('inventory/availability: no data') });
    expect(JSON.stringify(answer.blocks)).toContain('inventory_requests_total');
  });

  it('carries the raw numbers in data, valid against docs/schemas/budget.schema.json', async () => {
    const schemaFile = async (name: string) =>
      JSON.parse(
        await readFile(path.resolve(FIXTURES, `../../../docs/schemas/${name}.schema.json`), 'utf8'),
      ) as object;
    // The budget schema names its problems by the shared definition in reply.schema.json.
    const validate = new Ajv({ strict: false, allErrors: true })
      .addSchema(await schemaFile('reply'))
      .compile(await schemaFile('budget'));
    const answer = await bot.run('budget payments');
    expect(validate(answer.data)).toBe(true);
    expect(answer.data?.problems).toEqual([]);
    const [payments] = (answer.data as { slos: Array<Record<string, unknown>> }).slos;
    const expected = paymentsRatio(WINDOW_MINUTES['30d']!);
    expect(payments).toMatchObject({
      slo: 'payments/availability',
      objective: 99.9,
      window: '30d',
      state: 'page',
      evaluatedAt: at.toISOString(),
      budgetRemaining: { kind: 'value', value: expect.any(Number) },
    });
    // Raw fractions, not "36.1%": a script can compare them.
    const remaining = (payments!.budgetRemaining as { value: number }).value;
    expect(remaining).toBeCloseTo(1 - expected / 0.001, 9);
    expect((payments!.errorRatio as { value: number }).value).toBeCloseTo(expected, 9);
    const burns = payments!.burnRates as Array<{ window: string; burnRate: { value: number } }>;
    expect(burns.find((b) => b.window === '1h')?.burnRate.value).toBeCloseTo(
      paymentsRatio(WINDOW_MINUTES['1h']!) / 0.001,
      6,
    );
    const exhaustion = payments!.exhaustion as Array<{ status: string; inSeconds: number | null }>;
    expect(exhaustion[0]).toMatchObject({ status: 'burning', inSeconds: expect.any(Number) });
    expect(validate({ slos: [{ slo: 'x', budgetRemaining: '36.1%' }] })).toBe(false);
  });

  it('shows one SLO in detail with a PNG chart, and --explain adds the PromQL and evaluation time', async () => {
    const answer = await bot.run('budget payments/availability --explain');
    expect(answer.ok).toBe(true);
    const lead = answer.blocks.find((block) => block.type === 'text');
    expect(lead).toEqual({
      type: 'text',
      text: expect.stringContaining(
        'payments/availability: 36.1% of the 30-day error budget left, burning 100× (1h); page',
      ),
    });
    const image = answer.blocks.find((block) => block.type === 'image');
    if (image?.type !== 'image') throw new Error('no image block');
    expect(image.url).toMatch(/^file:\/\/.*\/data\/charts\/payments-availability-.*\.png$/);
    const png = await readFile(fileURLToPath(image.url));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(10_000);
    // Text needs a font file on disk (fonts-dejavu-core in CI); without one the chart has no labels.
    expect(availableChartFonts().length).toBeGreaterThan(0);
    expect(image.alt).toMatch(/^budget left over 30d: 100% [▁▂▃▄▅▆▇█]{30} 36\.1%$/);
    const explain = answer.blocks.filter((block) => block.type === 'text').at(-1);
    if (explain?.type !== 'text') throw new Error('no explain block');
    expect(explain.text).toContain(
      `evaluated at ${at.toISOString()} (time=${at.getTime() / 1000}) from raw SLI queries`,
    );
    expect(explain.text).toContain(
      '5m: (sum(sum(rate(http_requests_total{service="payments",code=~"5.."}[5m])))) / (sum(sum(rate(http_requests_total{service="payments"}[5m]))))',
    );
  });

  it('the chart ends where the evaluation does: the last point is the budget left now', async () => {
    const service = bot.runtime.services.slo!;
    const evaluation = await service.evaluate(slo('search-availability'), at);
    const history = await service.history(evaluation.slo, at);
    // The window starts full; 120 steps of 6 hours later it ends at the evaluation time.
    expect(history.points).toHaveLength(121);
    expect(history.points[0]).toEqual({
      at: new Date(at.getTime() - 30 * DAY_MS),
      remaining: 1,
      burnRate: undefined,
    });
    expect(history.points.at(-1)!.at).toEqual(at);
    expect(history.points.at(-1)!.remaining).toBeCloseTo(numberIn(evaluation.budgetRemaining), 6);
    // 0.05% a minute for 29 days spends 1/60 of the budget each day: 1 − 29 × 0.5 / 30 before the last day.
    const dayBefore = history.points.at(-5)!;
    expect(dayBefore.at).toEqual(new Date(at.getTime() - DAY_MS));
    expect(dayBefore.remaining).toBeCloseTo(1 - (29 * 0.5) / 30, 6);
    expect(history.points.at(-1)!.burnRate).toBeCloseTo(4, 6);
  });

  it('a service name shows each of its SLOs; a typo gets a suggestion', async () => {
    const answer = await bot.run('budget checkout');
    expect(
      answer.blocks
        .filter((block) => block.type === 'header')
        .map((block) => (block as { text: string }).text),
    ).toEqual(['checkout/availability', 'checkout/latency']);
    const typo = await bot.run('budget chekout');
    expect(typo.ok).toBe(false);
    expect(typo.error).toEqual({
      code: 'millwright_not_found',
      message: 'no SLO or service named "chekout"',
      hint: 'did you mean "checkout"? type budget for the list',
    });
  });

  it('at= evaluates at another time: an hour ago payments had not started paging', async () => {
    const answer = await bot.run(`budget payments at=${new Date(at.getTime() - 3_600_000).toISOString()}`);
    expect(answer.ok).toBe(true);
    expect(JSON.stringify(answer.blocks)).toContain(
      'payments/availability: 50% of the 30-day error budget left, burning 0.5× (1h); ok',
    );
  });

  it('at= whose 30-day window starts before the history says when the history begins, and is not ok', async () => {
    const twoDaysAgo = new Date(at.getTime() - 2 * DAY * 1000);
    const answer = await bot.run(`budget search at=${twoDaysAgo.toISOString()}`);
    const because = `Prometheus's history of this SLI begins at ${historyBegins.toISOString().replace('.000Z', 'Z')}, so a window that starts before then is not covered`;
    expect(JSON.stringify(answer.blocks)).toContain(`search/availability: budget unknown (${because})`);
    expect(JSON.stringify(answer.blocks)).not.toContain('no data');
    // Not a number over 28 of the 30 days: unknown, and the answer fails (exit 1 in --json).
    expect(answer).toMatchObject({
      ok: false,
      error: { code: 'millwright_history_not_covered', message: `search/availability (30d): ${because}` },
    });
    const [search] = (answer.data as { slos: Array<Record<string, unknown>> }).slos;
    expect(search).toMatchObject({
      evaluatedAt: twoDaysAgo.toISOString(),
      budgetRemaining: { kind: 'unknown', value: null },
      state: expect.any(String),
    });
    // The burn windows the history does cover keep their numbers: two days ago search burned 0.5×.
    const burns = search!.burnRates as Array<{ window: string; burnRate: { value: number | null } }>;
    expect(burns.find((b) => b.window === '1h')?.burnRate.value).toBeCloseTo(0.5, 6);
    expect(burns.find((b) => b.window === '1d')?.burnRate.value).toBeCloseTo(0.5, 6);
  });

  it('at= before any history: every window names when the history begins, never "missing series"', async () => {
    const longAgo = new Date(at.getTime() - 90 * DAY * 1000);
    const answer = await bot.run(`budget checkout/availability at=${longAgo.toISOString()}`);
    const text = JSON.stringify(answer.blocks);
    expect(text).toContain(
      `unknown for 30d, 5m, 30m, 1h, 2h, 6h, 1d, 3d: Prometheus's history of this SLI begins at ${historyBegins.toISOString().replace('.000Z', 'Z')}`,
    );
    expect(text).not.toMatch(/no data|missing/);
    expect(answer).toMatchObject({ ok: false, error: { code: 'millwright_history_not_covered' } });
  });

  it('at= in the future is refused in one line before Prometheus is asked anything', async () => {
    const prometheusClient = bot.runtime.services.slo!.prometheus;
    const asked = prometheusClient.queryCount;
    const nextYear = new Date(at.getTime() + 365 * DAY * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const answer = await bot.run(`budget payments at=${nextYear}`);
    expect(answer).toMatchObject({
      ok: false,
      error: {
        code: 'millwright_bad_argument',
        message: `at=${nextYear} is in the future; budgets can be evaluated up to now`,
      },
    });
    const list = await bot.run(`budget at=${new Date(at.getTime() + 10 * 60_000).toISOString()}`);
    expect(list.error?.message).toMatch(/is in the future; budgets can be evaluated up to now$/);
    expect(prometheusClient.queryCount).toBe(asked);
    // Half a minute ahead is a clock a little fast, not the future: evaluated as now.
    const skewed = await bot.run(
      `budget checkout/availability at=${new Date(at.getTime() + 30_000).toISOString()}`,
    );
    expect(skewed.ok).toBe(true);
  });

  it('the change gate reads each SLO of a service with undefined numbers where nothing is known', async () => {
    const service = bot.runtime.services.slo!;
    const [payments] = await service.statusFor('payments', at);
    expect(payments).toEqual({
      slo: 'payments-availability',
      remainingPercent: expect.closeTo((1 - paymentsRatio(43_200) / 0.001) * 100, 4),
      burnState: 'page',
      burnRate5m: expect.closeTo(200, 6),
      burnRate1h: expect.closeTo(100.25, 6),
      // Every window, with the rules that pair them, so the gate can show "1h … and 5m …".
      burnRates: expect.objectContaining({ '5m': expect.closeTo(200, 6), '6h': expect.closeTo(17.125, 6) }),
      burnRules: DEFAULT_BURN_RULES,
      // 6000 requests a minute, 5 minutes.
      events5m: expect.closeTo(30_000, 6),
    });
    expect(await service.statusFor('idle', at)).toEqual([
      {
        slo: 'idle-availability',
        burnState: 'no-traffic',
        detail: 'no traffic in the 30d window',
        burnRates: {},
        burnRules: DEFAULT_BURN_RULES,
        events5m: 0,
      },
    ]);
    const [inventory] = await service.statusFor('inventory', at);
    expect(inventory).toMatchObject({ burnState: 'unknown', detail: expect.stringContaining('no data') });
    expect(inventory!.remainingPercent).toBeUndefined();
  });
});

describe('budget when Prometheus refuses some windows', () => {
  it('names every window it could not read, not only the last one', async () => {
    // In front of Prometheus: queries over 5m and 30m windows get a 503; the rest pass through.
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString();
        if (/\[(5m|30m)\]/.test(decodeURIComponent(body.replace(/\+/g, ' ')))) {
          response.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
          return;
        }
        const upstream = await fetch(`${prometheus.url}${request.url}`, {
          method: request.method ?? 'GET',
          headers: { 'content-type': request.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
          ...(request.method === 'POST' ? { body } : {}),
        });
        response
          .writeHead(upstream.status, { 'content-type': 'application/json' })
          .end(await upstream.text());
      });
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const bot = await startTestBot({
      clock: fixedClock(at),
      config: `prometheus:\n  url: ${url}\nslo:\n  dir: ${path.join(FIXTURES, 'scenarios')}\n${TEST_ACCESS}`,
    });
    try {
      const answer = await bot.run('budget payments/availability --explain');
      const text = JSON.stringify(answer.blocks);
      expect(text).toContain(`unknown for 5m, 30m: Prometheus at ${url} is unavailable: HTTP 503`);
      // The other windows' numbers stand, but the answer is partial: a script sees a non-zero exit.
      expect(answer).toMatchObject({ ok: false, error: { code: 'millwright_prometheus_unavailable' } });
      expect(answer.data?.problems).toEqual([
        {
          part: 'payments/availability (5m, 30m)',
          code: 'millwright_prometheus_unavailable',
          message: `Prometheus at ${url} is unavailable: HTTP 503`,
        },
      ]);
    } finally {
      await bot.close();
      proxy.close();
      await once(proxy, 'close');
    }
  });
});

describe('budget without Prometheus configured', () => {
  it('says so in one line with the setting to add', async () => {
    const bot = await startTestBot();
    try {
      const answer = await bot.run('budget');
      expect(answer).toMatchObject({
        ok: false,
        error: {
          code: 'millwright_not_configured',
          message: 'budget needs Prometheus, which is not configured',
          hint: 'set prometheus.url in millwright.yml',
        },
      });
      expect(bot.runtime.services.slo).toBeUndefined();
    } finally {
      await bot.close();
    }
  });
});

// Last: it restarts Prometheus with the recorded series backfilled.
describe('with recording rules', () => {
  it('reads the rules `slo rules` writes: one query per window for every SLO, the same numbers', async () => {
    const backfilled = slos.filter((candidate) => candidate.id !== 'inventory-availability');
    await prometheus.backfillRules(sloRulesYaml(backfilled), {
      start: at.getTime() / 1000 - 15 * 60,
      end: at.getTime() / 1000,
    });
    const counting = new PrometheusClient({ url: prometheus.url });
    const recorded = await evaluateSlos(backfilled, at, { prometheus: counting, useRecordingRules: true });
    // 5m 30m 1h 2h 6h 1d 3d and 30d: eight windows, one query each, for all seven SLOs; plus, for
    // each window that read 0/0, its total, which tells no traffic from a query that yields NaN.
    const idleWindows = recorded
      .flatMap((e) => [e.errorRatio, ...e.burnRates.map((b) => b.errorRatio)])
      .filter((reading) => reading.kind === 'no_traffic').length;
    expect(counting.queryCount).toBe(8 + idleWindows);
    expect(recorded.map((evaluation) => [evaluation.slo.id, evaluation.state])).toEqual(
      (await evaluateSlos(backfilled, at, { prometheus: client })).map((evaluation) => [
        evaluation.slo.id,
        evaluation.state,
      ]),
    );
    // Rules run on their own schedule, so the latest recorded sample is a little older than `at`:
    // each must equal what the raw query gives at the moment it was recorded.
    for (const evaluation of recorded) {
      expect(evaluation.source).toBe('recording-rules');
      const windows = [
        { window: evaluation.slo.window, reading: evaluation.errorRatio },
        ...evaluation.burnRates.map((burn) => ({ window: burn.window, reading: burn.errorRatio })),
      ];
      for (const { window, reading } of windows) {
        const [stamp] = await client.query(`timestamp(${recordedQuery(evaluation.slo, window)})`, at);
        expect(at.getTime() / 1000 - stamp!.value).toBeLessThan(150);
        const raw = await client.reading(
          errorRatioQuery(evaluation.slo, window),
          new Date(stamp!.value * 1000),
        );
        expect(reading.kind).toBe(raw.kind);
        if (raw.kind === 'value') expect(numberIn(reading)).toBeCloseTo(raw.value, 12);
      }
    }
    // An SLO whose rules were never loaded has no recorded series: no data, with the selector shown.
    const [missing] = await evaluateSlos([slo('inventory-availability')], at, {
      prometheus: counting,
      useRecordingRules: true,
    });
    expect(missing!.budgetRemaining).toEqual({
      kind: 'no_data',
      query:
        'slo:sli_error:ratio_rate30d{sloth_id="inventory-availability", sloth_service="inventory", sloth_slo="availability"}',
    });
  }, 180_000);
});
