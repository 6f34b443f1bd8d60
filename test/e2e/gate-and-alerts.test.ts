// End to end against a real Prometheus and the Kubernetes double, over real HTTP: the gate lets a
// healthy service's standard restart through with no human, holds a burning one for approval,
// never auto-approves blind, and Alertmanager alerts act once per firing and only through the gate.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { fixedClock, type Reply, replyToText, silentLogger } from '../../src/core/index.js';
import { type RunningServer, startServer } from '../../src/main.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { availabilitySlo, traffic } from '../helpers/traffic.js';

const RUNBOOKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runbooks');
const TOKEN = 'am-token-0123456789';

describe('the policy gate and Alertmanager intake, end to end', () => {
  let prometheus: RunningPrometheus;
  let k8s: KubernetesApiDouble;
  let dir: string;
  let running: RunningServer;
  const signals = new EventEmitter();
  const posts: Array<{ target: string; text: string }> = [];
  let url: string;

  const as = (actor: string, text: string): Promise<Reply> =>
    running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const webhook = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${url}/hooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const alert = (status: 'firing' | 'resolved', fingerprint: string, labels: Record<string, string>) => ({
    status,
    labels: { alertname: 'PaymentsAvailabilityBurn', severity: 'critical', ...labels },
    annotations: { summary: 'payments is burning its error budget' },
    startsAt: '2026-11-26T10:00:00Z',
    endsAt: status === 'resolved' ? '2026-11-26T10:30:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint,
  });
  const payload = (status: 'firing' | 'resolved', alerts: unknown[]) => ({
    version: '4',
    groupKey: '{}:{alertname="PaymentsAvailabilityBurn"}',
    truncatedAlerts: 0,
    status,
    receiver: 'millwright',
    groupLabels: { alertname: 'PaymentsAvailabilityBurn' },
    commonLabels: { alertname: 'PaymentsAvailabilityBurn' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  });

  beforeAll(async () => {
    const end = evaluationEnd();
    const start = end - 30 * 86_400 - 7200;
    const spike = end - 30 * 60;
    prometheus = await startPrometheus({
      start,
      end,
      series: [
        ...traffic('checkout', start, () => 3),
        ...traffic('search', start, () => 3),
        ...traffic('payments', start, (t) => (t > spike ? 1200 : 3)),
      ],
    });
    k8s = await startKubernetesApi({
      objects: [
        ...loadKubernetesScenario('healthy'),
        ...loadKubernetesScenario('healthy', { deployment: 'payments' }),
        ...loadKubernetesScenario('healthy', { deployment: 'search' }),
      ],
    });
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-e2e-'));
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
runbooks: { dir: ${RUNBOOKS} }
prometheus: { url: ${prometheus.url} }
kubernetes: { kubeconfig: ${k8s.kubeconfigPath}, allowedNamespaces: [shop] }
services:
  checkout: { channel: C-CHECKOUT, kubernetes: { namespace: shop, deployments: [checkout] } }
  payments: { channel: C-PAYMENTS, kubernetes: { namespace: shop, deployments: [payments] } }
  search: { channel: C-SEARCH, kubernetes: { namespace: shop, deployments: [search] } }
slos:${availabilitySlo('checkout')}${availabilitySlo('payments')}${availabilitySlo('search')}
access:
  defaultRoles: []
  roles:
    operator: { allow: ['runbook.*', 'change.*'] }
    approver: { allow: ['change.*'] }
  subjects: { ana: [operator], alertmanager: [operator], dee: [approver] }
alertmanager:
  bearerToken: ${TOKEN}
  maxBodyBytes: 8192
  rules:
    - match: { alertname: PaymentsAvailabilityBurn }
      autoRemediate:
        runbook: restart-deployment
        params: { deployment: "{{ labels.deployment }}" }
`,
    );
    running = await startServer(await loadConfig(file, { env: {} }), {
      logger: silentLogger(),
      clock: fixedClock(prometheus.end),
      signals,
    });
    running.runtime.services.notices.register({
      name: 'recorder',
      owns: () => true,
      post: async (target, r) => {
        posts.push({ target, text: replyToText(r) });
        return {
          update: async (next) => void posts.push({ target, text: `(updated) ${replyToText(next)}` }),
        };
      },
    });
    url = `http://127.0.0.1:${running.port}`;
  }, 120_000);

  afterAll(async () => {
    signals.emit('SIGTERM', 'SIGTERM');
    await running?.stopped;
    await Promise.all([prometheus?.close(), k8s?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('approves and runs a standard restart on a healthy service with no human in the loop', async () => {
    k8s.clearRequests();
    const answer = await as('ana', 'change request restart-deployment deployment=checkout service=checkout');
    const text = replyToText(answer);
    expect(text).toMatch(/^CR-1 ran and is being verified/);
    expect(text).toContain('error budget checkout-availability: 50.0% left ≥ 25% ✔');
    expect(text).toContain('burn state checkout-availability: ok (1h 0.5× ≤ 14.4 and 5m 0.5× ≤ 14.4) ✔');
    expect(k8s.requestsTo('PATCH', '/apis/apps/v1/namespaces/shop/deployments/checkout')).toHaveLength(1);
  });

  it('holds the same request on a burning service for approval, with the numbers', async () => {
    const answer = await as('ana', 'change request restart-deployment deployment=payments');
    const text = replyToText(answer);
    expect(text).toMatch(/^CR-2 waits for approval/);
    // The page rule with both of its windows, so the verdict can be checked against the rule.
    expect(text).toMatch(
      /burn state payments-availability: page: 1h \d+\.\d× > 14\.4 and 5m \d+\.\d× > 14\.4 ✘/,
    );
    const self = await as('ana', 'change approve CR-2');
    expect(self.error?.message).toBe('ana requested CR-2 and cannot approve it too');
  });

  it('takes an alert once per firing, sends its remediation through the gate, and updates on resolve', async () => {
    const firing = payload('firing', [
      alert('firing', 'a1b2c3d4e5f60718', { service: 'payments', deployment: 'payments' }),
    ]);
    const first = await webhook(firing);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { alerts: Array<{ actions: string[] }> };
    expect(body.alerts[0]?.actions).toEqual(['posted', 'change CR-3 pending-approval']);
    const change = await running.runtime.services.changes.get('CR-3');
    expect(
      change.evaluations[0]?.rules.some((r) =>
        r.evidence.startsWith('burn state payments-availability: page'),
      ),
    ).toBe(true);
    expect(posts.find((p) => p.target === 'C-PAYMENTS')?.text).toMatch(
      /^Firing: PaymentsAvailabilityBurn on payments/,
    );

    const again = (await (await webhook(firing)).json()) as { alerts: Array<{ actions: string[] }> };
    expect(again.alerts[0]?.actions).toEqual(['duplicate']);
    expect(await running.runtime.services.changes.list({ service: 'payments' })).toHaveLength(2);

    // An alert cannot talk the gate around either: its service label must own the deployment.
    const mislabelled = payload('firing', [
      alert('firing', 'e1', { service: 'search', deployment: 'payments' }),
    ]);
    const refused = (await (await webhook(mislabelled)).json()) as { alerts: Array<{ actions: string[] }> };
    expect(refused.alerts[0]?.actions).toEqual([
      'posted',
      'remediation refused: service=search does not match what this change touches: deployment shop/payments → payments',
    ]);

    const grouped = payload('firing', [
      alert('firing', 'b1', { service: 'search' }),
      alert('firing', 'b2', { service: 'unknown-thing' }),
      alert('firing', 'b3', {}),
    ]);
    const groupedBody = (await (await webhook(grouped)).json()) as { alerts: Array<{ actions: string[] }> };
    expect(groupedBody.alerts.map((a) => a.actions[0])).toEqual([
      'posted',
      'not posted: unknown-thing has no channel in the service catalog',
      'unmapped',
    ]);

    const resolved = await webhook(
      payload('resolved', [
        alert('resolved', 'a1b2c3d4e5f60718', { service: 'payments', deployment: 'payments' }),
      ]),
    );
    expect(((await resolved.json()) as { alerts: Array<{ actions: string[] }> }).alerts[0]?.actions).toEqual([
      'resolved',
    ]);
    expect(posts.at(-1)?.text).toMatch(/^\(updated\) Resolved: PaymentsAvailabilityBurn on payments/);
  });

  it('refuses bad webhooks without crashing or losing what came before', async () => {
    const firing = payload('firing', [alert('firing', 'c1', { service: 'search' })]);
    expect((await webhook(firing, {})).status).toBe(401);
    expect((await webhook(firing, { authorization: 'Bearer wrong-token-000000' })).status).toBe(401);
    expect(
      (await webhook(firing, { authorization: `Basic ${Buffer.from('x:y').toString('base64')}` })).status,
    ).toBe(401);
    expect((await webhook('{"version": "4", "alerts": [')).status).toBe(400);
    const wrongVersion = await webhook({ ...firing, version: '3' });
    expect(wrongVersion.status).toBe(400);
    expect(((await wrongVersion.json()) as { error: string }).error).toMatch(/version/);
    const huge = payload(
      'firing',
      Array.from({ length: 200 }, (_, i) => alert('firing', `d${i}`, { service: 'search' })),
    );
    expect((await webhook(huge)).status).toBe(413);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const { verifyAuditTrail } = await import('../../src/audit/index.js');
    expect(await verifyAuditTrail(path.join(dir, 'data', 'audit.jsonl'))).toMatchObject({ ok: true });
    expect(await running.runtime.services.changes.get('CR-3')).toBeDefined();
  });

  it('never auto-approves while Prometheus is down', async () => {
    await prometheus.stop();
    const answer = await as('ana', 'change request restart-deployment deployment=search');
    const text = replyToText(answer);
    expect(text).toMatch(/waits for approval/);
    expect(text).toContain('Policy gate (request): unknown');
    expect(text).toMatch(/error budget search-availability: unknown/);
  });
});
