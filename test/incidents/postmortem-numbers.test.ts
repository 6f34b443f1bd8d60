// The postmortem's impact numbers come from Prometheus: a 20% error spike over the last 30
// minutes of a 99.9% / 30d SLO consumes 0.2 x 30m / 30d / 0.001 = 13.9% of the budget, peak 200x.
import { fixedClock, replyToText } from '../../src/core/index.js';
import {
  evaluationEnd,
  type RunningPrometheus,
  type SeriesFixture,
  startPrometheus,
} from '../doubles/prometheus.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const PER_MINUTE = 6000;

function counter(code: string, start: number, perMinute: (t: number) => number): SeriesFixture {
  let sum = 0;
  let last = start;
  return {
    family: 'http_requests',
    type: 'counter',
    labels: { service: 'checkout', code },
    value: (t) => {
      for (; last < t; last += 60) sum += perMinute(last + 60);
      return sum;
    },
  };
}

describe('postmortem impact from a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let bot: TestBot;
  const clock = fixedClock(new Date(0));

  beforeAll(async () => {
    const end = evaluationEnd();
    const start = end - 30 * 86_400 - 7200;
    const spike = end - 30 * 60;
    const errors = (t: number) => (t > spike ? 0.2 * PER_MINUTE : 0);
    prometheus = await startPrometheus({
      start,
      end,
      series: [counter('200', start, (t) => PER_MINUTE - errors(t)), counter('500', start, errors)],
    });
    bot = await startTestBot({
      clock,
      config: `
prometheus: { url: ${prometheus.url} }
services:
  checkout: { owners: [olu] }
slos:
  - service: checkout
    name: availability
    objective: 99.9
    window: 30d
    sli:
      events:
        errorQuery: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))
        totalQuery: sum(rate(http_requests_total{service="checkout"}[{{window}}]))
access:
  defaultRoles: [responder]
  roles:
    responder: { allow: ['incident.*'] }
`,
    });
    clock.set(new Date(spike * 1000));
  }, 120_000);
  afterAll(async () => {
    await bot?.close();
    await prometheus?.close();
  });

  it('states the budget consumed and the peak burn rate during the incident', async () => {
    const inChannel = (text: string) =>
      bot.router.handle({ actor: { id: 'ana' }, surface: 'slack', channel: 'C-INC', text });
    const declared = replyToText(await inChannel('incident declare checkout errors service=checkout sev=2'));
    expect(declared).toMatch(/checkout-availability\s+\d+\.\d%\s+(ok|ticket|page)/);
    clock.set(prometheus.end);
    await inChannel('incident resolve summary="bad deploy rolled back"');
    const draft = replyToText(await inChannel('incident postmortem'));
    const impact =
      /checkout-availability \(objective 99\.9%\): (\d+\.\d)% of the error budget consumed during the incident; peak burn rate (\d+\.\d)x/.exec(
        draft,
      );
    expect(impact).not.toBeNull();
    // 0.2 x (30 min / 43,200 min) / 0.001 = 13.89%; 0.2 / 0.001 = 200x.
    expect(Number(impact![1])).toBeCloseTo(13.9, 1);
    expect(Number(impact![2])).toBeCloseTo(200, 0);
    expect(draft).toContain('- Duration: 30m');
  });
});
