// Notices: the change service only records and emits; the notices module renders what people must
// hear of and posts it through the running surfaces. A surface that fails to post is logged and never
// fails the command that caused the notice.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChangeService, type SloStatus, storeIncidentSource } from '../../src/changes/index.js';
import {
  type ChatSurface,
  createLogger,
  fixedClock,
  type Logger,
  type Reply,
  replyToText,
} from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

const config = (dir: string) => `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'notices')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, change.list, change.show] }
    operator: { allow: ['change.request', change.cancel, 'runbook.*'] }
  subjects:
    ana: [operator]
services:
  checkout: { channel: C-CHECKOUT }
policy:
  rules:
    - kind: change-class
    - kind: error-budget
      minRemainingPercent: 25
    - kind: burn-state
    - kind: lock
  approvals: { role: approver, required: 1, ttl: 24h }
  verify: { window: 10m, interval: 1m, tolerance: 2, rollback: true }
`;

const HEALTHY: SloStatus = {
  slo: 'checkout-availability',
  remainingPercent: 62.4,
  burnState: 'ok',
  burnRate1h: 0.5,
  burnRate5m: 0.5,
};

describe('notices', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-11-26T10:00:00Z');
  let slo: SloStatus;
  let posts: Array<{ target: string; reply: Reply }>;
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms));

  /** A bot whose change service reads a budget the test sets, and emits on the runtime's bus. */
  const start = async (logger?: Logger) => {
    bot = await startTestBot({
      config,
      clock,
      ...(logger ? { logger } : {}),
      prepare: (runtime) => {
        const { store, audit, runbooks, access, events, config: c } = runtime.services;
        runtime.services.changes = new ChangeService({
          store,
          audit,
          runbooks,
          policy: c.policy,
          catalog: c.services,
          gate: { budgets: { statusFor: async () => [slo] }, incidents: storeIncidentSource(store) },
          clock,
          logger: runtime.logger,
          events,
          access,
        });
      },
    });
  };

  const recorder = (post: ChatSurface['post']): ChatSurface => ({ name: 'rec', owns: () => true, post });

  beforeEach(() => {
    clock.set('2026-11-26T10:00:00Z');
    slo = HEALTHY;
    posts = [];
  });
  afterEach(() => bot.close());

  it('tells the requester when the gate stops a scheduled change before it runs', async () => {
    await start();
    bot.runtime.services.notices.register(
      recorder(async (target, reply) => {
        posts.push({ target, reply });
        return { update: async () => {} };
      }),
    );
    const answer = await bot.run('change request bump target=cart at=2026-11-26T11:00:00Z', 'ana');
    expect(replyToText(answer)).toMatch(/^CR-1 is approved and queued/);
    expect(posts).toEqual([]);

    slo = { slo: 'checkout-availability', remainingPercent: 3, burnState: 'page', burnRate1h: 20 };
    advance(61 * 60_000);
    await bot.runtime.services.changes.tick();

    expect((await bot.runtime.services.changes.get('CR-1')).state).toBe('denied');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.target).toBe('shell');
    const text = replyToText(posts[0]!.reply);
    expect(text).toMatch(/^CR-1 was stopped before it ran: error budget checkout-availability: 3\.0% left/);
    expect(text).toContain('requester: ana');
    expect(text).toContain('denied: stopped at execution: the gate now says');
    expect(text).toContain('change show CR-1 has the full timeline');
  });

  it('says nothing about transitions nobody needs to hear of', async () => {
    await start();
    bot.runtime.services.notices.register(
      recorder(async (target, reply) => {
        posts.push({ target, reply });
        return { update: async () => {} };
      }),
    );
    // Approved by the gate, run, verified: the requester has the answer in the reply.
    expect(replyToText(await bot.run('change request bump target=cart', 'ana'))).toMatch(
      /^CR-1 ran and is being verified/,
    );
    for (let i = 0; i < 10; i++) {
      advance(60_000);
      await bot.runtime.services.changes.tick();
    }
    expect((await bot.runtime.services.changes.get('CR-1')).state).toBe('succeeded');
    expect(posts).toEqual([]);
  });

  it('tells of a run that failed and of a verification that failed, after the rollback', async () => {
    await start();
    bot.runtime.services.notices.register(
      recorder(async (target, reply) => {
        posts.push({ target, reply });
        return { update: async () => {} };
      }),
    );
    await bot.run('change request broken', 'ana');
    expect(posts.map((p) => replyToText(p.reply).split('\n')[0])).toEqual(['CR-1 failed: broken failed']);

    await bot.run('change request bump target=cart', 'ana');
    advance(60_000);
    await bot.runtime.services.changes.tick();
    slo = { ...HEALTHY, burnRate1h: 3, burnRate5m: 9 };
    advance(60_000);
    await bot.runtime.services.changes.tick();
    expect((await bot.runtime.services.changes.get('CR-2')).state).toBe('rolled-back');
    expect(posts).toHaveLength(2);
    const text = replyToText(posts[1]!.reply);
    expect(text.split('\n')[0]).toBe(
      'CR-2 failed verification: worse than before the change: checkout-availability: ok → ok (5m 0.5× → 9.0×): worse, 5m 9.0× > 1.0× (0.5× before × 2); rolled back: the rollback steps of bump succeeded',
    );
    expect(text).toContain('rolled-back: rolled back: the rollback steps of bump succeeded');
  });

  it('pages the owners channel when the rollback itself fails, and never says rolled back', async () => {
    await start();
    bot.runtime.services.notices.register(
      recorder(async (target, reply) => {
        posts.push({ target, reply });
        return { update: async () => {} };
      }),
    );
    await bot.run('change request bump-bad-undo target=cart', 'ana');
    advance(60_000);
    await bot.runtime.services.changes.tick();
    slo = { ...HEALTHY, burnRate1h: 3, burnRate5m: 9 };
    advance(60_000);
    await bot.runtime.services.changes.tick();
    const change = await bot.runtime.services.changes.get('CR-1');
    expect(change.state).toBe('failed');
    expect(change.timeline.at(-1)?.detail).toMatch(
      /^rollback failed: the rollback steps of bump-bad-undo failed at .*the undo was refused.*; told shell and C-CHECKOUT$/,
    );
    expect(posts.map((p) => p.target)).toEqual(['shell', 'C-CHECKOUT']);
    const headline = replyToText(posts[1]!.reply).split('\n')[0];
    expect(headline).toMatch(
      /^CR-1 failed verification: .*; ROLLBACK FAILED: the rollback steps of bump-bad-undo failed/,
    );
    expect(headline).not.toMatch(/rolled back:/);
  });

  it('logs a notice the surface failed to post, and the command still answers as it would', async () => {
    const lines: string[] = [];
    await start(createLogger({ level: 'error', destination: { write: (line: string) => lines.push(line) } }));
    bot.runtime.services.notices.register(
      recorder(async () => {
        throw new Error('channel_not_found');
      }),
    );

    const answer = await bot.run('change request broken', 'ana');

    // The command's own verdict: the change failed (not "something broke").
    expect(answer.error?.code).toBe('millwright_change_failed');
    expect(answer.error?.message).toMatch(/^CR-1 /);
    const change = await bot.runtime.services.changes.get('CR-1');
    expect(change.state).toBe('failed');
    const logged = lines.map(
      (line) => JSON.parse(line) as { msg: string; change?: string; err?: { message: string } },
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'change notice could not be posted',
        change: 'CR-1',
        err: expect.objectContaining({ message: 'channel_not_found' }),
      }),
    );
    // The lock was freed before the notice was attempted: the next change runs.
    expect(replyToText(await bot.run('change request bump target=cart', 'ana'))).toMatch(
      /^CR-2 ran and is being verified/,
    );
  });
});
