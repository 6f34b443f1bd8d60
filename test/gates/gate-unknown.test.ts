// When Prometheus goes down the gate cannot vouch for a change: pipelines are told unknown, never
// pass, and policy.whenUnknown decides whether the change waits for a person or is refused.
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningPrometheus } from '../doubles/prometheus.js';
import {
  catalogOf,
  GATE_ACCESS,
  type GateServer,
  slosFor,
  startGateServer,
  startTrafficPrometheus,
} from './setup.js';

const TOKEN = 'ci-unknown-2b7d9e4f1a6c';

describe('the gate for pipelines when Prometheus is down', () => {
  let prometheus: RunningPrometheus;
  const servers: GateServer[] = [];

  /** A Millwright whose policy says `whenUnknown`, reading the one Prometheus. */
  async function millwright(whenUnknown: 'approval' | 'deny') {
    const server = await startGateServer(
      prometheus,
      `${catalogOf(['checkout', 'cart'])}${slosFor(['checkout', 'cart'])}policy: { whenUnknown: ${whenUnknown} }
${GATE_ACCESS}gates:
  pipelines:
    ci: { token: ${TOKEN}, services: '*' }
`,
    );
    servers.push(server);
    const { running, url } = server;

    const call = async (route: string, body?: unknown): Promise<GateAnswer> => {
      const response = await fetch(`${url}${route}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as GateAnswer;
    };
    return {
      running,
      evaluate: (service: string) => call('/api/v1/gates/evaluate', { service, version: '1.0.0' }),
      status: (id: string) => call(`/api/v1/gates/${id}`),
    };
  }

  beforeAll(async () => {
    prometheus = await startTrafficPrometheus({ checkout: 'healthy', cart: 'healthy' }, 2);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await prometheus?.close();
  });

  it('holds the change for a person (whenUnknown: approval) or refuses it (deny), and never passes it', async () => {
    const holding = await millwright('approval');
    const refusing = await millwright('deny');
    // While Prometheus answers, the same service passes: the unknown below is Prometheus going away.
    expect((await holding.evaluate('checkout')).decision).toBe('pass');

    await prometheus.stop();

    const held = await holding.evaluate('cart');
    expect(held).toMatchObject({ decision: 'unknown', awaiting: 'approval', state: 'pending-approval' });
    const budget = held.rules.find((rule) => rule.name === 'error-budget');
    expect(budget?.verdict).toBe('unknown');
    expect(budget?.detail).toMatch(
      /^error budget cart-availability: unknown \(Prometheus at http:\/\/127\.0\.0\.1:\d+ is unavailable: connection refused\)$/,
    );
    expect(held.reason).toMatch(/^the gate could not decide \(.+\); held for a person/);

    const refused = await refusing.evaluate('cart');
    expect(refused).toMatchObject({ decision: 'unknown', state: 'denied' });
    expect(refused.awaiting).toBeUndefined();
    expect(refused.reason).toMatch(/policy\.whenUnknown is deny$/);
    // A later poll says the same: the decision is read from the change, not re-guessed.
    expect(await refusing.status(refused.changeId)).toMatchObject({ decision: 'unknown', state: 'denied' });

    // A person's approval does not let a change through blind: the gate looks again first.
    const approved = await holding.running.router.handle({
      actor: { id: 'dee' },
      surface: 'slack',
      channel: 'C-OPS',
      text: `change approve ${held.changeId}`,
    });
    // The approval is recorded; its answer is partial, since the gate's look could not read the budget.
    expect(approved.error?.code).toBe('millwright_prometheus_unavailable');
    const problems = (approved.data as { problems: { code: string }[] }).problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.code === 'millwright_prometheus_unavailable')).toBe(true);
    const after = await holding.status(held.changeId);
    expect(after).toMatchObject({ decision: 'unknown', state: 'denied' });
  }, 120_000);
});
