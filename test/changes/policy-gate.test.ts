// The gate rule by rule: each kind's pass, fail and unknown, with the evidence people read.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  activeFreezeWindow,
  type BudgetSource,
  type ChangeRequest,
  decide,
  evaluateGate,
  explainRule,
  type FreezeWindow,
  type IncidentSource,
  type PolicyRule,
  type SloStatus,
} from '../../src/changes/index.js';
import { fixedClock } from '../../src/core/index.js';
import { LowdbStore } from '../../src/store/index.js';

const change = (over: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id: 'CR-1',
  kind: 'runbook',
  service: 'checkout',
  runbook: 'restart-deployment',
  summary: 'restart',
  risk: 'low',
  changeClass: 'standard',
  requestedBy: 'ana',
  channel: 'C1',
  surface: 'slack',
  requestedAt: '2026-11-26T10:00:00Z',
  expiresAt: '2026-11-27T10:00:00Z',
  state: 'pending-approval',
  approvals: [],
  humanApproved: false,
  evaluations: [],
  timeline: [],
  ...over,
});

const budgets = (statuses: SloStatus[] | Error): BudgetSource => ({
  statusFor: async () => {
    if (statuses instanceof Error) throw statuses;
    return statuses;
  },
});

describe('freeze windows', () => {
  const weekend: FreezeWindow = {
    name: 'weekend',
    days: ['sat', 'sun'],
    from: '00:00',
    to: '24:00',
    timeZone: 'Europe/Berlin',
  };
  const evening: FreezeWindow = {
    name: 'evening',
    days: ['fri'],
    from: '18:00',
    to: '08:00',
    timeZone: 'Europe/Berlin',
  };
  const blackFriday: FreezeWindow = {
    name: 'black friday',
    from: '2026-11-27T00:00',
    to: '2026-11-30T18:00',
    timeZone: 'Europe/Berlin',
  };
  const nightly: FreezeWindow = {
    name: 'nightly batch',
    days: ['sun'],
    from: '01:00',
    to: '04:00',
    timeZone: 'Europe/Berlin',
  };

  it.each([
    ['Saturday 00:30 Berlin is Friday 23:30 UTC: frozen', weekend, '2026-11-27T23:30:00Z', true],
    ['Friday 23:30 Berlin (22:30 UTC) is not the weekend yet', weekend, '2026-11-27T22:30:00Z', false],
    ['Monday 00:30 Berlin is Sunday 23:30 UTC: not frozen', weekend, '2026-11-29T23:30:00Z', false],
    ['an overnight window runs into Saturday morning', evening, '2026-11-28T06:59:00Z', true],
    ['and ends at 08:00 local', evening, '2026-11-28T07:00:00Z', false],
    [
      'a date range starts at local midnight (23:00 UTC the day before)',
      blackFriday,
      '2026-11-26T23:00:00Z',
      true,
    ],
    ['one minute earlier it has not started', blackFriday, '2026-11-26T22:59:00Z', false],
    ['it ends at 18:00 Berlin, 17:00 UTC', blackFriday, '2026-11-30T17:00:00Z', false],
    [
      'spring change day: 03:30 CEST (01:30 UTC) is inside 01:00-04:00',
      nightly,
      '2026-03-29T01:30:00Z',
      true,
    ],
    ['spring change day: 04:00 CEST is 02:00 UTC, outside', nightly, '2026-03-29T02:00:00Z', false],
    [
      'autumn change day: the second 02:30 (01:30 UTC) is still inside',
      nightly,
      '2026-10-25T01:30:00Z',
      true,
    ],
    ['autumn change day: 04:00 CET is 03:00 UTC, outside', nightly, '2026-10-25T03:00:00Z', false],
    [
      'summer time moves the window with the clocks: 01:00 CEST is 23:00 UTC Saturday',
      nightly,
      '2026-07-04T23:00:00Z',
      true,
    ],
  ])('%s', (_name, window, at, frozen) => {
    expect(activeFreezeWindow([window], new Date(at)) !== undefined).toBe(frozen);
  });
});

