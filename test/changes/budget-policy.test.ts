// The error-budget policy against a real Prometheus: payments spent its whole 30-day budget in two
// bad days a month ago, so the policy freezes it; the owners hear it once; chat changes and pipeline
// deployments are held, naming the policy, while an emergency passes; an override is audited and
// ends; the freeze lifts when the bad days leave the window; a restart tells nothing again.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { BudgetPolicyRecord } from '../../src/changes/index.js';
import { fixedClock, type Reply, replyToText } from '../../src/core/index.js';
import { runGateCli } from '../../src/gates/cli.js';
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningPrometheus } from '../doubles/prometheus.js';
import { expectData, serveConfigFile, slosFor, startTrafficPrometheus } from '../gates/setup.js';

const TOKEN = 'ci-budget-policy-51c0e2b7d9';
const DAY = 86_400;
const BAD_DAYS = 2;

const config = (prometheus: RunningPrometheus) => `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
prometheus: { url: ${prometheus.url} }
services:
  payments: { channel: C-PAYMENTS, owners: [U-OLU], team: money }
  checkout: { channel: C-CHECKOUT, owners: [U-ANA], team: storefront }
  search: { channel: C-SEARCH, team: storefront }
${slosFor(['payments', 'checkout', 'search'])}
policy:
  rules:
    - { kind: change-class }
    - { kind: freeze }
    - { kind: burn-state, block: [page], severity: hard }
    - { kind: lock }
  errorBudget:
    freeze: { budgetAtOrBelow: 0 }
    lift: { budgetAbove: 10 }
    maxOverride: 1d
    services:
      search: { freeze: { pagingFor: 10m } }
access:
  defaultRoles: []
  roles:
    operator: { allow: ['change.*', budget] }
    approver: { allow: ['change.*', budget, policy.override] }
  subjects: { ana: [operator], dee: [approver] }
gates:
  pipelines:
    ci: { token: ${TOKEN}, services: '*' }
digests:
  - { name: daily, schedule: "0 9 * * *", target: C-OPS, sections: [changes] }
`;

