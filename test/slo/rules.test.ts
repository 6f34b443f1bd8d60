// `millwright slo rules` writes rules promtool accepts, in both formats, and whose multiwindow alerts
// fire when they should (checked by promtool's own rule unit tests).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { main } from '../../src/main.js';
import { prometheusBinaries } from '../doubles/prometheus.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIOS = path.join(ROOT, 'test', 'fixtures', 'slo', 'scenarios');

let dir: string;
let promtool: string;

beforeAll(async () => {
  promtool = prometheusBinaries().promtool;
  dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-rules-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function sloRules(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const code = await main(['slo', 'rules', ...args], {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
    cwd: ROOT,
  });
  return { code, stdout: out, stderr: err };
}

async function promtoolCheck(file: string): Promise<string> {
  const { stdout } = await run(promtool, ['check', 'rules', file]);
  return stdout;
}

describe('millwright slo rules', () => {
  it('writes Prometheus rules that promtool check rules accepts', async () => {
    const result = await sloRules([SCENARIOS]);
    expect(result.code).toBe(0);
    const file = path.join(dir, 'scenarios.rules.yml');
    await writeFile(file, result.stdout);
    // 8 SLOs × (7 burn windows + the whole window + 7 metadata recordings + page and ticket alerts).
    expect(await promtoolCheck(file)).toMatch(/SUCCESS: 136 rules found/);
    const groups = parse(result.stdout).groups as Array<{
      name: string;
      interval?: string;
      rules: Array<Record<string, unknown>>;
    }>;
    const sli = groups.find((group) => group.name === 'millwright-slo-sli-recordings-checkout-availability')!;
    expect(sli.rules.map((rule) => rule.record)).toEqual([
      'slo:sli_error:ratio_rate5m',
      'slo:sli_error:ratio_rate30m',
      'slo:sli_error:ratio_rate1h',
      'slo:sli_error:ratio_rate2h',
      'slo:sli_error:ratio_rate6h',
      'slo:sli_error:ratio_rate1d',
      'slo:sli_error:ratio_rate3d',
    ]);
    expect(sli.rules[0]).toEqual({
      record: 'slo:sli_error:ratio_rate5m',
      expr: '(sum(sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])))) / (sum(sum(rate(http_requests_total{service="checkout"}[5m]))))',
      labels: {
        tier: '1',
        sloth_id: 'checkout-availability',
        sloth_service: 'checkout',
        sloth_slo: 'availability',
        sloth_window: '5m',
      },
    });
    const period = groups.find((group) => group.name === 'millwright-slo-period-checkout-availability')!;
    expect(period).toMatchObject({ interval: '2m', rules: [{ record: 'slo:sli_error:ratio_rate30d' }] });
  });

  it('writes the shipped examples (28-day window, own burn table) as valid rules', async () => {
    const result = await sloRules([path.join(ROOT, 'slos')]);
    expect(result.code).toBe(0);
    const file = path.join(dir, 'shipped.rules.yml');
    await writeFile(file, result.stdout);
    expect(await promtoolCheck(file)).toMatch(/SUCCESS: \d+ rules found/);
    const groups = parse(result.stdout).groups as Array<{
      name: string;
      rules: Array<Record<string, unknown>>;
    }>;
    const alerts = groups.find((group) => group.name === 'millwright-slo-alerts-search-availability')!;
    // Its table has two page rules and one ticket rule over 3d and 6h.
    expect(alerts.rules.map((rule) => (rule.labels as Record<string, string>).sloth_severity)).toEqual([
      'page',
      'ticket',
    ]);
    expect(alerts.rules[1]!.expr).toContain('slo:sli_error:ratio_rate3d{sloth_id="search-availability"');
    expect(alerts.rules[1]!.expr).toContain('> (1 * 0.005)');
    expect(
      groups.find((group) => group.name === 'millwright-slo-period-search-availability')!.rules[0]!.record,
    ).toBe('slo:sli_error:ratio_rate28d');
  });

  it('writes a prometheus-operator PrometheusRule with the same groups', async () => {
    const plain = parse((await sloRules([SCENARIOS])).stdout);
    const result = await sloRules(['--format', 'prometheus-operator', SCENARIOS]);
    expect(result.code).toBe(0);
    const resource = parse(result.stdout);
    expect(resource).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'millwright-slos', labels: { 'app.kubernetes.io/managed-by': 'millwright' } },
    });
    expect(resource.spec.groups).toEqual(plain.groups);
    const file = path.join(dir, 'operator-groups.yml');
    await writeFile(file, JSON.stringify({ groups: resource.spec.groups }));
    expect(await promtoolCheck(file)).toMatch(/SUCCESS: 136 rules found/);
  });

  it('refuses an unknown format and a folder without SLOs with one line each', async () => {
    const format = await sloRules(['--format', 'thanos', SCENARIOS]);
    expect(format.code).toBe(2);
    expect(format.stderr.split('\n')[0]).toBe(
      'millwright: --format must be prometheus or prometheus-operator, got "thanos"',
    );
    const empty = await mkdtemp(path.join(dir, 'empty-'));
    const none = await sloRules([empty]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no SLOs to write rules for/);
  });
});

/** promtool's series notation for a counter that grows by `steps[i][0]` for `steps[i][1]` minutes. */
function counterValues(steps: Array<[number, number]>): string {
  let value = 0;
  const parts = [`${value}`];
  for (const [increment, minutes] of steps) {
    parts.push(`${value + increment}+${increment}x${minutes - 1}`);
    value += increment * minutes;
  }
  return parts.join(' ');
}

describe('the multiwindow alerts, under promtool test rules', () => {
  it('page (and ticket) payments 30 minutes into a 20% error spike, and stay quiet before it', async () => {
    const rules = await sloRules([SCENARIOS]);
    await writeFile(path.join(dir, 'alerts.rules.yml'), rules.stdout);
    // Four hours at 0.05% errors, then 30 minutes at 20%.
    const ok = counterValues([
      [5997, 210],
      [4800, 30],
    ]);
    const errors = counterValues([
      [3, 210],
      [1200, 30],
    ]);
    const identity = {
      sloth_id: 'payments-availability',
      sloth_service: 'payments',
      sloth_slo: 'availability',
    };
    const annotations = (severity: string) => ({
      summary: "payments availability: the 99.9% SLO's error budget is burning too fast",
      title: `(${severity}) payments availability SLO error budget burn rate is too fast.`,
    });
    const unitTests = {
      rule_files: ['alerts.rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'http_requests_total{service="payments",code="200"}', values: ok },
            { series: 'http_requests_total{service="payments",code="500"}', values: errors },
          ],
          alert_rule_test: [
            { eval_time: '200m', alertname: 'PaymentsAvailabilitySLO', exp_alerts: [] },
            {
              eval_time: '240m',
              alertname: 'PaymentsAvailabilitySLO',
              // 1h 100× and 5m 200× page; with only four hours of history, 1d (about 8×) and 2h (50×) ticket too.
              exp_alerts: [
                {
                  exp_labels: { ...identity, sloth_window: '1h', sloth_severity: 'page' },
                  exp_annotations: annotations('page'),
                },
                {
                  exp_labels: { ...identity, sloth_window: '1d', sloth_severity: 'ticket' },
                  exp_annotations: annotations('ticket'),
                },
              ],
            },
          ],
        },
      ],
    };
    const testFile = path.join(dir, 'alerts.test.yml');
    await writeFile(testFile, JSON.stringify(unitTests));
    const result = await run(promtool, ['test', 'rules', testFile]).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
  });
});