describe('the policy gate', () => {
  let dir: string;
  let store: LowdbStore;
  const at = new Date('2026-11-26T10:00:00Z');
  const healthy: SloStatus = {
    slo: 'checkout-availability',
    remainingPercent: 62.4,
    burnState: 'ok',
    burnRate1h: 0.8,
    burnRate5m: 0.7,
  };
  const noIncidents: IncidentSource = { openFor: async () => [] };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-gate-'));
    store = await LowdbStore.open(dir, { clock: fixedClock(at) });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (
    rules: PolicyRule[],
    over: Partial<ChangeRequest> = {},
    source: BudgetSource | null = budgets([healthy]),
    incidents = noIncidents,
  ) =>
    evaluateGate(
      change(over),
      rules,
      { ...(source ? { budgets: source } : {}), incidents, store },
      at,
      'request',
    );

  it.each<
    [string, PolicyRule, Partial<ChangeRequest>, BudgetSource | null, 'pass' | 'fail' | 'unknown', RegExp]
  >([
    [
      'a standard low-risk change passes the class rule',
      { kind: 'change-class', severity: 'soft' },
      {},
      null,
      'pass',
      /standard change, low risk/,
    ],
    [
      'a normal change needs a person',
      { kind: 'change-class', severity: 'soft' },
      { changeClass: 'normal' },
      null,
      'fail',
      /normal change: a person must approve/,
    ],
    [
      'high risk needs a person even when standard',
      { kind: 'change-class', severity: 'soft' },
      { risk: 'high' },
      null,
      'fail',
      /high risk/,
    ],
    [
      'budget above the threshold passes',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      budgets([healthy]),
      'pass',
      /error budget checkout-availability: 62\.4% left ≥ 25%/,
    ],
    [
      'budget below fails',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      budgets([{ ...healthy, remainingPercent: 12.5 }]),
      'fail',
      /12\.5% left < 25%/,
    ],
    [
      'an unknown budget is unknown',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      budgets([{ slo: 'checkout-availability', burnState: 'unknown', detail: 'no data for the query' }]),
      'unknown',
      /unknown \(no data for the query\)/,
    ],
    [
      'Prometheus down is unknown, never a pass',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      budgets(new Error('connect ECONNREFUSED 127.0.0.1:9090')),
      'unknown',
      /could not be read: connect ECONNREFUSED/,
    ],
    [
      'no Prometheus configured is unknown',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      null,
      'unknown',
      /Prometheus is not configured/,
    ],
    [
      'a service without SLOs is unknown',
      { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
      {},
      budgets([]),
      'unknown',
      /has no SLOs/,
    ],
    [
      'a page burn fails the burn rule',
      { kind: 'burn-state', block: ['page', 'ticket'], severity: 'soft' },
      {},
      budgets([{ ...healthy, burnState: 'page', burnRate1h: 16.2 }]),
      'fail',
      /burn state checkout-availability: page, 1h burn 16\.2×/,
    ],
    [
      'a ticket shows the pair of windows that made it, with rates and factor',
      { kind: 'burn-state', block: ['page', 'ticket'], severity: 'soft' },
      {},
      budgets([
        {
          ...healthy,
          burnState: 'ticket',
          burnRates: { '5m': 2, '30m': 2.5, '1h': 3.5, '2h': 3.2, '6h': 3.1, '1d': 3.4, '3d': 1.1 },
          burnRules: [
            { severity: 'page', long: '1h', short: '5m', factor: 14.4 },
            { severity: 'page', long: '6h', short: '30m', factor: 6 },
            { severity: 'ticket', long: '1d', short: '2h', factor: 3 },
            { severity: 'ticket', long: '3d', short: '6h', factor: 1 },
          ],
        },
      ]),
      'fail',
      /^burn state checkout-availability: ticket: 1d 3\.4× > 3 and 2h 3\.2× > 3$/,
    ],
    [
      'ok shows why the first page rule does not fire',
      { kind: 'burn-state', block: ['page', 'ticket'], severity: 'soft' },
      {},
      budgets([
        {
          ...healthy,
          burnRates: { '5m': 20, '1h': 0.6 },
          burnRules: [{ severity: 'page', long: '1h', short: '5m', factor: 14.4 }],
        },
      ]),
      'pass',
      /^burn state checkout-availability: ok \(1h 0\.6× ≤ 14\.4 and 5m 20\.0× > 14\.4\)$/,
    ],
    [
      'ok burn passes',
      { kind: 'burn-state', block: ['page'], severity: 'soft' },
      {},
      budgets([{ ...healthy, burnState: 'ticket' }]),
      'pass',
      /burn state checkout-availability: ticket/,
    ],
  ])('%s', async (_name, rule, over, source, status, evidence) => {
    const { rules } = await run([rule], over, source);
    expect(rules[0]?.status).toBe(status);
    expect(rules[0]?.evidence).toMatch(evidence);
  });

  it('denies inside a freeze window and says which one', async () => {
    const evaluation = await run([
      {
        kind: 'freeze',
        severity: 'hard',
        windows: [
          {
            name: 'black friday',
            from: '2026-11-26T00:00',
            to: '2026-11-30T18:00',
            timeZone: 'Europe/Berlin',
          },
        ],
      },
    ]);
    expect(evaluation.decision).toBe('denied');
    expect(explainRule(evaluation.rules[0]!)).toBe(
      'freeze "black friday" until 2026-11-30 18:00 Europe/Berlin ✘ (blocks) — wait for the freeze to end',
    );
  });

  it('sees an ad-hoc freeze on the service', async () => {
    await store.put('freezes', {
      id: 'checkout',
      service: 'checkout',
      until: '2026-11-26T12:00:00Z',
      reason: 'db migration',
      by: 'olu',
      at: at.toISOString(),
    });
    const evaluation = await run([{ kind: 'freeze', severity: 'hard', windows: [] }]);
    expect(evaluation.rules[0]?.evidence).toMatch(
      /freeze on checkout until 2026-11-26 12:00 UTC by olu: db migration/,
    );
    const other = await run([{ kind: 'freeze', severity: 'hard', windows: [] }], { service: 'search' });
    expect(other.rules[0]?.status).toBe('pass');
  });

  it('blocks on an open incident of a listed severity only', async () => {
    const incidents = { openFor: async () => [{ id: 'INC-7', severity: 2, title: 'payments failing' }] };
    expect(
      (await run([{ kind: 'open-incident', severities: [1, 2], severity: 'hard' }], {}, null, incidents))
        .rules[0]?.evidence,
    ).toBe('open incident INC-7 (SEV2: payments failing) on checkout');
    expect(
      (await run([{ kind: 'open-incident', severities: [1], severity: 'hard' }], {}, null, incidents))
        .rules[0]?.status,
    ).toBe('pass');
  });

  it('counts the changes of the last 24 hours for the daily limit', async () => {
    for (const [i, startedAt] of [
      '2026-11-25T11:00:00Z',
      '2026-11-26T09:00:00Z',
      '2026-11-25T09:00:00Z',
    ].entries()) {
      await store.put('changes', change({ id: `CR-${i + 10}`, execution: { startedAt } }));
    }
    const evaluation = await run([{ kind: 'daily-limit', max: 2, severity: 'soft' }]);
    expect(evaluation.rules[0]).toMatchObject({
      status: 'fail',
      evidence: '2 change(s) to checkout in the last 24h ≥ 2',
    });
  });

  it('sees the change lock of another change', async () => {
    await store.tryLock('change:checkout', 'CR-9', 60_000);
    expect((await run([{ kind: 'lock', severity: 'soft' }])).rules[0]?.evidence).toBe(
      'change lock on checkout held by CR-9',
    );
  });

  it.each([
    [['pass', 'pass'], 'approved'],
    [['pass', 'soft-fail'], 'needs-approval'],
    [['unknown', 'soft-fail'], 'unknown'],
    [['hard-fail', 'unknown'], 'denied'],
  ])('combines %j into %s', (statuses, decision) => {
    const rules = statuses.map((s) => ({
      kind: 'x',
      evidence: '',
      status: (s.endsWith('fail') ? 'fail' : s) as 'pass' | 'fail' | 'unknown',
      severity: (s === 'hard-fail' ? 'hard' : 'soft') as 'hard' | 'soft',
    }));
    expect(decide(rules)).toBe(decision);
  });
});