describe('the error-budget policy freezes a service whose budget ran out, and lifts it', () => {
  let prometheus: RunningPrometheus;
  let dir: string;
  let file: string;
  let start: number;
  const clock = fixedClock(new Date(0));
  let server: Awaited<ReturnType<typeof serveConfigFile>> | undefined;

  const serve = () => serveConfigFile(file, { clock });

  beforeAll(async () => {
    // payments: 3% of requests fail for its first two days, then 1 in 6000; checkout: 3 in 6000 throughout.
    prometheus = await startTrafficPrometheus(
      {
        payments: (t, end) => (t < end - 33 * DAY + BAD_DAYS * DAY ? 180 : 1),
        checkout: 'healthy',
        // 20% of search's requests fail in the last 30 minutes: paging, with most of its budget left.
        search: 'burning',
      },
      33,
    );
    start = prometheus.end.getTime() / 1000 - 33 * DAY - 7200;
    // A month after the bad days began, they are all inside the 30-day window.
    clock.set(new Date((start + 30 * DAY) * 1000));
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-budget-policy-'));
    file = path.join(dir, 'millwright.yml');
    await writeFile(file, config(prometheus));
    server = await serve();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await prometheus?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const say = (text: string, actor = 'ana'): Promise<Reply> =>
    server!.running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const tick = () => server!.running.runtime.services.changes.tick();
  const record = async (service: string) =>
    (await server!.running.runtime.services.changes.budgetPolicy!.stateOf(service)) as BudgetPolicyRecord;
  // The policy's own notices: the daily digest (which a restart may post as a catch-up, depending on
  // the time of day the test runs at) also mentions the policy, and is checked through its preview.
  const told = (words: string) =>
    server!.posts.filter((post) => post.text.includes(words) && !post.text.startsWith('daily digest'));
  const deploy = async (body: Record<string, unknown>): Promise<GateAnswer> => {
    const response = await fetch(`${server!.url}/api/v1/gates/evaluate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as GateAnswer;
  };
  const transitions = async () =>
    (await server!.running.runtime.services.audit.recent({ limit: 500 }))
      .filter((r) => r.action === 'budget-policy.transition')
      .reverse();
  const minutes = (n: number) => clock.set(new Date(clock.now().getTime() + n * 60_000));

  it('freezes payments on the worker tick and tells its channel and owners once', async () => {
    await tick();
    const payments = await record('payments');
    expect(payments.state).toBe('frozen');
    expect(payments.reading?.remainingPercent).toBeLessThan(0);
    expect(payments.detail).toMatch(/^payments-availability: -\d+\.\d% of the budget left ≤ 0%$/);
    expect((await record('checkout')).state).toBe('normal');

    const frozen = told('payments is frozen by the error-budget policy');
    expect(frozen.map((post) => post.target).sort()).toEqual(['C-PAYMENTS', 'U-OLU']);
    expect(frozen[0]!.text).toContain('emergency changes still go through');
    // The next ticks find nothing new to say.
    minutes(1);
    await tick();
    minutes(1);
    await tick();
    expect(told('payments is frozen by the error-budget policy')).toHaveLength(2);
    expect((await transitions()).map((r) => [r.actor, r.args.service, r.args.from, r.args.to])).toEqual([
      ['millwright', 'payments', 'normal', 'frozen'],
    ]);
  }, 60_000);

  it('holds a standard chat change and a pipeline deployment, naming the policy; an emergency passes', async () => {
    const chat = await say('change request service=payments summary="raise pool size" risk=low');
    expect(chat.ok).toBe(false);
    const change = (
      chat.data as { change: { state: string; gate: { rules: Array<Record<string, unknown>> } } }
    ).change;
    expect(change.state).toBe('denied');
    expectData('change', 'one', chat.data);
    const rule = change.gate.rules.find((r) => r.kind === 'error-budget-policy');
    expect(rule).toMatchObject({ status: 'fail', severity: 'hard', threshold: 0, unit: 'percent' });
    expect(rule?.value).toBeLessThan(0);
    expect(String(rule?.evidence)).toMatch(/^error-budget policy: payments is frozen since /);
    // Every other rule passed: the policy alone held it.
    expect(change.gate.rules.filter((r) => r.status !== 'pass').map((r) => r.kind)).toEqual([
      'error-budget-policy',
    ]);

    const deployment = await deploy({ service: 'payments', version: '2.4.0' });
    expect(deployment.decision).toBe('fail');
    expect(deployment.reason).toContain('error-budget policy: payments is frozen since');
    expect(deployment.rules.find((r) => r.name === 'error-budget-policy')).toMatchObject({
      verdict: 'fail',
      numbers: { freezeAtOrBelowPercent: 0, liftAbovePercent: 10, remainingPercent: expect.any(Number) },
    });
    // Checkout is not frozen, so its deployment goes through the same gate.
    expect((await deploy({ service: 'checkout', version: '9.1.0' })).decision).toBe('pass');

    const emergency = await deploy({
      service: 'payments',
      version: '2.4.1',
      emergency: true,
      reason: 'roll back the bad schema',
    });
    expect(emergency.decision).toBe('pass');
    expect(emergency.rules.find((r) => r.name === 'error-budget-policy')?.detail).toContain(
      'an emergency change goes through',
    );
    // The shell step a CI runs says the same: exit 1 for the frozen service.
    const step = async (...args: string[]) => {
      let out = '';
      const stdout = new Writable({
        write: (chunk, _encoding, done) => {
          out += String(chunk);
          done();
        },
      });
      const code = await runGateCli(['gate', 'evaluate', 'payments', ...args, '--url', server!.url], {
        stdout,
        stderr: stdout,
        env: { MILLWRIGHT_GATE_TOKEN: TOKEN },
      });
      return { code, out };
    };
    const held = await step('version=2.4.2');
    expect(held.code).toBe(1);
    expect(held.out).toContain('✘ error-budget policy: payments is frozen since');
    // An emergency from the step passes the policy; it then queues behind the emergency deployed above.
    const urgent = await step('version=2.4.3', 'reason=roll back the bad schema', '--emergency', '--json');
    const answer = JSON.parse(urgent.out) as GateAnswer;
    expect(answer.rules.find((r) => r.name === 'error-budget-policy')?.verdict).toBe('pass');
    expect(answer.rules.filter((r) => r.verdict !== 'pass').map((r) => r.name)).toEqual(['lock']);

    const unexplained = await say('change request service=checkout summary="hotfix" risk=low --emergency');
    expect(unexplained.error?.message).toBe('an emergency change needs reason="..." (what outage it fixes)');
  }, 60_000);

  it('budget, change show and the digest say the policy state and since when', async () => {
    const budget = await say('budget payments');
    const since = (await record('payments')).since;
    expect(replyToText(budget)).toContain('Error-budget policy');
    expect(replyToText(budget)).toMatch(/payments: frozen since \d+m ago/);
    expectData('budget', undefined, budget.data);
    expect((budget.data as { policy: { services: unknown[] } }).policy.services).toEqual([
      expect.objectContaining({
        service: 'payments',
        state: 'frozen',
        since,
        limits: { freezeAtOrBelowPercent: 0, liftAbovePercent: 10, pagingFor: null },
        override: null,
      }),
    ]);
    const denied = (await server!.running.runtime.services.changes.list({ service: 'payments' })).find(
      (c) => c.state === 'denied' && !c.delivery,
    )!;
    const shown = await say(`change show ${denied.id}`);
    expect(replyToText(shown)).toContain('error-budget policy (payments)');
    expectData('change', 'one', shown.data);
    expect((shown.data as { budgetPolicy: unknown[] }).budgetPolicy).toEqual([
      { service: 'payments', state: 'frozen', since, detail: expect.any(String), override: null },
    ]);
    // Every digest while the freeze is in force carries the reminder.
    const digest = replyToText(await server!.running.runtime.services.digests.preview('daily'));
    expect(digest).toContain('1 service frozen by the error-budget policy');
    expect(digest).toMatch(
      /Error-budget policy in force:[\s\S]*payments frozen since .*only emergency changes go through/,
    );
  }, 60_000);

  it('keeps the freeze while Prometheus cannot be read, and says so', async () => {
    await prometheus.stop();
    try {
      minutes(1);
      await tick();
      const payments = await record('payments');
      expect(payments.state).toBe('frozen');
      expect(payments.unread?.at).toBe(clock.now().toISOString());
      expect(told('error-budget freeze is lifted')).toHaveLength(0);
      expect(replyToText(await say('change request service=payments summary="x" risk=low'))).toContain(
        'error-budget policy: payments is frozen since',
      );
    } finally {
      await prometheus.start();
    }
    // Past the circuit's half-open delay, so the next reading asks Prometheus again.
    minutes(2);
  }, 60_000);

  it('an override needs the permission, is audited, lets changes through, and ends', async () => {
    const refused = await say('budget override payments reason="ship the fix" until=2h');
    expect(refused.error?.code).toBe('millwright_permission_denied');
    const tooLong = await say('budget override payments reason="ship the fix" until=3d', 'dee');
    expect(tooLong.error?.message).toBe('an override lasts at most 1d (policy.errorBudget.maxOverride)');

    const overridden = await say('budget override payments reason="ship the fix for INC-4" until=2h', 'dee');
    expect(overridden.ok).toBe(true);
    expectData('budget', 'overrideReply', overridden.data);
    expect((overridden.data as { override: { state: string; override: unknown } }).override).toMatchObject({
      state: 'overridden',
      override: { by: 'dee', reason: 'ship the fix for INC-4' },
    });
    const audited = (await transitions()).at(-1)!;
    expect(audited).toMatchObject({
      actor: 'dee',
      action: 'budget-policy.transition',
      outcome: 'overridden',
      args: { service: 'payments', from: 'frozen', to: 'overridden', trigger: 'override' },
    });
    expect(
      told("payments's error-budget freeze is overridden")
        .map((p) => p.target)
        .sort(),
    ).toEqual(['C-PAYMENTS', 'U-OLU']);
    const through = await say('change request service=payments summary="raise pool size" risk=low');
    const rules = (
      through.data as {
        change: { gate: { rules: Array<{ kind: string; status: string; evidence: string }> } };
      }
    ).change.gate.rules;
    expect(rules.find((r) => r.kind === 'error-budget-policy')).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('overridden by dee until'),
    });

    // Two hours on, the budget is still spent: the override ends and the freeze is back.
    minutes(121);
    await tick();
    expect((await record('payments')).state).toBe('frozen');
    expect((await record('payments')).detail).toMatch(/^the override by dee ended at /);
    expect(told('payments is frozen by the error-budget policy')).toHaveLength(4);
  }, 60_000);

  it('freezes a service that has paged for pagingFor, though its budget is not spent', async () => {
    const end = prometheus.end.getTime();
    clock.set(new Date(end - 25 * 60_000));
    await tick();
    expect(await record('search')).toMatchObject({ state: 'normal', pagingSince: clock.now().toISOString() });
    clock.set(new Date(end - 20 * 60_000));
    await tick();
    expect((await record('search')).state).toBe('normal');
    clock.set(new Date(end - 14 * 60_000));
    await tick();
    const search = await record('search');
    expect(search.state).toBe('frozen');
    expect(search.detail).toBe('search-availability paging for 11 min ≥ 10m');
    expect(search.reading?.remainingPercent).toBeGreaterThan(10);
    expect(told('search is frozen by the error-budget policy').map((p) => p.target)).toEqual(['C-SEARCH']);
  }, 60_000);

  it('lifts the freeze once the bad days leave the window, told once, and a restart tells nothing again', async () => {
    clock.set(prometheus.end);
    await tick();
    const payments = await record('payments');
    expect(payments.state).toBe('normal');
    expect(payments.detail).toMatch(/^payments-availability: \d+\.\d% of the budget left > 10%, not paging$/);
    expect(
      told('error-budget freeze is lifted')
        .map((p) => p.target)
        .sort(),
    ).toEqual(['C-PAYMENTS', 'U-OLU']);
    expect((await deploy({ service: 'payments', version: '2.5.0' })).rules).toContainEqual(
      expect.objectContaining({ name: 'error-budget-policy', verdict: 'pass' }),
    );

    await server!.stop();
    server = await serve();
    await tick();
    minutes(1);
    await tick();
    expect(told('error-budget')).toEqual([]);
    expect((await record('payments')).state).toBe('normal');
    const ofPayments = (await transitions()).filter((r) => r.args.service === 'payments');
    expect(ofPayments.map((r) => `${r.args.from}→${r.args.to}`)).toEqual([
      'normal→frozen',
      'frozen→overridden',
      'overridden→frozen',
      'frozen→normal',
    ]);
  }, 120_000);
});
