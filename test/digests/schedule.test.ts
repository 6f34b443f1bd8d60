// The scheduler under jest's fake timers: the node-cron heartbeat, the store and the run records are
// real; only time is simulated, across both daylight-saving changes in Europe/Berlin.
import { jest } from '@jest/globals';
import { wallTime } from '../../src/core/index.js';
import type { DigestRunRecord } from '../../src/digests/index.js';
import {
  ADMIN,
  cutShortRun,
  type DigestBot,
  openDigestBot,
  RecordingNotifier,
  removeDir,
  surfacesOf,
} from './harness.js';

const BERLIN = 'Europe/Berlin';

const digestConfig = (schedule: string, extra = '') => `
digests:
  - name: standup
    schedule: "${schedule}"
    timeZone: ${BERLIN}
    target: C0STANDUP
    sections: [incidents]
${extra}
${ADMIN}`;

/** `HH:MM zone-offset` of an instant in Berlin, to read results as a person in Berlin would. */
function berlin(at: Date): string {
  const wall = wallTime(at, BERLIN);
  const offset = new Intl.DateTimeFormat('en-US', { timeZone: BERLIN, timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((part) => part.type === 'timeZoneName')!.value;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)} ${offset}`;
}

let bot: DigestBot | undefined;
let dirs: string[] = [];

/** node-cron calls the task a few promise turns after its timer fires; setImmediate is real here. */
const heartbeatsHeard = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Moves fake time forward heartbeat by heartbeat, letting each post finish before the next step. */
async function advanceTo(target: string | Date, stepMs = 15_000, bots: DigestBot[] = bot ? [bot] : []) {
  const end = new Date(target).getTime();
  while (Date.now() < end) {
    // Steps land on the heartbeat's own boundaries, as its timers do.
    const next = Math.min(end, (Math.floor(Date.now() / stepMs) + 1) * stepMs);
    jest.advanceTimersByTime(next - Date.now());
    await heartbeatsHeard();
    for (const each of bots) await each.runtime.services.digests.idle();
  }
}

/** Days of fake time go faster with a heartbeat a minute apart; the slot logic is the same. */
const MINUTELY = { heartbeat: '0 * * * * *', stepMs: 60_000 };

async function start(
  schedule: string,
  options: { extra?: string; notifier?: RecordingNotifier; dir?: string; heartbeat?: string } = {},
) {
  const notifier = options.notifier ?? new RecordingNotifier();
  const opened = await openDigestBot({
    config: digestConfig(schedule, options.extra),
    notifier,
    ...(options.dir ? { dir: options.dir } : {}),
  });
  dirs.push(opened.dir);
  await opened.runtime.services.digests.start(options.heartbeat ? { heartbeat: options.heartbeat } : {});
  return { bot: opened, notifier };
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});

afterEach(async () => {
  await bot?.close();
  bot = undefined;
  jest.useRealTimers();
  await Promise.all(dirs.map(removeDir));
  dirs = [];
});

describe('a 09:00 Europe/Berlin digest', () => {
  test('posts at 09:00 local every day across the spring change (CET to CEST), once a day', async () => {
    jest.setSystemTime(new Date('2026-03-28T06:00:00Z'));
    const started = await start('0 9 * * *', { heartbeat: MINUTELY.heartbeat });
    bot = started.bot;
    await advanceTo('2026-03-30T12:00:00Z', MINUTELY.stepMs);
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-03-28 09:00 GMT+1',
      '2026-03-29 09:00 GMT+2',
      '2026-03-30 09:00 GMT+2',
    ]);
    expect(started.notifier.posts.map((post) => post.at.toISOString())).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(started.notifier.posts.every((post) => post.target === 'C0STANDUP')).toBe(true);
  });

  test('posts at 09:00 local across the autumn change (CEST to CET), once a day', async () => {
    jest.setSystemTime(new Date('2026-10-24T06:00:00Z'));
    const started = await start('0 9 * * *', { heartbeat: MINUTELY.heartbeat });
    bot = started.bot;
    await advanceTo('2026-10-26T12:00:00Z', MINUTELY.stepMs);
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-10-24 09:00 GMT+2',
      '2026-10-25 09:00 GMT+1',
      '2026-10-26 09:00 GMT+1',
    ]);
  });

  test('weekdays only: no post on the weekend of the spring change', async () => {
    jest.setSystemTime(new Date('2026-03-27T06:00:00Z'));
    const started = await start('0 9 * * 1-5', { heartbeat: MINUTELY.heartbeat });
    bot = started.bot;
    await advanceTo('2026-03-30T12:00:00Z', MINUTELY.stepMs);
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-03-27 09:00 GMT+1',
      '2026-03-30 09:00 GMT+2',
    ]);
  });
});

describe('schedules inside the hour a daylight-saving change skips or repeats', () => {
  test('02:30 does not exist on the spring-change day: it runs once, moved forward by the gap (03:30 CEST)', async () => {
    jest.setSystemTime(new Date('2026-03-27T12:00:00Z'));
    const started = await start('30 2 * * *', { heartbeat: MINUTELY.heartbeat });
    bot = started.bot;
    await advanceTo('2026-03-30T03:00:00Z', MINUTELY.stepMs);
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-03-28 02:30 GMT+1',
      '2026-03-29 03:30 GMT+2',
      '2026-03-30 02:30 GMT+2',
    ]);
    const history = (await bot.runtime.services.digests.status())[0]!;
    expect(history.lastRun).toMatchObject({ slot: '2026-03-30T02:30', result: 'posted' });
  });

  test('02:30 happens twice on the autumn-change day: it runs at the first (CEST), not again at 02:30 CET', async () => {
    jest.setSystemTime(new Date('2026-10-23T12:00:00Z'));
    const started = await start('30 2 * * *', { heartbeat: MINUTELY.heartbeat });
    bot = started.bot;
    await advanceTo('2026-10-26T03:00:00Z', MINUTELY.stepMs);
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-10-24 02:30 GMT+2',
      '2026-10-25 02:30 GMT+2',
      '2026-10-26 02:30 GMT+1',
    ]);
  });

  test('every half hour during the repeated hour: each wall-clock time once', async () => {
    jest.setSystemTime(new Date('2026-10-24T22:59:00Z'));
    const started = await start('0,30 1-3 * * *');
    bot = started.bot;
    await advanceTo('2026-10-25T03:00:00Z');
    expect(started.notifier.posts.map((post) => berlin(post.at))).toEqual([
      '2026-10-25 01:00 GMT+2',
      '2026-10-25 01:30 GMT+2',
      '2026-10-25 02:00 GMT+2',
      '2026-10-25 02:30 GMT+2',
      '2026-10-25 03:00 GMT+1',
      '2026-10-25 03:30 GMT+1',
    ]);
  });
});

describe('restarts and replicas', () => {
  test('a restart right after a run does not post it again', async () => {
    jest.setSystemTime(new Date('2026-11-26T07:58:00Z'));
    const notifier = new RecordingNotifier();
    const first = await start('0 9 * * *', { notifier });
    bot = first.bot;
    await advanceTo('2026-11-26T08:00:05Z');
    expect(notifier.posts).toHaveLength(1);
    await bot.close();

    // The same folder, the same store file: a new process a few seconds later.
    const second = await start('0 9 * * *', { notifier, dir: first.bot.dir });
    bot = second.bot;
    await advanceTo('2026-11-26T08:30:00Z');
    expect(notifier.posts).toHaveLength(1);
    const status = (await bot.runtime.services.digests.status())[0]!;
    expect(status.lastRun).toMatchObject({ kind: 'scheduled', result: 'posted', slot: '2026-11-26T09:00' });
  });

  test('a run missed while down is caught up once on restart (missed: catch-up)', async () => {
    jest.setSystemTime(new Date('2026-11-25T12:00:00Z'));
    const notifier = new RecordingNotifier();
    const first = await start('0 9 * * *', { notifier });
    bot = first.bot;
    await bot.close();
    bot = undefined;
    // Down from noon until 09:40 CET the next day, so the 09:00 run on the 26th was missed.
    jest.setSystemTime(new Date('2026-11-26T08:40:00Z'));
    const second = await start('0 9 * * *', { notifier, dir: first.bot.dir });
    bot = second.bot;
    await bot.runtime.services.digests.idle();
    expect(notifier.posts.map((post) => post.at.toISOString())).toEqual(['2026-11-26T08:40:00.000Z']);
    expect(notifier.posts[0]!.text).toContain(
      'caught up: the 2026-11-26T09:00 run was missed while Millwright was down',
    );
    await advanceTo('2026-11-26T12:00:00Z');
    expect(notifier.posts).toHaveLength(1);
  });

  test('with missed: skip the run missed while down is recorded as skipped, not posted', async () => {
    jest.setSystemTime(new Date('2026-11-25T12:00:00Z'));
    const notifier = new RecordingNotifier();
    const first = await start('0 9 * * *', { notifier, extra: '    missed: skip' });
    await first.bot.close();
    jest.setSystemTime(new Date('2026-11-26T08:40:00Z'));
    const second = await start('0 9 * * *', { notifier, extra: '    missed: skip', dir: first.bot.dir });
    bot = second.bot;
    await bot.runtime.services.digests.idle();
    expect(notifier.posts).toHaveLength(0);
    const listed = await bot.run('digest list');
    expect(listed.ok).toBe(true);
    const row = listed.blocks.find((block) => block.type === 'table');
    expect(row).toMatchObject({
      rows: [
        [
          'standup',
          '0 9 * * * (Europe/Berlin)',
          expect.stringContaining('2026-11-27 09:00 CET'),
          'C0STANDUP',
          expect.any(String),
          expect.stringMatching(/^skipped: missed by 40m while no scheduler ran \(missed: skip\)$/),
        ],
      ],
    });
  });

  test('two replicas sharing one store post each slot once', async () => {
    jest.setSystemTime(new Date('2026-11-26T07:59:00Z'));
    const notifier = new RecordingNotifier('a');
    const a = await start('0 9 * * *', { notifier });
    bot = a.bot;
    // Replica b: its own digest service (its own lock owner id) on the same store and audit trail.
    const { DigestService } = await import('../../src/digests/index.js');
    const { services } = a.bot.runtime;
    const other = new RecordingNotifier('b');
    const b = new DigestService({
      digests: services.config.digests,
      catalog: services.config.services,
      sources: { incidents: services.incidents },
      store: services.store,
      audit: services.audit,
      notices: surfacesOf(other),
      clock: { now: () => new Date() },
      logger: a.bot.runtime.logger,
      instanceId: 'replica-b',
    });
    await b.start();
    try {
      const both = async () => {
        await services.digests.idle();
        await b.idle();
      };
      for (let i = 0; i < 8 * 60 * 4; i++) {
        jest.advanceTimersByTime(15_000);
        await heartbeatsHeard();
        await both();
      }
      const posts = [...notifier.posts, ...other.posts];
      expect(posts.map((post) => post.at.toISOString())).toEqual(['2026-11-26T08:00:00.000Z']);
      const status = (await services.digests.status())[0]!;
      expect(status.lastRun?.by).toBe(posts[0]!.by === 'b' ? 'replica-b' : services.digests.instanceId);
    } finally {
      await b.stop();
    }
  });
});

describe('failed posts', () => {
  test('are retried with backoff (1m, 2m) and shown in digest list until they go through', async () => {
    jest.setSystemTime(new Date('2026-11-26T07:59:00Z'));
    const notifier = new RecordingNotifier();
    notifier.failNext('not_in_channel', 2);
    const started = await start('0 9 * * *', { notifier });
    bot = started.bot;
    await advanceTo('2026-11-26T08:00:05Z');
    expect(notifier.posts).toHaveLength(0);
    const waiting = await bot.run('digest list');
    const text = JSON.stringify(waiting.blocks);
    expect(text).toContain(
      'retrying: attempt 1 of 5 failed (the chat platform refused the post: not_in_channel); next attempt just now (2026-11-26 09:01 CET)',
    );
    await advanceTo('2026-11-26T08:10:00Z');
    expect(notifier.posts.map((post) => post.at.toISOString())).toEqual(['2026-11-26T08:03:00.000Z']);
    expect(notifier.posts[0]!.text).toContain('attempt 3');
    const listed = await bot.run('digest list');
    expect(JSON.stringify(listed.blocks)).toContain('posted after 3 attempts');
    const audit = await bot.runtime.services.audit.recent({ limit: 10 });
    expect(audit.filter((r) => r.action === 'digest.post').map((r) => r.outcome)).toEqual([
      'posted',
      'failed',
      'failed',
    ]);
  });

  test('give up after the configured attempts and say so, then post the next day as usual', async () => {
    jest.setSystemTime(new Date('2026-11-26T07:59:00Z'));
    const notifier = new RecordingNotifier();
    notifier.failNext('channel_not_found', 2);
    const started = await start('0 9 * * *', {
      notifier,
      extra: '    retry: { attempts: 2, backoff: 5m }',
    });
    bot = started.bot;
    await advanceTo('2026-11-26T09:00:00Z');
    expect(notifier.posts).toHaveLength(0);
    const listed = await bot.run('digest list');
    expect(listed.blocks[0]).toEqual({
      type: 'text',
      text: '*standup: failed: gave up after 2 attempts: the chat platform refused the post: channel_not_found*',
    });
    await advanceTo('2026-11-27T08:00:05Z');
    expect(notifier.posts.map((post) => post.at.toISOString())).toEqual(['2026-11-27T08:00:00.000Z']);
  });

  test('a post cut short by a replica that died is retried once its lease runs out (policy.handOverAfter), or given up on its last attempt', async () => {
    jest.setSystemTime(new Date('2026-11-26T08:00:00Z'));
    const opened = await openDigestBot({
      config: digestConfig('0 9 * * *'),
      notifier: new RecordingNotifier(),
    });
    dirs.push(opened.dir);
    bot = opened;
    const { store } = bot.runtime.services;
    // What a replica leaves behind when it dies between claiming the 09:00 slot and hearing back
    // from Slack: its lease (renewed until it died, then good for policy.handOverAfter, 15 s) and the
    // slot marked as posting.
    const dying = (attempts: number) => cutShortRun('replica-gone', attempts);
    jest.setSystemTime(new Date('2026-11-26T08:00:50Z'));
    expect(await store.tryLock('digest:standup', 'replica-gone', 15_000)).toBe(true);
    await store.put('digest-runs', dying(1));
    const notifier = bot.runtime.services.notices.surfaces[0] as RecordingNotifier;
    jest.setSystemTime(new Date('2026-11-26T08:01:00Z'));
    await bot.runtime.services.digests.start();
    expect(notifier.posts).toEqual([]);
    await advanceTo('2026-11-26T08:20:00Z');
    // The first heartbeat after the lease ran out (08:01:05) takes the slot over.
    expect(notifier.posts.map((post) => post.at.toISOString())).toEqual(['2026-11-26T08:01:15.000Z']);
    expect(notifier.posts[0]!.text).toContain('attempt 2');
    const [posted, cut] = (await store.get<DigestRunRecord>('digest-runs', 'standup'))!.history;
    expect(posted).toMatchObject({ result: 'posted', attempt: 2, slot: '2026-11-26T09:00' });
    expect(cut).toMatchObject({
      result: 'failed',
      attempt: 1,
      detail: 'attempt 1 was cut short: replica replica-gone stopped while posting',
    });
    await bot.runtime.services.digests.stop();

    await store.put('digest-runs', dying(5));
    await bot.runtime.services.digests.start();
    await bot.runtime.services.digests.idle();
    expect(notifier.posts).toHaveLength(1);
    const listed = await bot.run('digest list');
    expect(listed.blocks[0]).toEqual({
      type: 'text',
      text: '*standup: failed: gave up: attempt 5 was cut short (replica replica-gone stopped while posting)*',
    });
  });
});
