// A release's two tracks read apart from a real Prometheus: the SLO's own queries with the track label
// added count each track's bad and total events over the interval, and the verdict judges them.
import { createServer } from 'node:net';
import { DEFAULT_ANALYSIS, judgeStep } from '../../src/releases/analysis.js';
import { DEFAULT_TRACKS, readTrackSamples } from '../../src/releases/track-counts.js';
import { PrometheusClient, parseSloFile, type Slo } from '../../src/slo/index.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { availabilitySlo, traffic } from '../helpers/traffic.js';

const INTERVAL = 10 * 60_000;
let prometheus: RunningPrometheus;
let client: PrometheusClient;
let slos: Map<string, Slo>;

beforeAll(async () => {
  const end = evaluationEnd();
  const start = end - 60 * 60;
  const tracks = (service: string, stable: [number, number], canary: [number, number]) => [
    ...traffic(service, start, () => stable[0], stable[1], { track: 'stable' }),
    ...traffic(service, start, () => canary[0], canary[1], { track: 'canary' }),
  ];
  prometheus = await startPrometheus({
    start,
    end,
    series: [
      // 1% of 6,000 a minute on the stable pods; the canary fails 3% of its 600.
      ...tracks('checkout', [60, 6000], [18, 600]),
      // The same 1% on both.
      ...tracks('search', [60, 6000], [6, 600]),
      // A canary that gets almost nothing: 10 requests a minute.
      ...tracks('cart', [60, 6000], [0, 10]),
    ],
  });
  client = new PrometheusClient({ url: prometheus.url });
  const { slos: parsed, problems } = parseSloFile(
    `slos:${['checkout', 'search', 'cart'].map(availabilitySlo).join('')}`,
    'slos.yml',
  );
  expect(problems).toEqual([]);
  slos = new Map(parsed.map((slo) => [slo.service, slo]));
}, 120_000);

afterAll(() => prometheus?.close());

const read = (service: string) =>
  readTrackSamples([slos.get(service)!], client, {
    at: prometheus.end,
    intervalMs: INTERVAL,
    tracks: DEFAULT_TRACKS,
  });

it("counts each track's bad and total events over the interval", async () => {
  const [checkout] = await read('checkout');
  expect(checkout!.sli).toBe('checkout-availability');
  expect(checkout!.errorBudget).toBeCloseTo(0.001, 12);
  // Ten minutes of 6,000 (60 failing) and 600 (18 failing) a minute.
  expect(checkout!.stable.total).toBeGreaterThanOrEqual(59_000);
  expect(checkout!.stable.total).toBeLessThanOrEqual(61_000);
  expect(checkout!.stable.bad / checkout!.stable.total).toBeCloseTo(0.01, 4);
  expect(checkout!.canary.total).toBeGreaterThanOrEqual(5_900);
  expect(checkout!.canary.total).toBeLessThanOrEqual(6_100);
  expect(checkout!.canary.bad / checkout!.canary.total).toBeCloseTo(0.03, 4);
});

it('a canary failing 3× as often aborts; one like the stable promotes; one without traffic waits', async () => {
  // Both tracks burn a 99.9% budget far faster than the default ceiling; compare them by the test alone.
  const statistics = { ...DEFAULT_ANALYSIS, maxBurnRate: 100 };
  const checkout = judgeStep(await read('checkout'), statistics, { waited: 0 });
  expect(checkout.decision).toBe('abort');
  expect(checkout.slis[0]).toMatchObject({ outcome: 'fail', test: 'z' });
  expect(checkout.reason).toMatch(
    /^checkout-availability: the canary is worse: canary \d+\/\d+ bad \(3.00%\) vs stable \d+\/\d+ bad \(1.00%\)/,
  );

  const search = judgeStep(await read('search'), statistics, { waited: 0 });
  expect(search.decision).toBe('promote');
  // Under the default ceiling the same canary aborts on its own burn rate (1% of a 0.1% budget: 10×
  // passes, 3% is 30×).
  const burning = judgeStep(await read('checkout'), DEFAULT_ANALYSIS, { waited: 0 });
  expect(burning.slis[0]).toMatchObject({ outcome: 'fail', test: 'none' });
  expect(burning.reason).toMatch(/burns its error budget at 30.0× .* the policy aborts at 14.4×/);

  const cart = judgeStep(await read('cart'), DEFAULT_ANALYSIS, { waited: 0 });
  expect(cart.decision).toBe('wait');
  expect(cart.slis[0]).toMatchObject({ outcome: 'insufficient', canaryRatio: 0 });
  const [counts] = await read('cart');
  expect(counts!.canary.total).toBeGreaterThan(0);
  expect(counts!.canary.total).toBeLessThan(DEFAULT_ANALYSIS.minRequests);
});

it('a Prometheus that does not answer is an error, never a judged step', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const gone = new PrometheusClient({ url: `http://127.0.0.1:${port}` });
  await expect(
    readTrackSamples([slos.get('checkout')!], gone, {
      at: prometheus.end,
      intervalMs: INTERVAL,
      tracks: DEFAULT_TRACKS,
    }),
  ).rejects.toMatchObject({ code: 'millwright_prometheus_unavailable' });
});
