// `millwright slo lint` checks every SLO query with Prometheus's own PromQL grammar and points at the
// line and column of the mistake inside the SLO file; `slo rules` refuses the same SLOs.
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/main.js';
import { checkPromql } from '../../src/slo/index.js';
import { prometheusBinaries } from '../doubles/prometheus.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = 'test/fixtures/slo/promql';

async function millwright(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const code = await main(args, {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: options.env ?? {},
    cwd: options.cwd ?? ROOT,
  });
  return { code, stdout: out, stderr: err };
}

describe('millwright slo lint on PromQL', () => {
  it('names each mistake Prometheus would refuse at its file, line and column, in every SLO form', async () => {
    const result = await millwright(['slo', 'lint', FIXTURES]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const native = `${FIXTURES}/native.yml`;
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${native}:8:25 slos[0].sli.events.errorQuery: checkout/typo: errorQuery: unknown function "rtae"`,
      `${native}:15:31 slos[1].sli.events.totalQuery: checkout/instant: totalQuery: argument 1 of rate() must be a range vector like x[5m], not an instant vector`,
      `${native}:21:65 slos[2].sli.events.errorQuery: checkout/unclosed: errorQuery: syntax error: the query ends too early (an unclosed bracket or missing operand?)`,
      `${native}:27:69 slos[3].sli.events.errorQuery: checkout/selectors: errorQuery: the selector must name a metric or have a matcher that does not match the empty string, like {job="checkout"}`,
      `${native}:28:56 slos[3].sli.events.totalQuery: checkout/selectors: totalQuery: invalid regular expression "5(..": Unterminated group`,
      `${native}:35:32 slos[4].sli.events.goodQuery: checkout/quantile: goodQuery: argument 1 of histogram_quantile() must be a number (scalar), not an instant vector`,
      `${native}:35:79 slos[4].sli.events.goodQuery: checkout/quantile: goodQuery: argument 2 of histogram_quantile() must be an instant vector, not a number (scalar)`,
      `${native}:41:25 slos[5].sli.events.errorQuery: checkout/counts: errorQuery: topk() takes 2 arguments (number, instant vector), got 1`,
      `${native}:42:21 slos[5].sli.events.totalQuery: checkout/counts: totalQuery: clamp_max() takes 2 arguments (instant vector, number), got 1`,
      `${native}:47:21 slos[6].sli.events.errorQuery: checkout/range: errorQuery: the query must give an instant vector (Millwright sums it), not a range vector like x[5m]`,
      `${native}:54:26 slos[7].sli.latency.selector: checkout/latency: latency.selector: invalid regular expression "/api(": Unterminated group`,
      // The same query as slos[0], found in the SLO that has it.
      `${native}:60:25 slos[8].sli.events.errorQuery: checkout/typo-again: errorQuery: unknown function "rtae"`,
      `${FIXTURES}/openslo.yml:13:61 spec.ratioMetric.good.metricSource.spec.query: ledger/availability: goodQuery: invalid regular expression "5[0-9": Unterminated character class`,
      `${FIXTURES}/sloth.yml:10:26 slos[0].sli.events.total_query: search/availability: totalQuery: unknown function "irate_total"`,
      `${FIXTURES}: 14 problems`,
    ]);
  });

  it('gives the other lint findings their line too: a duplicate SLO, a burn factor the objective cannot reach', async () => {
    const result = await millwright(['slo', 'lint', 'test/fixtures/slo/lint-positions']);
    expect(result.code).toBe(1);
    const file = 'test/fixtures/slo/lint-positions/checkout.yml';
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${file}:10:11 slos[1].name: SLO checkout/availability is defined twice (also in ${file}); each service and name pair must be unique`,
      `${file}:5:16 slos[0].objective: checkout/availability: a burn-rate factor of 14.4× on a 90% objective needs an error ratio above 100%; lower the factor or the objective`,
      'test/fixtures/slo/lint-positions: 2 problems',
    ]);
  });

  it.each([['slos/'], ['test/fixtures/slo/scenarios']])(
    'passes the valid SLOs in %s with no false positives',
    async (dir) => {
      const result = await millwright(['slo', 'lint', dir]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
    },
  );

  it.each([['sloth-checkout.yml'], ['openslo-checkout.yml']])(
    'passes the valid %s, placeholders and all',
    async (file) => {
      const result = await millwright(['slo', 'import', `test/fixtures/slo/${file}`]);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/read 1 SLO/);
    },
  );

  it('points into millwright.yml for an SLO in the config', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-lint-promql-'));
    try {
      await writeFile(
        path.join(dir, 'millwright.yml'),
        [
          'slo:',
          '  dir: slos',
          'slos:',
          '  - service: ledger',
          '    name: availability',
          '    objective: 99.9',
          '    sli:',
          '      events:',
          '        errorQuery: sum(rtae(e[{{window}}]))',
          '        totalQuery: sum(rate(t[{{window}}]))',
          '',
        ].join('\n'),
      );
      const result = await millwright(['slo', 'lint'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /millwright\.yml:9:25 slos\[0\]\.sli\.events\.errorQuery: ledger\/availability: errorQuery: unknown function "rtae"/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('millwright slo rules on PromQL', () => {
  it('refuses to write rules for an SLO lint refuses, and says where', async () => {
    const result = await millwright(['slo', 'rules', FIXTURES]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/native\.yml:8:25 .*unknown function "rtae"/);
  });

  describe('--check, with promtool on the PATH', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-rules-check-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    // Only promtool's own folder, so the test says what finds it.
    const env = () => ({ PATH: path.dirname(prometheusBinaries().promtool) });

    it('runs promtool check rules on what it writes and passes its verdict on', async () => {
      const result = await millwright(['slo', 'rules', '--check', 'slos/'], { env: env() });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^groups:/m);
      expect(result.stderr).toMatch(/^promtool: SUCCESS: \d+ rules found$/m);
    });

    it('refuses and writes nothing when promtool finds what lint cannot see', async () => {
      const slos = path.join(dir, 'slos');
      await mkdir(slos);
      await writeFile(
        path.join(slos, 'ledger.yml'),
        [
          'service: ledger',
          'slos:',
          '  - name: availability',
          '    objective: 99.9',
          '    sli:',
          '      events:',
          '        errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
          '        totalQuery: sum(rate(http_requests_total[{{window}}]))',
          '    alerting:',
          '      annotations:',
          '        summary: "{{ $labels.service is burning"',
          '',
        ].join('\n'),
      );
      const out = path.join(dir, 'rules.yml');
      const result = await millwright(['slo', 'rules', '--check', '--out', out, slos], { env: env() });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^promtool: .*annotation "summary": template: .*function "is" not defined$/m,
      );
      expect(result.stderr).toMatch(
        /promtool check rules refused the generated rules \(exit 1\); nothing written/,
      );
      await expect(access(out)).rejects.toThrow(/ENOENT/);
    });

    it('says so and checks with lint alone when promtool is not installed', async () => {
      const result = await millwright(['slo', 'rules', '--check', 'slos/'], { env: { PATH: dir } });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('promtool is not on the PATH; checked with slo lint only\n');
    });
  });
});

describe('the PromQL check itself', () => {
  // Queries SREs write in SLOs and dashboards; none may be refused.
  it.each([
    'sum without (instance) (rate(x[{{window}}]))',
    'sum(rate(x[{{window}}])) or vector(0)',
    'histogram_quantile(0.99, sum by (le) (rate(x_bucket[{{.window}}])))',
    'sum(x) by (a) / ignoring(b) group_left sum(y)',
    '{__name__="x", job="y"}',
    '{"x"}',
    'x{"label.with.dot"="v"}',
    'sum_over_time((x > bool 0)[{{window}}:1m])',
    'sum(rate(x[{{window}}] offset 1d))',
    'max_over_time(rate(x[5m])[{{window}}:5m])',
    'label_replace(rate(x[5m]), "a", "$1", "b", "(.*)")',
    'count_values("v", x)',
    'topk(3, sum by (a) (x))',
    'sum(rate(x{a!~"b|c", d!=""}[5m])) / scalar(sum(y))',
    'clamp(x, 0, 1) + round(x, 0.1) + time() - timestamp(x)',
    'predict_linear(x[1h], 3600) > 0 and on() hour() > 8',
    'x[5m] @ end()',
    "x{a='b', c=`d`} # a comment",
  ])('accepts %s', (query) => {
    expect(checkPromql(query)).toEqual([]);
  });

  it.each([
    [
      'rate(x[$__rate_interval])',
      7,
      '"$__rate_interval" is a Grafana variable, not PromQL; write the range as {{window}}, which Millwright fills in',
    ],
    [
      'x{a=~"(?!5).."}',
      5,
      'invalid regular expression "(?!5)..": lookahead and lookbehind are not supported (Prometheus uses RE2)',
    ],
    [
      '{a!~".+"} + x{b!="c"}',
      0,
      'the selector must name a metric or have a matcher that does not match the empty string, like {job="checkout"}',
    ],
    ['x - "a"', 4, 'an operand of "-" must be an instant vector or a number, not a string'],
    ['rate(x[{{window}}], 1)', 0, 'rate() takes 1 argument (range vector), got 2'],
    ['sum(x) by le', 10, 'syntax error at "le"'],
    [
      'rate(x[5m]) [5m]',
      0,
      'a range [..] goes right after a metric selector; use a subquery like (expr)[5m:1m]',
    ],
  ])('refuses %s at character %i: %s', (query, offset, message) => {
    expect(checkPromql(query)).toEqual([{ offset, message }]);
  });

  it('counts offsets in the template as written, placeholders included', () => {
    expect(checkPromql('sum(rate(x[{{ .window }}])) + rtae(y)')).toEqual([
      { offset: 30, message: 'unknown function "rtae"' },
    ]);
  });
});
