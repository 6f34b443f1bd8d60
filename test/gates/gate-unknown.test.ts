// When Prometheus goes down the gate cannot vouch for a change: pipelines are told unknown, never
// pass, and policy.whenUnknown decides whether the change waits for a person or is refused.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app.js';
import { fixedClock, silentLogger } from '../../src/core/index.js';
import type { GateAnswer } from '../../src/gates/index.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { availabilitySlo, traffic } from '../helpers/traffic.js';

const TOKEN = 'ci-unknown-2b7d9e4f1a6c';

describe('the gate for pipelines when Prometheus is down', () => {
  let prometheus: RunningPrometheus;
  const dirs: string[] = [];
  const servers: Array<{ running: RunningServer; signals: EventEmitter }> = [];

  /** A Millwright whose policy says `whenUnknown`, reading the one Prometheus. */
  async function millwright(whenUnknown: 'approval' | 'deny') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-gates-unknown-'));
    dirs.push(dir);
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
prometheus: { url: ${prometheus.url} }
services:
  checkout: { channel: C-CHECKOUT }
  cart: { channel: C-CART }
slos:${availabilitySlo('checkout')}${availabilitySlo('cart')}
policy: { whenUnknown: ${whenUnknown} }
access:
  defaultRoles: []
  roles: { approver: { allow: ['change.*'] } }
  subjects: { dee: [approver] }
gates:
  pipelines:
    ci: { token: ${TOKEN}, services: '*' }
`,
    );
    const signals = new EventEmitter();
    const running = await startServer(await loadConfig(file, { env: {} }), {
      logger: silentLogger(),
      clock: fixedClock(prometheus.end),
      signals,
    });
    servers.push({ running, signals });
    const url = `http://127.0.0.1:${running.port}`;
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
    const end = evaluationEnd();
    const start = end - 2 * 86_400;
    prometheus = await startPrometheus({
      start,
      end,
      series: [...traffic('checkout', start, () => 3), ...traffic('cart', start, () => 3)],
    });
  }, 120_000);

  afterAll(async () => {
    for (const { running, signals } of servers) {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
    }
    await prometheus?.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
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
    expect(approved.error).toBeUndefined();
    const after = await holding.status(held.changeId);
    expect(after).toMatchObject({ decision: 'unknown', state: 'denied' });
  }, 120_000);
});
