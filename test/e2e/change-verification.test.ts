// Verification and rollback end to end, against a real Prometheus with backfilled traffic and the
// Kubernetes double: a change on a paging service that does not make it worse passes, one that does
// is rolled back with the service's rollbackRunbook, one with no rollback says so, and the stats
// and the digest count what the double saw run.
import { EventEmitter } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
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
const SERVICES = ['checkout', 'orders', 'cart', 'search', 'quiet'] as const;

describe('verification against the baseline, and rollback for real', () => {
  let prometheus: RunningPrometheus;
  let k8s: KubernetesApiDouble;
  let dir: string;
  let running: RunningServer;
  const signals = new EventEmitter();
  const posts: Array<{ target: string; text: string }> = [];
  /** The moment the changes are made: ten minutes before the last backfilled sample. */
  let changeAt: number;
  const clock = fixedClock(new Date(0));

  const as = (actor: string, text: string): Promise<Reply> =>
    running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const change = (id: string) => running.runtime.services.changes.get(id);
  const patches = (deployment: string) =>
    k8s.requestsTo('PATCH', `/apis/apps/v1/namespaces/shop/deployments/${deployment}`);
  const restarts = (deployment: string) =>
    patches(deployment).filter((r) => JSON.stringify(r.body).includes('restartedAt'));

  beforeAll(async () => {
    const end = evaluationEnd();
    const start = end - 30 * 86_400 - 7200;
    // Over ten minutes behind the wall clock, longer than the runbooks' timeout: the executors'
    // deadlines must not be taken from the injected clock.
    changeAt = end - 10 * 60;
    const pagingSince = end - 3 * 3600;
    // orders and cart page at 20× for three hours before the change (120 of 6000 fail per minute);
    // cart goes to 100× a minute after it, search from 0.5× to 100×; checkout and orders stay as they were.
    const paging = (worseAfterChange: boolean) => (t: number) =>
      worseAfterChange && t > changeAt + 60 ? 600 : t > pagingSince ? 120 : 3;
    prometheus = await startPrometheus({
      start,
      end,
      series: [
        ...traffic('checkout', start, () => 3),
        ...traffic('orders', start, paging(false)),
        ...traffic('cart', start, paging(true)),
        ...traffic('search', start, (t) => (t > changeAt + 60 ? 600 : 3)),
        // quiet: 10 requests a minute, then one of them fails: 100× on 50 requests in 5m is noise.
        ...traffic('quiet', start, (t) => (t > changeAt + 60 ? 1 : 0), 10),
      ],
    });
    k8s = await startKubernetesApi({
      objects: SERVICES.flatMap((deployment) => loadKubernetesScenario('healthy', { deployment })),
    });
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-verify-'));
    // The shipped runbooks, except that restart-deployment has no rollback steps of its own here: what
    // a failed verification falls back to is the service's rollbackRunbook, or nothing.
    await mkdir(path.join(dir, 'runbooks'));
    for (const name of await readdir(RUNBOOKS)) {
      if (name !== 'restart-deployment.yml') {
        await copyFile(path.join(RUNBOOKS, name), path.join(dir, 'runbooks', name));
        continue;
      }
      const restart = parseDocument(await readFile(path.join(RUNBOOKS, name), 'utf8'));
      restart.deleteIn(['spec', 'rollback']);
      const steps = restart.getIn(['spec', 'steps']) as { items: { delete(key: string): void }[] };
      for (const step of steps.items) step.delete('onFailure');
      await writeFile(path.join(dir, 'runbooks', name), restart.toString());
    }
    const file = path.join(dir, 'millwright.yml');
    const entry = (name: string, rollback: boolean) =>
      `  ${name}: { channel: C-${name.toUpperCase()}, owners: [${name}-team], kubernetes: { namespace: shop, deployments: [${name}] }${rollback ? ', rollbackRunbook: rollback-deployment' : ''} }`;
    await writeFile(
      file,
      `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
runbooks: { dir: ./runbooks }
prometheus: { url: ${prometheus.url} }
kubernetes: { kubeconfig: ${k8s.kubeconfigPath}, allowedNamespaces: [shop] }
services:
${entry('checkout', true)}
${entry('orders', true)}
${entry('cart', true)}
${entry('search', false)}
${entry('quiet', true)}
slos:${SERVICES.map(availabilitySlo).join('')}
access:
  defaultRoles: []
  roles:
    operator: { allow: ['runbook.*', 'change.*', 'digest.*'] }
    approver: { allow: ['change.*'] }
  subjects: { ana: [operator], dee: [approver] }
policy:
  verify: { window: 5m, interval: 1m, tolerance: 2, rollback: true }
digests:
  - name: daily
    schedule: "0 9 * * *"
    target: C-OPS
    sections: [changes, budgets]
`,
    );
    clock.set(new Date(changeAt * 1000));
    running = await startServer(await loadConfig(file, { env: {} }), {
      logger: silentLogger(),
      clock,
      signals,
    });
    running.runtime.services.notices.register({
      name: 'recorder',
      owns: () => true,
      post: async (target, r) => {
        posts.push({ target, text: replyToText(r) });
        return { update: async () => undefined };
      },
    });
  }, 120_000);

  afterAll(async () => {
    signals.emit('SIGTERM', 'SIGTERM');
    await running?.stopped;
    await Promise.all([prometheus?.close(), k8s?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs, verifies against the state before, and rolls back only what it made worse', async () => {
    // Scheduled on checkout for after the others' verification; a freeze then stops it at execution.
    const later = new Date((changeAt + 360) * 1000).toISOString();
    expect(
      replyToText(await as('ana', `change request restart-deployment deployment=checkout at=${later}`)),
    ).toMatch(/^CR-1 is approved and queued/);
    // A healthy service: no human needed. A paging one: a person approves, knowing it pages.
    expect(replyToText(await as('ana', 'change request restart-deployment deployment=checkout'))).toMatch(
      /^CR-2 ran and is being verified/,
    );
    for (const [id, deployment] of [
      ['CR-3', 'orders'],
      ['CR-4', 'cart'],
    ] as const) {
      const held = replyToText(await as('ana', `change request restart-deployment deployment=${deployment}`));
      expect(held).toMatch(
        new RegExp(
          `burn state ${deployment}-availability: page: 1h 20\\.0× > 14\\.4 and 5m 20\\.0× > 14\\.4 ✘`,
        ),
      );
      expect(replyToText(await as('dee', `change approve ${id}`))).toMatch(
        new RegExp(`^${id} ran and is being verified`),
      );
    }
    expect(replyToText(await as('ana', 'change request restart-deployment deployment=search'))).toMatch(
      /^CR-5 ran and is being verified/,
    );
    expect(replyToText(await as('ana', 'change request restart-deployment deployment=quiet'))).toMatch(
      /^CR-6 ran and is being verified/,
    );
    await as('dee', 'change freeze service=checkout until=2h reason="sale starts"');

    for (let minute = 1; minute <= 7; minute++) {
      clock.set(new Date((changeAt + minute * 60) * 1000));
      await running.runtime.services.changes.tick();
    }

    // orders paged before the change and pages the same after it: not the change's fault.
    const orders = await change('CR-3');
    expect(orders.state).toBe('succeeded');
    expect(orders.timeline.at(-1)?.detail).toMatch(
      /^no regression in 5m after the change: orders-availability: page → page \(5m 20\.0× → 20\.0×, 30m 20\.0× → 20\.0×, 1h 20\.0× → 20\.0×/,
    );
    expect((await change('CR-2')).state).toBe('succeeded');

    // cart got worse than its own page: rolled back with its rollbackRunbook, on the double.
    const cart = await change('CR-4');
    expect(cart.state).toBe('rolled-back');
    const details = cart.timeline.map((t) => `${t.event}: ${t.detail ?? ''}`);
    expect(details).toContainEqual(
      expect.stringMatching(
        /^failed: verification failed: worse than before the change: cart-availability: page → page \(5m 20\.0× → \d+\.\d×.*\): worse, 5m \d+\.\d× > 40\.0× \(20\.0× before × 2\)$/,
      ),
    );
    expect(details).toContain(
      'rollback: running rollback-deployment deployment=cart namespace=shop (services.cart.rollbackRunbook)',
    );
    expect(details).toContain(
      'rolled-back: rolled back: rollback-deployment deployment=cart namespace=shop (services.cart.rollbackRunbook) succeeded',
    );
    expect(restarts('cart')).toHaveLength(1);
    expect(patches('cart')).toHaveLength(2);
    const audited = (await running.runtime.services.audit.recent({ limit: 500 })).filter(
      (r) => r.action === 'executor.kubernetes.undo',
    );
    expect(audited.map((r) => r.args.deployment)).toContain('cart');

    // search had nothing to roll back with: it stays failed and says so, to its owners too.
    const search = await change('CR-5');
    expect(search.state).toBe('failed');
    expect(search.timeline.at(-1)?.detail).toBe(
      'no rollback was run: restart-deployment has no rollback steps and search names no rollbackRunbook in the service catalog; told C-OPS and C-SEARCH (owners search-team)',
    );
    expect(patches('search')).toHaveLength(1);
    const shown = replyToText(await as('ana', 'change show CR-5'));
    expect(shown).toMatch(/^CR-5 FAILED/);
    expect(shown).not.toMatch(/rolled back/);
    expect(posts.filter((p) => p.target === 'C-SEARCH').map((p) => p.text.split('\n')[0])).toEqual([
      expect.stringMatching(
        /^CR-5 failed verification: .*; NOT rolled back: restart-deployment has no rollback steps/,
      ),
    ]);

    // quiet's 5m burn jumped on a handful of requests: not judged, and its state never changed.
    const quiet = await change('CR-6');
    expect(quiet.state).toBe('succeeded');
    expect(quiet.verification?.samples.at(-1)?.note).toMatch(
      /^quiet-availability: ok → ok \(5m 0\.0× → \d+\.\d×.*\); only 50 events in 5m, fewer than 100: rates not judged$/,
    );

    // The scheduled one never ran: stopped at execution, it avoided no approval.
    const stopped = await change('CR-1');
    expect(stopped.state).toBe('denied');
    expect(stopped.timeline.at(-1)?.detail).toBe('stopped at execution: the gate now says denied');
    expect(restarts('checkout')).toHaveLength(1);

    const ran = SERVICES.reduce((sum, deployment) => sum + restarts(deployment).length, 0);
    expect(ran).toBe(5);
    const stats = replyToText(await as('ana', 'change stats'));
    expect(stats).toMatch(new RegExp(`changes executed:\\s+${ran} \\(`));
    expect(stats).toMatch(/change failure rate:\s+40\.0% \(2 of 5\)/);
    expect(stats).toMatch(/approvals avoided:\s+3 change\(s\)/);
    const digest = replyToText(await as('ana', 'digest run daily --here'));
    expect(digest).toMatch(/approved without a human:\s+3/);
    expect(digest).toMatch(/failed:\s+2/);
  });
});
