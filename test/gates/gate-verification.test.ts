// Release notes in numbers: a gated deployment is verified like any change, with the budget read
// before it and after it, so `change stats` and the digest tell each service's and each team's
// failure rate and budget cost per delivery, against a real Prometheus where one deployment hurts
// and one does not.
import { fixedClock, replyToText } from '../../src/core/index.js';
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningPrometheus } from '../doubles/prometheus.js';
import {
  expectData,
  GATE_ACCESS,
  type GateServer,
  PIPELINE_POLICY,
  slosFor,
  startGateServer,
  startTrafficPrometheus,
} from './setup.js';

const TOKEN = 'ci-verify-6e2a9d4c0b7f1358';
/** The deployments happen ten minutes before the last backfilled sample. */
const changeAtOf = (end: number) => end - 10 * 60;

/** A daily digest whose last slot was the minute before the deployments, so its period holds them. */
function digestBefore(changeAt: number): string {
  const slot = new Date((changeAt - 60) * 1000);
  return `digests:
  - name: delivery
    schedule: "${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *"
    target: C-OPS
    sections: [changes]
`;
}

describe('gated deployments, verified and counted', () => {
  let prometheus: RunningPrometheus;
  let server: GateServer;
  const clock = fixedClock(new Date(0));

  beforeAll(async () => {
    // cart fails 10% of its requests from a minute after its deployment; checkout stays as it was.
    prometheus = await startTrafficPrometheus({
      checkout: 'healthy',
      cart: (t, end) => (t > changeAtOf(end) + 60 ? 600 : 3),
    });
    clock.set(new Date(changeAtOf(prometheus.end.getTime() / 1000) * 1000));
    server = await startGateServer(
      prometheus,
      `services:
  checkout: { channel: C-CHECKOUT, team: storefront }
  cart: { channel: C-CART, team: storefront }
  search: { channel: C-SEARCH }
${slosFor(['checkout', 'cart'])}${PIPELINE_POLICY}  verify: { window: 5m, interval: 1m }
${digestBefore(changeAtOf(prometheus.end.getTime() / 1000))}${GATE_ACCESS}gates:
  pipelines:
    ci: { token: ${TOKEN}, services: '*' }
`,
      { clock },
    );
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await prometheus?.close();
  });

  const evaluate = async (service: string): Promise<GateAnswer> => {
    const response = await fetch(`${server.url}/api/v1/gates/evaluate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service, version: '7.0.0', environment: 'production' }),
    });
    return (await response.json()) as GateAnswer;
  };

  it('records the budget before and after each deployment, and change stats reports failure rate and cost', async () => {
    const checkout = await evaluate('checkout');
    const cart = await evaluate('cart');
    expect([checkout.decision, cart.decision]).toEqual(['pass', 'pass']);

    const { changes } = server.running.runtime.services;
    const changeAt = clock.now().getTime();
    for (let minute = 1; minute <= 7; minute++) {
      clock.set(new Date(changeAt + minute * 60_000));
      await changes.tick();
    }

    const verifiedCheckout = await changes.get(checkout.changeId);
    const verifiedCart = await changes.get(cart.changeId);
    expect(verifiedCheckout.state).toBe('succeeded');
    expect(verifiedCart.state).toBe('failed');
    expect(verifiedCart.timeline.map((t) => t.detail)).toContain(
      'no rollback was run: ci delivered this change, so Millwright has nothing to run to undo it; told C-CART',
    );
    // Both readings are on the record: the baseline before, the last sample after.
    for (const change of [verifiedCheckout, verifiedCart]) {
      expect(change.verification?.baseline?.[0]?.remainingPercent).toEqual(expect.any(Number));
      expect(change.verification?.after?.[0]?.remainingPercent).toEqual(expect.any(Number));
    }
    // A failed poll after the fact still reads pass: the gate let it through; verification judged it.
    expect(
      (await fetch(`${server.url}/api/v1/gates/${cart.changeId}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }).then((r) => r.json())) as GateAnswer,
    ).toMatchObject({ decision: 'pass', state: 'failed' });

    const stats = await server.running.router.handle({
      actor: { id: 'ana' },
      surface: 'slack',
      channel: 'C-OPS',
      text: 'change stats',
    });
    const rows = stats.blocks.flatMap((block) => (block.type === 'table' ? block.rows : []));
    const row = (service: string) => rows.find((r) => r[0] === service);
    expect(row('cart')?.slice(0, 3)).toEqual(['cart', '1', '100.0% (1 of 1)']);
    expect(row('checkout')?.slice(0, 3)).toEqual(['checkout', '1', '0.0% (0 of 1)']);
    const cost = (service: string) => Number(/^(-?\d+\.\d+) pp/.exec(row(service)?.[3] ?? '')?.[1]);
    // 10% failing against a 0.1% objective burns 100× for the minutes before verification caught it.
    expect(cost('cart')).toBeGreaterThan(0.1);
    expect(Math.abs(cost('checkout'))).toBeLessThan(0.05);
    expect(replyToText(stats)).toContain('Gated deliveries (pipelines)');
    // Per team: both services are the storefront's, one of its two deployments failed.
    const storefront = row('storefront');
    expect(storefront?.slice(0, 3)).toEqual(['storefront', '2', '50.0% (1 of 2)']);
    expect(Number(/^(-?\d+\.\d+) pp/.exec(storefront?.[3] ?? '')?.[1])).toBeCloseTo(
      (cost('cart') + cost('checkout')) / 2,
      1,
    );

    // The same figures as raw values, valid against the schema.
    const data = stats.data as {
      stats: {
        deliveries: { services: Array<Record<string, unknown>>; teams: Array<Record<string, unknown>> };
      };
    };
    expectData('change', 'stats', stats.data);
    const { services, teams } = data.stats.deliveries;
    expect(services.find((s) => s.service === 'cart')).toMatchObject({
      team: 'storefront',
      deployments: 1,
      deploymentsPerDay: 1 / 30,
      failed: 1,
      changeFailureRate: 1,
      measured: 1,
    });
    expect(services.find((s) => s.service === 'cart')?.budgetCostPerDeployment).toBeCloseTo(cost('cart'), 2);
    expect(teams).toEqual([
      expect.objectContaining({
        team: 'storefront',
        services: ['cart', 'checkout'],
        deployments: 2,
        failed: 1,
        changeFailureRate: 0.5,
      }),
    ]);

    // The digest's change section carries the same figures for its period.
    const digest = replyToText(await server.running.runtime.services.digests.preview('delivery'));
    expect(digest).toContain('Gated deliveries per service');
    expect(digest).toMatch(
      /cart: 1 deployment, change failure rate 100\.0% \(1 of 1\), budget cost \d+\.\d\d pp of the budget per deployment/,
    );
    expect(digest).toMatch(
      /storefront: 2 deployments, change failure rate 50\.0% \(1 of 2\), budget cost -?\d+\.\d\d pp/,
    );
  }, 120_000);
});
