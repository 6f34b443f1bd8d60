// A pipeline learns its answer by asking: an approval in chat delivers nothing until the pipeline's
// next question hears pass, a change let through but never picked up expires uncounted, a re-run of
// the same step while its change still waits answers with that change, and `change stats` counts
// only what verification judged. Against a real Prometheus with backfilled traffic.
import { fixedClock, type Reply, replyToText } from '../../src/core/index.js';
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningPrometheus } from '../doubles/prometheus.js';
import {
  catalogOf,
  expectData,
  GATE_ACCESS,
  type GateServer,
  PIPELINE_POLICY,
  slosFor,
  startGateServer,
  startTrafficPrometheus,
} from './setup.js';

const TOKEN = 'ci-pickup-3b8e1f6a9c2d4075';
const SERVICES = ['ledger', 'checkout', 'search', 'cart'];

describe('a pipeline picks up what it was let through', () => {
  let prometheus: RunningPrometheus;
  let server: GateServer;
  const clock = fixedClock(new Date(0));
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms));

  beforeAll(async () => {
    prometheus = await startTrafficPrometheus(Object.fromEntries(SERVICES.map((s) => [s, 'healthy'])));
    // Ten minutes before the last sample, so verification can read the burn rates as time moves.
    clock.set(new Date(prometheus.end.getTime() - 10 * 60_000));
    server = await startGateServer(
      prometheus,
      `${catalogOf(SERVICES)}${slosFor(SERVICES)}${PIPELINE_POLICY}  approvals: { ttl: 1h }
  verify: { window: 2m, interval: 1m }
${GATE_ACCESS}gates:
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

  const evaluate = async (body: Record<string, string>): Promise<GateAnswer> => {
    const response = await fetch(`${server.url}/api/v1/gates/evaluate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as GateAnswer;
  };
  const poll = async (id: string): Promise<GateAnswer> => {
    const response = await fetch(`${server.url}/api/v1/gates/${id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as GateAnswer;
  };
  const as = (actor: string, text: string): Promise<Reply> =>
    server.running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const changes = () => server.running.runtime.services.changes;
  const lockOf = async (service: string) =>
    (await server.running.runtime.services.store.get<{ id: string; owner: string; expiresAt: string }>(
      'locks',
      `change:${service}`,
    )) ?? undefined;
  const heldBy = async (service: string) => {
    const lock = await lockOf(service);
    return lock && new Date(lock.expiresAt) > clock.now() ? lock.owner : undefined;
  };
  const deliveriesOf = async (service: string) => {
    const stats = await as('ana', `change stats service=${service}`);
    expect(stats.error).toBeUndefined();
    expectData('change', 'stats', stats.data);
    return (stats.data as { stats: { deliveries: { services: Array<Record<string, unknown>> } } }).stats
      .deliveries.services;
  };

  it('delivers an approved change only when the pipeline next asks, and then it is pass', async () => {
    const asked = await evaluate({ service: 'ledger', version: '3', risk: 'high' });
    expect(asked).toMatchObject({ decision: 'pending', awaiting: 'approval' });

    // Nobody waits on it now (the step exited 1); an approver lets it through later.
    const approved = await as('dee', `change approve ${asked.changeId}`);
    expect(approved.error).toBeUndefined();
    expect(replyToText(approved)).toContain(
      `${asked.changeId} is approved; delivered when ci next asks: deployment of ledger 3 by ci`,
    );
    const held = await changes().get(asked.changeId);
    expect(held.state).toBe('approved');
    expect(held.execution).toBeUndefined();
    expect(held.timeline.map((entry) => entry.event)).toContain('awaiting pickup');
    // Not delivered: no lock taken, not counted, and the worker does not run it by itself.
    expect(await heldBy('ledger')).toBeUndefined();
    await changes().tick();
    expect((await changes().get(asked.changeId)).state).toBe('approved');
    expect(await deliveriesOf('ledger')).toEqual([]);

    // The pipeline's next question hears pass: only now is it delivered, verified and counted.
    const picked = await poll(asked.changeId);
    expect(picked).toMatchObject({ decision: 'pass', state: 'verifying', reason: 'approved by dee' });
    expect(await heldBy('ledger')).toBe(asked.changeId);
    expect(await deliveriesOf('ledger')).toEqual([
      expect.objectContaining({ deployments: 1, verified: 0, failed: 0, changeFailureRate: null }),
    ]);
    const stats = replyToText(await as('ana', 'change stats service=ledger'));
    expect(stats).toContain('none verified yet (1 in verification)');
  });

  it('answers a re-run of the same step with the change that still waits, asking the channel once', async () => {
    // The same CI step, run again and again.
    const step = { service: 'search', version: '9', environment: 'production', risk: 'high' };
    const first = await evaluate(step);
    const again = await evaluate(step);
    expect(again).toMatchObject({ changeId: first.changeId, decision: 'pending', awaiting: 'approval' });
    expect(server.posts.filter((post) => post.target === 'C-SEARCH')).toHaveLength(1);
    expect(await changes().list({ service: 'search' })).toHaveLength(1);
    // Another version is another change.
    const other = await evaluate({ ...step, version: '10' });
    expect(other.changeId).not.toBe(first.changeId);

    // Once approved, the re-run is the pickup: the same change, now pass.
    expect((await as('dee', `change approve ${first.changeId}`)).error).toBeUndefined();
    const third = await evaluate(step);
    expect(third).toMatchObject({ changeId: first.changeId, decision: 'pass', state: 'verifying' });
  });

  it('keeps an approved change waiting for the lock until the pipeline asks after the lock is free', async () => {
    const running = await evaluate({ service: 'checkout', version: '1' });
    expect(running).toMatchObject({ decision: 'pass', state: 'verifying' });
    const next = await evaluate({ service: 'checkout', version: '2' });
    expect(next).toMatchObject({ decision: 'pending', awaiting: 'approval' });
    expect((await as('dee', `change approve ${next.changeId}`)).error).toBeUndefined();
    expect(await poll(next.changeId)).toMatchObject({ decision: 'pending', awaiting: 'lock' });

    // The first one's verification ends and frees the lock; the second does not run by itself.
    for (let minute = 1; minute <= 3; minute++) {
      advance(60_000);
      await changes().tick();
    }
    expect((await changes().get(running.changeId)).state).toBe('succeeded');
    expect(await heldBy('checkout')).toBeUndefined();
    expect((await changes().get(next.changeId)).state).toBe('approved');

    expect(await poll(next.changeId)).toMatchObject({ decision: 'pass', state: 'verifying' });
    expect(await heldBy('checkout')).toBe(next.changeId);
    // One verified (succeeded), one still in verification: the rate is over the verified one only.
    expect(await deliveriesOf('checkout')).toEqual([
      expect.objectContaining({ deployments: 2, verified: 1, failed: 0, changeFailureRate: 0 }),
    ]);
    expect(replyToText(await as('ana', 'change stats service=checkout'))).toContain(
      '0.0% (0 of 1), 1 in verification',
    );
  });

  it('expires an approved change the pipeline never asks about again, uncounted', async () => {
    const asked = await evaluate({ service: 'cart', version: '5', risk: 'high' });
    expect((await as('dee', `change approve ${asked.changeId}`)).error).toBeUndefined();
    advance(61 * 60_000);
    await changes().tick();
    const expired = await changes().get(asked.changeId);
    expect(expired.state).toBe('expired');
    expect(expired.execution).toBeUndefined();
    expect(expired.timeline.at(-1)?.detail).toContain('did not ask again before the request expired');
    expect(await heldBy('cart')).toBeUndefined();
    expect(await deliveriesOf('cart')).toEqual([]);
    // Asking after the fact is an honest fail, not a late delivery.
    expect(await poll(asked.changeId)).toMatchObject({
      decision: 'fail',
      state: 'expired',
      reason: 'approved, but not asked about again before the request expired; nothing was delivered',
    });
  });

  it('refuses change stats for a service the catalog lacks, naming the known ones', async () => {
    const reply = await as('ana', 'change stats service=ledgr');
    expect(reply.error?.code).toMatch(/^millwright_/);
    expect(reply.error?.message).toBe('service=ledgr is not in the service catalog');
    expect(reply.error?.hint).toBe(`known services: ${SERVICES.join(', ')}`);
    // The refusal as every unknown service= is refused (change request too): one error line, its fix.
    expect(replyToText(reply).split('\n')).toEqual([
      'error: service=ledgr is not in the service catalog',
      `hint: known services: ${SERVICES.join(', ')}`,
    ]);
    expect(reply.data).toBeUndefined();
  });
});
