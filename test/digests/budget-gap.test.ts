// A paging service whose scrapes stopped ten minutes ago, against the real Prometheus: its burn
// state cannot be read, so the digest lists it as something to look at instead of dropping it.
import { fixedClock, replyToText } from '../../src/core/index.js';
import {
  evaluationEnd,
  type RunningPrometheus,
  type SeriesFixture,
  startPrometheus,
} from '../doubles/prometheus.js';
import { ADMIN, type DigestBot, openDigestBot, RecordingNotifier, removeDir } from './harness.js';

let prometheus: RunningPrometheus;
let bot: DigestBot;
const clock = fixedClock(new Date(0));

/** 6000 requests a minute; 2% fail in the hour before the gap (20×); nothing at all after `gapFrom`. */
function cart(start: number, burnFrom: number, gapFrom: number): SeriesFixture[] {
  const counter = (code: string, perMinute: (t: number) => number): SeriesFixture => {
    let total = 0;
    return {
      family: 'http_requests',
      type: 'counter',
      labels: { service: 'cart', code },
      value: (t) => {
        if (t >= gapFrom) return undefined;
        if (t !== start) total += perMinute(t);
        return total;
      },
    };
  };
  const errors = (t: number) => (t > burnFrom ? 120 : 0);
  return [counter('200', (t) => 6000 - errors(t)), counter('500', errors)];
}

beforeAll(async () => {
  const end = evaluationEnd();
  const start = end - 30 * 86_400 - 7200;
  prometheus = await startPrometheus({ start, end, series: cart(start, end - 70 * 60, end - 10 * 60) });
  clock.set(prometheus.end);
  bot = await openDigestBot({
    clock,
    notifier: new RecordingNotifier('slack', clock),
    config: `prometheus:
  url: ${prometheus.url}
slos:
  - service: cart
    name: availability
    objective: 99.9
    sli:
      events:
        errorQuery: sum(rate(http_requests_total{service="cart",code=~"5.."}[{{window}}]))
        totalQuery: sum(rate(http_requests_total{service="cart"}[{{window}}]))
digests:
  - name: budgets
    schedule: "0 9 * * *"
    target: C0BUDGETS
    sections: [budgets]
    budgetBelow: 50
${ADMIN}`,
  });
}, 120_000);

afterAll(async () => {
  await bot?.close();
  await removeDir(bot?.dir);
  await prometheus?.close();
});

test('an SLO whose burn state is unknown is a problem to look at, not a healthy one', async () => {
  const preview = replyToText(await bot.run('digest run budgets --here'));
  expect(preview).toContain('1 of 1 SLO need attention');
  expect(preview).toMatch(/cart\/availability\s+9\d\.\d%\s+first digest\s+\S+\s+unknown/);
  expect(preview).toContain(
    'cart/availability burn state unknown: cannot rule out page: no answer for the 5m window.',
  );
  expect(preview).not.toContain('none is burning');
});
