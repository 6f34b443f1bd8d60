// Changes end to end through the router: the gate decides, people approve where needed, one
// change per service runs at a time, and verification decides success or rollback.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChangeService, type SloStatus, storeIncidentSource } from '../../src/changes/index.js';
import { fixedClock, replyToText, silentLogger } from '../../src/core/index.js';
import type { Store } from '../../src/store/store.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

const config =
  (freeze = '') =>
  (dir: string) =>
    `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'changes')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit, change.list, change.show] }
    operator: { allow: ['change.request', change.cancel, change.done, 'runbook.*'] }
    approver: { allow: ['change.*'] }
    triager: { allow: [change.approve, change.deny] }
  subjects:
    group:approvers: [approver]
    eve: [triager]
    ana: [operator]
    bo: [operator]
    cy: [approver, operator]
    dee: [approver]
services:
  checkout: { channel: C-CHECKOUT }
policy:
  rules:
    - kind: change-class
    - kind: freeze
      windows: [${freeze}]
    - kind: error-budget
      minRemainingPercent: 25
    - kind: burn-state
    - kind: lock
  approvals: { role: approver, required: 1, ttl: 24h }
  verify: { window: 10m, interval: 1m, tolerance: 2, rollback: true }
`;

describe('change requests', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-11-26T10:00:00Z');
  let slo: SloStatus | Error;
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms));
  const calls = async () =>
    (await readFile(path.join(bot.dir, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { action: string; input: { amount: number } });

  const start = async (freeze = '', wrapStore?: (store: Store) => Store) => {
    bot = await startTestBot({
      config: config(freeze),
      clock,
      prepare: (runtime) => {
        const { audit, runbooks, access, config: c } = runtime.services;
        const store = wrapStore ? wrapStore(runtime.services.store) : runtime.services.store;
        runtime.services.changes = new ChangeService({
          store,
          audit,
          runbooks,
          access,
          policy: c.policy,
          catalog: c.services,
          gate: {
            budgets: {
              statusFor: async () => {
                if (slo instanceof Error) throw slo;
                return [slo];
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

  beforeEach(() => {
    clock.set('2026-11-26T10:00:00Z');
    slo = {
      slo: 'checkout-availability',
      remainingPercent: 62.4,
      burnState: 'ok',
      burnRate1h: 0.5,
      burnRate5m: 0.5,
    };
  });
  afterEach(() => bot.close());

  it('approves and executes a standard change on a healthy service with no human, then verifies it', async () => {
    await start();
    const answer = await bot.run('change request bump target=cart reason="stale cache"', 'ana');
    const text = replyToText(answer);
    expect(text).toMatch(/^CR-1 ran and is being verified: bump target=cart/);
    expect(text).toContain('error budget checkout-availability: 62.4% left ≥ 25% ✔');
    expect(text).toContain('standard change, low risk ✔');
    expect(await calls()).toHaveLength(1);
    for (let i = 0; i < 10; i++) {
      advance(60_000);
      await bot.runtime.services.changes.tick();
    }
    const shown = replyToText(await bot.run('change show CR-1', 'ana'));
    expect(shown).toMatch(/^CR-1 succeeded/);
    expect(shown).toMatch(/approved\s+millwright\s+approved by the policy gate/);
    const transitions = (await bot.runtime.services.audit.recent({ limit: 50 }))
      .filter((r) => r.action === 'change.transition')
      .map((r) => r.args.to)
      .reverse();
    expect(transitions).toEqual(['approved', 'executing', 'verifying', 'succeeded']);
  });

  it('asks for approval when the budget is low, and the requester cannot approve their own change', async () => {
    slo = { slo: 'checkout-availability', remainingPercent: 12, burnState: 'ok', burnRate1h: 1.2 };
    await start();
    const answer = await bot.run('change request bump target=cart', 'cy');
    expect(replyToText(answer)).toMatch(/^CR-1 waits for approval/);
    expect(replyToText(answer)).toContain('12.0% left < 25% ✘');
    expect(answer.blocks.some((b) => b.type === 'actions')).toBe(true);
    const own = await bot.run('change approve CR-1', 'cy');
    expect(own.error?.message).toBe('cy requested CR-1 and cannot approve it too');
    const notApprover = await bot.run('change approve CR-1', 'bo');
    expect(notApprover.error?.code).toBe('millwright_permission_denied');
    expect(await calls()).toHaveLength(0);
    const approved = await bot.run('change approve CR-1 reason="known dip"', 'dee');
    expect(replyToText(approved)).toMatch(/^CR-1 ran and is being verified/);
    expect(await calls()).toHaveLength(1);
  });

  it('names the user groups that could not be read when their role is what approving or denying needed', async () => {
    slo = { slo: 'checkout-availability', remainingPercent: 12, burnState: 'ok', burnRate1h: 1.2 };
    await start();
    await bot.run('change request bump target=cart', 'cy');
    const unreadGroups = {
      source: 'Slack user groups',
      groups: ['approvers'],
      cause: 'usergroups.list: missing_scope; the app needs usergroups:read',
    };
    const unread =
      'permission denied: your roles from Slack user groups could not be read (usergroups.list: missing_scope; the app needs usergroups:read), so only roles given to you by name apply';
    const approve = await bot.run('change approve CR-1', 'eve', { actor: { id: 'eve', unreadGroups } });
    expect(approve.error).toMatchObject({
      code: 'millwright_permission_denied',
      message: unread,
      hint: expect.stringContaining('approving changes needs the approver role; eve has triager, viewer'),
    });
    // The audit record keeps what was missing too, not only the line about the groups.
    const [refused] = await bot.runtime.services.audit.recent({ limit: 1 });
    expect(refused).toMatchObject({
      outcome: 'denied',
      reason: expect.stringContaining('needs the approver role'),
    });
    expect(approve.error?.hint).toContain('ask someone with the approver role');
    const deny = await bot.run('change deny CR-1 reason="no"', 'eve', { actor: { id: 'eve', unreadGroups } });
    expect(deny.error).toMatchObject({
      message: unread,
      hint: expect.stringContaining('denying changes needs'),
    });
    // Groups whose roles would not have helped leave the refusal as it was.
    const readers = { ...unreadGroups, groups: ['readers'] };
    const plain = await bot.run('change approve CR-1', 'eve', {
      actor: { id: 'eve', unreadGroups: readers },
    });
    expect(plain.error?.message).toBe('approving changes needs the approver role; eve has triager, viewer');
    expect((await bot.run('change show CR-1', 'cy')).ok).toBe(true);
    expect(await calls()).toHaveLength(0);
  });

  it('keeps an approval that arrives the moment a held change can be seen, before the gate has recorded its decision', async () => {
    slo = { slo: 'checkout-availability', remainingPercent: 12, burnState: 'ok', burnRate1h: 1.2 };
    let approval: Promise<unknown> | undefined;
    await start(
      '',
      (store) =>
        new Proxy(store, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver);
            if (key !== 'put') return typeof value === 'function' ? value.bind(target) : value;
            return async (collection: string, record: { id: string }) => {
              await target.put(collection, record as never);
              if (collection !== 'changes' || approval) return;
              // A second person approves as soon as the change is in the store; the filing goes on
              // only after that approval had every chance to run.
              approval = bot.runtime.services.changes.approve(
                {
                  actor: { id: 'dee', roles: ['approver'] },
                  surface: 'shell',
                  channel: 'shell',
                  ref: 'test-approval',
                },
                record.id,
                'fast approver',
              );
              for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
            };
          },
        }),
    );
    await bot.run('change request bump target=cart', 'cy');
    await approval;
    const shown = replyToText(await bot.run('change show CR-1', 'cy'));
    expect(shown).not.toMatch(/^CR-1 waits for approval/);
    expect(shown).toContain('fast approver');
    expect(await calls()).toHaveLength(1);
  });

  it('audits a requester approving their own change as denied, not as a command that ran', async () => {
    slo = { slo: 'checkout-availability', remainingPercent: 12, burnState: 'ok', burnRate1h: 1.2 };
    await start();
    await bot.run('change request bump target=cart', 'cy');
    const own = await bot.run('change approve CR-1', 'cy');
    expect(own.error?.code).toBe('millwright_permission_denied');
    const [record] = await bot.runtime.services.audit.recent({ limit: 1 });
    expect(record).toMatchObject({
      actor: 'cy',
      action: 'command.change.approve',
      outcome: 'denied',
      code: 'millwright_permission_denied',
      ref: own.ref,
    });
    expect(await calls()).toHaveLength(0);
  });

  it('never auto-approves when the budget cannot be read', async () => {
    slo = new Error('connect ECONNREFUSED 127.0.0.1:9090');
    await start();
    const answer = await bot.run('change request bump target=cart', 'ana');
    // Filed and waiting, but the gate's answer is partial: a script sees a non-zero exit and why.
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toBe(
      'CR-1 gate rule error-budget (checkout): connect ECONNREFUSED 127.0.0.1:9090 (and 1 more)',
    );
    expect(answer.data?.change).toMatchObject({ id: 'CR-1', state: 'pending-approval' });
    const text = replyToText(answer);
    expect(text).toContain('CR-1 waits for approval');
    expect(text).toContain('Policy gate (request): unknown');
    expect(text).toContain('could not be read: connect ECONNREFUSED 127.0.0.1:9090 ?');
    expect(await calls()).toHaveLength(0);
  });

  it('denies inside a freeze with the reason', async () => {
    await start(
      "{ name: 'black friday', from: '2026-11-26T00:00', to: '2026-11-30T18:00', timeZone: Europe/Berlin }",
    );
    const answer = await bot.run('change request bump target=cart', 'ana');
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toBe(
      'CR-1 was denied: freeze "black friday" until 2026-11-30 18:00 Europe/Berlin',
    );
    expect(await calls()).toHaveLength(0);
  });

  it('re-evaluates a scheduled change when its time comes and stops it if the budget drained', async () => {
    await start();
    const answer = await bot.run('change request bump target=cart at=2026-11-26T11:00:00Z', 'ana');
    expect(replyToText(answer)).toMatch(/^CR-1 is approved and queued/);
    slo = { slo: 'checkout-availability', remainingPercent: 3, burnState: 'page', burnRate1h: 20 };
    advance(30 * 60_000);
    await bot.runtime.services.changes.tick();
    expect((await bot.runtime.services.changes.get('CR-1')).state).toBe('approved');
    advance(31 * 60_000);
    await bot.runtime.services.changes.tick();
    const change = await bot.runtime.services.changes.get('CR-1');
    expect(change.state).toBe('denied');
    expect(change.timeline.at(-1)?.detail).toBe('stopped at execution: the gate now says needs-approval');
    expect(await calls()).toHaveLength(0);
  });

  it('marks a change failed and rolls it back when an error spike follows it', async () => {
    await start();
    await bot.run('change request bump target=cart', 'ana');
    advance(60_000);
    await bot.runtime.services.changes.tick();
    slo = {
      slo: 'checkout-availability',
      remainingPercent: 55,
      burnState: 'ok',
      burnRate1h: 3,
      burnRate5m: 9,
    };
    advance(60_000);
    await bot.runtime.services.changes.tick();
    const change = await bot.runtime.services.changes.get('CR-1');
    expect(change.state).toBe('rolled-back');
    expect(change.timeline.map((t) => t.detail)).toContain(
      'verification failed: worse than before the change: checkout-availability: ok → ok (5m 0.5× → 9.0×): worse, 5m 9.0× > 1.0× (0.5× before × 2)',
    );
    expect((await calls()).map((c) => c.input.amount)).toEqual([1, 0]);
    // The lock is free again for the next change.
    expect(replyToText(await bot.run('change request bump target=cart', 'bo'))).toMatch(
      /^CR-2 ran and is being verified/,
    );
  });

  it('finishes a verification after a restart', async () => {
    await start();
    await bot.run('change request bump target=cart', 'ana');
    advance(3 * 60_000);
    await bot.runtime.services.changes.tick();
    // A new process on the same store picks the verification up where it was.
    const { buildRuntime } = await import('../../src/main.js');
    const { loadConfig } = await import('../../src/app.js');
    await bot.runtime.close();
    const runtime = await buildRuntime(await loadConfig(path.join(bot.dir, 'millwright.yml'), { env: {} }), {
      logger: silentLogger(),
      clock,
    });
    const restarted = new ChangeService({
      store: runtime.services.store,
      audit: runtime.services.audit,
      runbooks: runtime.services.runbooks,
      policy: runtime.services.config.policy,
      catalog: runtime.services.config.services,
      gate: {
        budgets: { statusFor: async () => [slo as SloStatus] },
        incidents: storeIncidentSource(runtime.services.store),
      },
      clock,
      logger: silentLogger(),
    });
    await restarted.recover();
    expect((await restarted.get('CR-1')).state).toBe('verifying');
    advance(10 * 60_000);
    await restarted.tick();
    expect((await restarted.get('CR-1')).state).toBe('succeeded');
    bot.runtime = runtime;
  });

  it('runs twenty concurrent requests for one service one at a time and loses none', async () => {
    await start();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => bot.run(`change request bump target=t${i}`, i % 2 ? 'ana' : 'bo')),
    );
    expect(new Set(answers.map((a) => a.ref)).size).toBe(20);
    const states = async () => (await bot.runtime.services.changes.list()).map((c) => c.state);
    expect((await states()).filter((s) => s === 'verifying')).toHaveLength(1);
    expect((await states()).filter((s) => s === 'approved')).toHaveLength(19);
    let rounds = 0;
    while ((await states()).some((s) => s !== 'succeeded') && rounds++ < 400) {
      advance(60_000);
      await bot.runtime.services.changes.tick();
      expect(
        (await states()).filter((s) => s === 'verifying' || s === 'executing').length,
      ).toBeLessThanOrEqual(1);
    }
    expect(await states()).toEqual(Array(20).fill('succeeded'));
    expect(await calls()).toHaveLength(20);
  });
});
