// Slots of a schedule in a time zone, computed without any timer, and the config a digest accepts:
// the expression (checked by node-cron), the zone, sections, and services that must exist.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { createTask } from 'node-cron';
import { checkConfig } from '../../src/app.js';
import { CronSchedule, cronProblem } from '../../src/digests/index.js';
import { openDigestBot, removeDir } from './harness.js';

const iso = (at: Date | undefined) => at?.toISOString();

describe('slots of a schedule in a time zone', () => {
  const daily = new CronSchedule('0 9 * * *', 'Europe/Berlin');

  test('09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer', () => {
    expect(daily.next(new Date('2026-03-28T08:00:00Z'))).toEqual({
      key: '2026-03-29T09:00',
      at: new Date('2026-03-29T07:00:00Z'),
    });
    expect(iso(daily.next(new Date('2026-10-24T07:00:00Z'))?.at)).toBe('2026-10-25T08:00:00.000Z');
    expect(daily.latest(new Date('2026-03-29T06:59:59Z'))).toEqual({
      key: '2026-03-28T09:00',
      at: new Date('2026-03-28T08:00:00Z'),
    });
    expect(daily.latest(new Date('2026-03-29T07:00:00Z'))?.key).toBe('2026-03-29T09:00');
  });

  test('next is strictly after and latest is at or before, with a floor', () => {
    const at = new Date('2026-11-26T08:00:00Z');
    expect(daily.next(at)?.key).toBe('2026-11-27T09:00');
    expect(daily.latest(at)?.key).toBe('2026-11-26T09:00');
    expect(daily.latest(at, at)).toBeUndefined();
    expect(daily.latest(at, new Date(at.getTime() - 1))?.key).toBe('2026-11-26T09:00');
  });

  test('a time in the spring gap moves forward by the gap; one in the autumn overlap takes the first occurrence', () => {
    const inGap = new CronSchedule('30 2 * * *', 'Europe/Berlin');
    expect(inGap.next(new Date('2026-03-28T12:00:00Z'))).toEqual({
      key: '2026-03-29T02:30',
      at: new Date('2026-03-29T01:30:00Z'), // 03:30 CEST
    });
    expect(inGap.next(new Date('2026-10-24T12:00:00Z'))).toEqual({
      key: '2026-10-25T02:30',
      at: new Date('2026-10-25T00:30:00Z'), // 02:30 CEST, the first of the two
    });
    // Looking from inside the repeated hour (02:45 CET) the 02:30 of that day is already past.
    expect(inGap.next(new Date('2026-10-25T01:45:00Z'))?.key).toBe('2026-10-26T02:30');
  });

  test('two wall times that land on one instant in the gap are one slot', () => {
    const both = new CronSchedule('30 2,3 * * *', 'Europe/Berlin');
    const from = new Date('2026-03-28T12:00:00Z');
    const first = both.next(from)!;
    const second = both.next(first.at)!;
    expect([first.key, iso(first.at)]).toEqual(['2026-03-29T03:30', '2026-03-29T01:30:00.000Z']);
    expect(second.key).toBe('2026-03-30T02:30');
  });

  test('29 February is found years ahead; day-of-month and weekday must both match, as in node-cron', () => {
    expect(new CronSchedule('0 9 29 2 *', 'UTC').next(new Date('2026-03-01T00:00:00Z'))?.key).toBe(
      '2028-02-29T09:00',
    );
    // 13th that is a Friday: 2026-02-13, then 2026-03-13.
    const friday13 = new CronSchedule('0 9 13 * 5', 'UTC');
    expect(friday13.next(new Date('2026-01-01T00:00:00Z'))?.key).toBe('2026-02-13T09:00');
    expect(friday13.next(new Date('2026-02-14T00:00:00Z'))?.key).toBe('2026-03-13T09:00');
  });

  test('away from daylight-saving changes the slots agree with node-cron’s own next runs', () => {
    const expressions = ['0 9 * * 1-5', '*/20 8-10 * * *', '15 6 1,15 * *', '0 18 * * sun', '@daily'];
    jest.useFakeTimers({ now: new Date('2026-05-04T10:17:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    try {
      for (const zone of ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata']) {
        for (const expression of expressions) {
          const task = createTask(expression, () => {}, { timezone: zone });
          try {
            const theirs = task.getNextRuns(6).map((at) => at.toISOString());
            const schedule = new CronSchedule(expression, zone);
            const ours: string[] = [];
            let from = new Date();
            for (let i = 0; i < 6; i++) {
              const slot = schedule.next(from)!;
              ours.push(slot.at.toISOString());
              from = slot.at;
            }
            expect({ zone, expression, runs: ours }).toEqual({ zone, expression, runs: theirs });
          } finally {
            task.destroy();
          }
        }
      }
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('schedule expressions', () => {
  test('five fields or a nickname; seconds, bad values and L/W/# are refused with a reason', () => {
    expect(cronProblem('0 9 * * 1-5')).toBeUndefined();
    expect(cronProblem('@weekly')).toBeUndefined();
    expect(cronProblem('*/10 * * * * *')).toBe(
      'digests run at most once a minute: give five fields without seconds, like "0 9 * * 1-5" (minute hour day-of-month month weekday)',
    );
    expect(cronProblem('0 9 * *')).toMatch(/^expected five fields, like "0 9 \* \* 1-5" .*; got 4$/);
    expect(cronProblem('0 25 * * *')).toMatch(
      /^not a valid cron schedule: 25 is a invalid expression for hour;/,
    );
    expect(cronProblem('0 9 L * *')).toBe(
      'L, W and # (last day, nearest weekday, nth weekday) are not supported in digest schedules; list days instead',
    );
  });
});

describe('the digests: section of millwright.yml', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-digest-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const check = async (yaml: string) => {
    const file = path.join(dir, 'millwright.yml');
    await writeFile(file, yaml);
    return checkConfig(file, {}, { cwd: dir });
  };

  test('every mistake is reported with its line and path', async () => {
    const result = await check(`digests:
  - name: morning
    schedule: "0 25 * * *"
    timeZone: Europe/Berlinn
    target: C0123
    sections: [budgets, weather]
  - name: morning
    schedule: "0 9 * * *"
    target: C0123
    missed: later
`);
    expect(result.ok).toBe(false);
    const text = result.lines.join('\n');
    expect(text).toMatch(
      /millwright\.yml:3:\d+ digests\[0\]\.schedule: not a valid cron schedule: 25 is a invalid expression for hour/,
    );
    expect(text).toMatch(
      /millwright\.yml:4:\d+ digests\[0\]\.timeZone: expected an IANA time zone like Europe\/Berlin or UTC/,
    );
    expect(text).toMatch(
      /digests\[0\]\.sections\[1\]: expected one of budgets, deploys, changes, incidents, toil/,
    );
    expect(text).toMatch(/digests\[1\]\.missed: /);
  });

  test('a minimal digest gets the defaults: UTC, every section, catch up within 6h, five attempts', async () => {
    const result = await check(`digests:\n  - { name: morning, schedule: "0 9 * * *", target: C0123 }\n`);
    expect(result).toMatchObject({ ok: true });
    const bot = await openDigestBot({
      config: `digests:\n  - { name: morning, schedule: "0 9 * * *", target: C0123 }\n`,
    });
    try {
      expect(bot.runtime.services.config.digests[0]).toEqual({
        name: 'morning',
        schedule: '0 9 * * *',
        timeZone: 'UTC',
        target: 'C0123',
        sections: ['budgets', 'deploys', 'changes', 'incidents', 'toil'],
        budgetBelow: 50,
        missed: 'catch-up',
        catchUpWithin: '6h',
        retry: { attempts: 5, backoff: '1m', maxBackoff: '30m' },
      });
    } finally {
      await bot.close();
      await removeDir(bot.dir);
    }
  });

  test('a digest that names a service or tag the catalog lacks stops start-up with a hint', async () => {
    const catalog = `services:\n  checkout: { tags: [tier-1] }\n  payments: {}\n`;
    await expect(
      openDigestBot({
        dir,
        config: `${catalog}digests:\n  - { name: m, schedule: "0 9 * * *", target: C1, services: [chekout] }\n`,
      }),
    ).rejects.toMatchObject({
      code: 'millwright_config_invalid',
      message: 'digests[0] (m): service chekout is not in the services catalog',
      hint: 'did you mean checkout?',
    });
    await expect(
      openDigestBot({
        dir,
        config: `${catalog}digests:\n  - { name: m, schedule: "0 9 * * *", target: C1, tags: [tier-2] }\n`,
      }),
    ).rejects.toMatchObject({
      code: 'millwright_config_invalid',
      message: 'digests[0] (m): no service in the catalog has the tag tier-2',
      hint: 'tags in use: tier-1',
    });
  });
});
