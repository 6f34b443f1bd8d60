// The budgets section against the real Prometheus with 30 days of backfilled traffic whose answers
// are known (test/slo/scenarios.ts): which SLOs are listed, and how much budget moved between digests.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedClock, replyToText } from '../../src/core/index.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { paymentsRatio, scenarioSeries } from '../slo/scenarios.js';
import { ADMIN, type DigestBot, openDigestBot, RecordingNotifier, removeDir } from './harness.js';

const SLOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/slo/scenarios');
const MINUTE = 60_000;

let prometheus: RunningPrometheus;
let bot: DigestBot;
const clock = fixedClock(new Date(0));
const notifier = new RecordingNotifier('slack', clock);

beforeAll(async () => {
  const end = evaluationEnd();
  const { series, start } = scenarioSeries(end);
  prometheus = await startPrometheus({ series, start, end });
  clock.set(new Date(prometheus.end.getTime() - 90 * MINUTE));
  bot = await openDigestBot({
    clock,
    notifier,
    config: `prometheus:
  url: ${prometheus.url}
slo:
  dir: ${SLOS}
digests:
  - name: budgets
    schedule: "* * * * *"
    target: C0BUDGETS
    sections: [budgets]
    budgetBelow: 60
${ADMIN}`,
  });
}, 120_000);

afterAll(async () => {
  await bot?.close();
  await removeDir(bot?.dir);
  await prometheus?.close();
});

test('SLOs below the threshold or burning are listed with the change in budget since the last digest', async () => {
  const { digests } = bot.runtime.services;
  await digests.start();
  // An hour before the payments spike's end: the first digest records every SLO's budget.
  clock.set(new Date(prometheus.end.getTime() - 60 * MINUTE));
  await digests.tick();
  expect(notifier.posts).toHaveLength(1);
  const first = notifier.posts[0]!.reply.blocks.find((block) => block.type === 'table');
  expect(first?.type === 'table' && first.rows.find((row) => row[0] === 'payments/availability')).toEqual([
    'payments/availability',
    '50%',
    'first digest',
    '0.5×',
    'ok',
  ]);

  // An hour later, at the end of the data: 30 minutes of 20% errors have burned payments' budget.
  clock.set(prometheus.end);
  await digests.tick();
  await digests.stop();
  expect(notifier.posts).toHaveLength(2);
  const posted = notifier.posts[1]!;
  const rows = posted.reply.blocks.find((block) => block.type === 'table');
  if (rows?.type !== 'table') throw new Error('no budget table');
  const byName = new Map(rows.rows.map((row) => [row[0], row.slice(1)]));
  // 36.15% left now against 50% an hour ago.
  const paymentsLeft = 1 - paymentsRatio(43_200) / 0.001;
  expect(Number(((paymentsLeft - 0.5) * 100).toFixed(1))).toBe(-13.9);
  expect(byName.get('payments/availability')).toEqual(['36.1%', '-13.9 pts', '100×', 'page']);
  // Search has burned at 4x for a day: a ticket. In the hour since the last digest its 30-day window
  // gained 60 minutes at 24 errors a minute and lost 60 at 3: 1260 of 259.2M requests, 0.486 pts.
  const searchMoved = ((60 * (24 - 3)) / (43_200 * 6000) / 0.001) * 100;
  expect(searchMoved.toFixed(3)).toBe('0.486');
  expect(byName.get('search/availability')).toEqual([
    expect.stringMatching(/%$/),
    '-0.5 pts',
    '4×',
    'ticket',
  ]);
  // Half the budget left is below the 60% threshold; it did not move.
  expect(byName.get('checkout/availability')).toEqual(['50%', 'no change', '0.5×', 'ok']);
  // A missing series is listed, never hidden: Millwright cannot vouch for it.
  expect(byName.get('inventory/availability')).toEqual(['no data', '', 'no data', 'unknown']);
  // Healthy ones are not: latency (80% left) and the idle service with no traffic at all.
  expect(byName.has('checkout/latency')).toBe(false);
  expect(byName.has('idle/availability')).toBe(false);
  expect(posted.text).toMatch(/^budgets digest: /);
  expect(posted.text).toContain(`${rows.rows.length} of 8 SLOs need attention`);
  expect(posted.text).toContain('2 other SLOs above 60% and not burning.');
});

test('when Prometheus stops answering, the digest still goes out and says so', async () => {
  await prometheus.stop();
  try {
    const preview = replyToText(await bot.run('digest run budgets --here'));
    expect(preview).toContain('8 of 8 SLOs need attention');
    expect(preview).toMatch(/payments\/availability\s+unknown/);
    expect(preview).toMatch(/Prometheus did not answer: .+/);
  } finally {
    await prometheus.start();
  }
});
