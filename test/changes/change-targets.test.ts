// The workload decides the service: a runbook change is judged on the services that own the
// deployments it names, whatever service= the requester types, and on every one of them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChangeService, type SloStatus, storeIncidentSource } from '../../src/changes/index.js';
import { fixedClock, replyToText, silentLogger } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

const config = (unownedWorkloads: 'refuse' | 'approval') => (dir: string) =>
  `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'targets')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
services:
  checkout: { kubernetes: { namespace: shop, deployments: [checkout, checkout-worker] } }
  search: { kubernetes: { namespace: shop, deployments: [search] } }
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, change.list, change.show, change.stats] }
    operator: { allow: ['change.request', change.cancel, change.done, 'runbook.*', 'incident.*'] }
    approver: { allow: ['change.*'] }
  subjects:
    ana: [operator]
    dee: [approver]
policy:
  rules:
    - kind: change-class
    - kind: freeze
    - kind: open-incident
    - kind: error-budget
    - kind: burn-state
    - kind: lock
  approvals: { role: approver, required: 1, ttl: 24h }
  verify: { window: 5m, interval: 1m, tolerance: 2, rollback: true }
  unownedWorkloads: ${unownedWorkloads}
`;

describe('the services a change touches', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-11-26T10:00:00Z');
  /** What the budget source was asked about, service by service. */
  let asked: string[];
  const healthy = (service: string): SloStatus => ({
    slo: `${service}-availability`,
    remainingPercent: 80,
    burnState: 'ok',
    burnRate1h: 0.4,
    burnRate5m: 0.4,
  });
  const calls = async () =>
    (await readFile(path.join(bot.dir, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { input: { target: string } }).input.target);

  const start = async (unowned: 'refuse' | 'approval' = 'refuse') => {
    asked = [];
    bot = await startTestBot({
      config: config(unowned),
      clock,
      prepare: (runtime) => {
        const { store, audit, runbooks, config: c } = runtime.services;
        runtime.services.changes = new ChangeService({
          store,
          audit,
          runbooks,
          policy: c.policy,
          catalog: c.services,
          gate: {
            budgets: {
              statusFor: async (service) => {
                asked.push(service);
                return [healthy(service)];
              },
            },
            incidents: storeIncidentSource(store),
          },
          clock,
          logger: silentLogger(),
        });
      },
    });
  };

  beforeEach(() => clock.set('2026-11-26T10:00:00Z'));
  afterEach(() => bot.close());

  it('refuses a service= that contradicts the deployment, so a freeze cannot be talked around', async () => {
    await start();
    await bot.run('change freeze service=checkout until=4h reason="peak sale"', 'dee');
    const bypass = await bot.run('change request bounce deployment=checkout service=search', 'ana');
    expect(bypass.ok).toBe(false);
    expect(bypass.error?.message).toBe(
      'service=search does not match what this change touches: deployment shop/checkout → checkout',
    );
    const honest = await bot.run('change request bounce deployment=checkout', 'ana');
    expect(honest.error?.message).toMatch(/^CR-1 was denied: freeze on checkout until .* by dee: peak sale$/);
    expect(await calls()).toEqual([]);
  });

  it('refuses a service the catalog does not know, and a workload no service owns', async () => {
    await start();
    const unknown = await bot.run('change request bounce deployment=checkout service=nosuchsvc', 'ana');
    expect(unknown.error?.message).toBe('service=nosuchsvc is not in the service catalog');
    expect(unknown.error?.hint).toBe('known services: checkout, search');
    const manual = await bot.run('change request service=nosuchsvc summary="tune pool" risk=low', 'ana');
    expect(manual.error?.message).toBe('service=nosuchsvc is not in the service catalog');
    const unowned = await bot.run('change request bounce deployment=mystery', 'ana');
    expect(unowned.error?.message).toBe(
      'no service in the catalog owns deployment shop/mystery, so the gate cannot judge it',
    );
    // The namespace is part of the workload: checkout in lab is not the checkout service's.
    const elsewhere = await bot.run('change request bounce deployment=checkout namespace=lab', 'ana');
    expect(elsewhere.error?.message).toMatch(/no service in the catalog owns deployment lab\/checkout/);
    expect(await calls()).toEqual([]);
  });

  it('holds a workload no service owns for a person when the policy says so', async () => {
    await start('approval');
    const answer = await bot.run('change request bounce deployment=mystery service=search', 'ana');
    const text = replyToText(answer);
    expect(text).toMatch(/^CR-1 waits for approval/);
    expect(text).toContain('unowned workload: no service in the catalog owns deployment shop/mystery ✘');
    expect(await calls()).toEqual([]);
    const approved = await bot.run('change approve CR-1', 'dee');
    expect(replyToText(approved)).toMatch(/^CR-1 ran and is being verified/);
    expect(await calls()).toEqual(['mystery']);
  });

  it('judges every service a change touches: a freeze or an incident on either holds it', async () => {
    await start();
    await bot.run('change freeze service=search until=1h reason="reindex"', 'dee');
    const frozen = await bot.run('change request bounce-pair first=checkout second=search', 'ana');
    expect(frozen.error?.message).toMatch(/^CR-1 was denied: freeze on search until .* by dee: reindex$/);
    const shown = replyToText(await bot.run('change show CR-1', 'ana'));
    expect(shown).toContain('no freeze on checkout ✔');
    expect(shown).toMatch(/services:\s+checkout, search/);
    expect([...new Set(asked)].sort()).toEqual(['checkout', 'search']);

    await bot.run('change unfreeze service=search', 'dee');
    await bot.run('incident declare "search is slow" service=search sev=2', 'ana');
    const incident = await bot.run('change request bounce-pair first=checkout-worker second=search', 'ana');
    expect(incident.error?.message).toMatch(
      /^CR-2 was denied: open incident INC-\d+ \(SEV2: search is slow\) on search$/,
    );
    expect(await calls()).toEqual([]);
  });

  it('runs a two-service change under both locks and lists it under either service', async () => {
    await start();
    const ran = await bot.run('change request bounce-pair first=checkout second=search', 'ana');
    expect(replyToText(ran)).toMatch(/^CR-1 ran and is being verified/);
    expect(await calls()).toEqual(['checkout', 'search']);
    // While it verifies, a change to either service waits its turn.
    const waiting = await bot.run('change request bounce deployment=search', 'ana');
    expect(replyToText(waiting)).toContain('change lock on search held by CR-1 ✘');
    const listed = replyToText(await bot.run('change list service=search', 'ana'));
    expect(listed).toContain('CR-1');
    expect(listed).toContain('checkout, search');
    const stats = replyToText(await bot.run('change stats service=search', 'ana'));
    expect(stats).toMatch(/changes executed:\s+1 \(/);
    // Verification watches both services, each against its own state before the change.
    for (let minute = 1; minute <= 5; minute++) {
      clock.set(new Date(clock.now().getTime() + 60_000));
      await bot.runtime.services.changes.tick();
    }
    const verified = await bot.runtime.services.changes.get('CR-1');
    // An incident on either service lists the change among its suspects.
    await bot.run('incident declare "search errors" service=search sev=3', 'ana');
    const incident = await bot.runtime.services.incidents.find('shell', 'INC-1');
    expect((await bot.runtime.services.incidents.suspects(incident)).map((s) => s.what)).toEqual([
      'CR-1 bounce-pair first=checkout second=search (succeeded)',
    ]);
    expect(verified.state).toBe('succeeded');
    expect(verified.verification?.baseline?.map((b) => b.slo)).toEqual([
      'checkout-availability',
      'search-availability',
    ]);
    expect(verified.timeline.at(-1)?.detail).toBe(
      'no regression in 5m after the change: checkout-availability: ok → ok (5m 0.4× → 0.4×); search-availability: ok → ok (5m 0.4× → 0.4×)',
    );
  });

  it('writes one "scheduled" row however often the worker looks, and one "approved" row', async () => {
    await start();
    const answer = await bot.run('change request bounce deployment=checkout at=2026-11-26T11:00:00Z', 'ana');
    expect(replyToText(answer)).toMatch(/^CR-1 is approved and queued/);
    for (let i = 0; i < 7; i++) {
      clock.set(new Date(clock.now().getTime() + 15_000));
      await bot.runtime.services.changes.tick();
    }
    const { timeline } = await bot.runtime.services.changes.get('CR-1');
    expect(timeline.filter((row) => row.event === 'scheduled')).toHaveLength(1);
    expect(timeline.filter((row) => row.event === 'approved')).toHaveLength(1);
    clock.set('2026-11-26T11:00:00Z');
    await bot.runtime.services.changes.tick();
    expect((await bot.runtime.services.changes.get('CR-1')).state).toBe('verifying');
    expect(await calls()).toEqual(['checkout']);
  });
});
