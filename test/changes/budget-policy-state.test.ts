// The error-budget policy's judgment of one reading, as a table: a spent budget or a long page
// freezes, a healthy budget lifts, anything between moves nothing; and `policy.errorBudget` in
// millwright.yml, its defaults and a service the catalog lacks.
import { checkConfig } from '../../src/app.js';
import { judgeBudget, policyFor } from '../../src/changes/budget-policy-state.js';
import { policySchema, type SloStatus } from '../../src/changes/index.js';
import { type TempConfigDir, tempConfigDir } from '../config/temp-config.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const minutesAgo = (n: number) => new Date(NOW.getTime() - n * 60_000).toISOString();
const slo = (remainingPercent: number | undefined, burnState: SloStatus['burnState'] = 'ok'): SloStatus => ({
  slo: 'payments-availability',
  ...(remainingPercent === undefined ? {} : { remainingPercent }),
  burnState,
});

const config = policySchema.parse({
  errorBudget: { freeze: { pagingFor: '30m' }, services: { payments: { lift: { budgetAbove: 25 } } } },
}).errorBudget!;

test('the defaults: frozen when exhausted, lifted above 10%, per-service thresholds win', () => {
  expect(policyFor(config, 'checkout')).toEqual({
    enabled: true,
    budgetAtOrBelow: 0,
    pagingFor: '30m',
    budgetAbove: 10,
  });
  expect(policyFor(config, 'payments').budgetAbove).toBe(25);
  // Listed without the rule, the policy places it right after the freeze rule.
  const rules = policySchema.parse({ errorBudget: {} }).rules.map((rule) => rule.kind);
  expect(rules.indexOf('error-budget-policy')).toBe(rules.indexOf('freeze') + 1);
  expect(policySchema.parse({}).rules.map((rule) => rule.kind)).not.toContain('error-budget-policy');
});

test.each([
  [
    'budget spent',
    [slo(-3.2)],
    undefined,
    'exhausted',
    'payments-availability: -3.2% of the budget left ≤ 0%',
  ],
  [
    'budget at the threshold',
    [slo(0)],
    undefined,
    'exhausted',
    'payments-availability: 0.0% of the budget left ≤ 0%',
  ],
  [
    'paging for 45 min',
    [slo(40, 'page')],
    minutesAgo(45),
    'exhausted',
    'payments-availability paging for 45 min ≥ 30m',
  ],
  [
    'paging for 10 min only',
    [slo(40, 'page')],
    minutesAgo(10),
    undefined,
    'payments-availability: 40.0% left, paging',
  ],
  ['between the thresholds', [slo(8)], undefined, undefined, 'payments-availability: 8.0% left'],
  [
    'healthy',
    [slo(62.4)],
    undefined,
    'recovered',
    'payments-availability: 62.4% of the budget left > 10%, not paging',
  ],
  [
    'no traffic',
    [slo(undefined, 'no-traffic')],
    undefined,
    'recovered',
    'no SLO has a budget to spend (no traffic), not paging',
  ],
] as const)('%s', (_name, statuses, pagingSince, trigger, detail) => {
  const judged = judgeBudget(statuses, policyFor(config, 'checkout'), NOW, pagingSince);
  expect(judged.trigger).toBe(trigger);
  expect(judged.detail).toBe(detail);
});

test('the page clock starts with the first paging reading and stops with the first quiet one', () => {
  const policy = policyFor(config, 'checkout');
  expect(judgeBudget([slo(40, 'page')], policy, NOW, undefined).pagingSince).toBe(NOW.toISOString());
  expect(judgeBudget([slo(40, 'page')], policy, NOW, minutesAgo(5)).pagingSince).toBe(minutesAgo(5));
  expect(judgeBudget([slo(40, 'ticket')], policy, NOW, minutesAgo(5)).pagingSince).toBeUndefined();
});

describe('policy.errorBudget in millwright.yml', () => {
  let temp: TempConfigDir;
  beforeEach(async () => {
    temp = await tempConfigDir();
  });
  afterEach(async () => {
    await temp.remove();
  });

  test('a per-service policy for a service the catalog lacks, or a bad duration, is one line', async () => {
    await temp.write(
      'services:\n  checkout: {}\npolicy:\n  errorBudget:\n    services:\n      payments: { lift: { budgetAbove: 20 } }\n',
    );
    const unknown = await checkConfig('millwright.yml', {}, { cwd: temp.dir });
    expect(unknown.ok).toBe(false);
    expect(unknown.lines.join('\n')).toContain(
      'policy.errorBudget.services.payments: payments is not in the service catalog (known services: checkout)',
    );
    await temp.write('services:\n  checkout: {}\npolicy:\n  errorBudget:\n    freeze: { pagingFor: soon }\n');
    const bad = await checkConfig('millwright.yml', {}, { cwd: temp.dir });
    expect(bad.lines.join('\n')).toContain(
      'policy.errorBudget.freeze.pagingFor: expected a duration like 15m, 24h or 1d',
    );
  });
});
