// Progressive releases of Argo Rollouts end to end: the real server, the Kubernetes double serving
// argoproj.io/v1alpha1 Rollouts with its canary controller behind the audited executors, and a real
// Prometheus with canary and stable series backfilled per service. Time moves by an injected clock:
//   checkout   a good canary, promoted through every pause of its Rollout to 100%
//   orders     3× the stable's error ratio: aborted at the first step (Argo abort, then the stable image back)
//   search     crash-looping canary pods: aborted at once, without waiting for the interval
//   payments   a restart mid-release resumes without repeating a step (the double counts the patches)
//   billing    two promotes at once take one step; a hotfix set on the Rollout mid-release pauses it, untouched
import { rm } from 'node:fs/promises';
import { fixedClock, type Reply } from '../../src/core/index.js';
import type { RunningServer } from '../../src/main.js';
import type { ReleaseRecord } from '../../src/releases/controller.js';
import {
  type KubernetesApiDouble,
  ROLLOUTS_POD_TEMPLATE_HASH,
  rolloutFixture,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { SlackApiDouble } from '../doubles/slack-api.js';
import { releaseServer, writeReleaseConfig } from '../helpers/release-cluster.js';
import { traffic } from '../helpers/traffic.js';

const STORIES = ['checkout', 'orders', 'search', 'payments', 'billing'] as const;
/** Rollouts a release refuses: timed pauses, no track labels, an update already under way. */
const REFUSED = ['legacy', 'unlabelled', 'busy'] as const;
const SERVICES = [...STORIES, ...REFUSED];
const CHANNEL = 'C0OPS0001';
const ANA = 'U0ANA0001';
const MINUTE = 60_000;
const stable = (service: string) => `registry.example.com/shop/${service}:1.4.2`;
const image = (service: string) => `registry.example.com/shop/${service}:2.0.0`;
const ROLLOUTS = '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts';

describe('progressive releases of Argo Rollouts judged by the SLOs', () => {
  let prometheus: RunningPrometheus;
  let k8s: KubernetesApiDouble;
  let slack: SlackApiDouble;
  let dir: string;
  let file: string;
  let running: RunningServer;
  let t0: number;
  const clock = fixedClock(new Date(0));
  const ids = new Map<string, string>();
  const idOf = (service: string) => ids.get(service)!;

  const as = (actor: string, text: string): Promise<Reply> =>
    running.router.handle({ actor: { id: actor }, surface: 'slack', channel: CHANNEL, text });
  const releases = () => running.runtime.services.releases;
  const release = (id: string) => releases().get(id);
  const at = async (minutes: number) => {
    clock.set(new Date(t0 + minutes * MINUTE));
    await releases().tick();
  };
  const rollout = (service: string) => k8s.rollouts.get('shop', service)!;
  const patches = (service: string, sub = '') => k8s.requestsTo('PATCH', `${ROLLOUTS}/${service}${sub}`);
  const podsOf = (service: string, track: string) =>
    k8s.state
      .list('Pod', 'shop')
      .filter((pod) => pod.metadata.labels?.app === service && pod.metadata.labels?.track === track);
  let server: ReturnType<typeof releaseServer>;
  const serve = async () => {
    await server.serve();
    running = server.running;
  };
  const stop = () => server.stop();

  beforeAll(async () => {
    const end = evaluationEnd();
    const start = end - 30 * 86_400 - 3600;
    t0 = (end - 40 * 60) * 1000;
    // Every service's stable pods serve 6,000 requests a minute, 30 failing (0.5%).
    const tracks = (service: string, canaryErrors: number) => [
      ...traffic(service, start, () => 30, 6000, { track: 'stable' }),
      ...traffic(service, start, () => canaryErrors, 600, { track: 'canary' }),
    ];
    prometheus = await startPrometheus({
      start,
      end,
      series: [
        ...tracks('checkout', 3),
        ...tracks('orders', 9),
        ...tracks('search', 3),
        ...tracks('payments', 3),
        ...tracks('billing', 3),
      ],
    });
    // Ten pods each, a canary of setWeight 5, 25, 50, each followed by pause: {}.
    k8s = await startKubernetesApi({
      now: () => clock.now(),
      rollouts: [
        ...STORIES.map((service) => rolloutFixture(service, { replicas: 10, weights: [5, 25, 50] })),
        rolloutFixture('legacy', { steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }] }),
        rolloutFixture('unlabelled', { trackLabel: null }),
        rolloutFixture('busy'),
      ],
    });
    const busy = k8s.rollouts.get('shop', 'busy')!;
    busy.spec.template.spec.containers[0]!.image = image('busy');
    k8s.rollouts.write(busy);
    k8s.state.failingImages.set(image('search'), { reason: 'CrashLoopBackOff', restarts: 5 });
    slack = await SlackApiDouble.start();
    ({ dir, file } = await writeReleaseConfig({
      slack,
      prometheusUrl: prometheus.url,
      kubeconfigPath: k8s.kubeconfigPath,
      services: SERVICES,
      catalog: (s) =>
        `{ channel: ${CHANNEL}, owners: [${s}-team], kubernetes: { namespace: shop, rollout: ${s} } }`,
      access: `access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['release.*', 'change.*', 'incident.*'] }
`,
    }));
    clock.set(new Date(t0));
    server = releaseServer(file, clock);
    await serve();
  }, 180_000);

  afterAll(async () => {
    await stop().catch(() => undefined);
    await Promise.all([prometheus?.close(), k8s?.close(), slack?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses, in one line naming the fix, a Rollout whose steps, labels or state a release cannot drive', async () => {
    const refusals: Record<string, string> = {};
    for (const service of REFUSED) {
      const refused = await as(ANA, `release start ${service} image=2.0.0`);
      expect(refused.ok).toBe(false);
      refusals[service] = `${refused.error?.message} | ${refused.error?.hint}`;
    }
    expect(refusals).toEqual({
      legacy:
        'rollout legacy cannot be released by Millwright: step 1 pauses for 10m; a release needs pause: {} (it judges the step itself) | give spec.strategy.canary.steps as pairs of - setWeight: N and - pause: {} (rising, below 100); Millwright judges each pause and promotes',
      unlabelled:
        "rollout unlabelled does not label its tracks' pods with track: canary and track: stable, so the SLO queries cannot tell them apart | add canaryMetadata: { labels: { track: canary } } and stableMetadata: { labels: { track: stable } } to spec.strategy.canary",
      busy: 'rollout busy is in the middle of an update (Paused, step 1 of 6) | finish or undo it first: kubectl argo rollouts get rollout busy',
    });
    // Nothing was written, and no change was filed.
    for (const service of REFUSED) expect(patches(service)).toHaveLength(0);
    expect(await running.runtime.services.changes.list({})).toHaveLength(0);
  }, 60_000);

  it("a dry run plans the Rollout's own steps and lets the API server check the image, changing nothing", async () => {
    const planned = await as(ANA, 'release start checkout image=2.0.0 --dry-run');
    expect(planned.ok).toBe(true);
    const { dryRun } = planned.data as {
      dryRun: { steps: { share: number; canaryReplicas: number }[]; check: string; stableImage: string };
    };
    expect(dryRun.stableImage).toBe(stable('checkout'));
    expect(dryRun.steps.map((step) => [step.share, step.canaryReplicas])).toEqual([
      [5, 1],
      [25, 3],
      [50, 5],
      [100, 0],
    ]);
    expect(dryRun.check).toBe(
      `dry run: the API server accepted: set rollout shop/checkout container checkout from ${stable('checkout')} to ${image('checkout')}`,
    );
    expect(patches('checkout').map((patch) => patch.query.dryRun)).toEqual(['All']);
    expect(rollout('checkout').status).toMatchObject({ phase: 'Healthy' });
    k8s.clearRequests();
  }, 60_000);

  it("takes the Rollout's own steps, refuses others, and sets its image: Argo pauses at the first setWeight", async () => {
    const refused = await as(ANA, 'release start checkout image=2.0.0 steps=10,100');
    expect(refused.ok).toBe(false);
    expect(refused.error?.message).toBe(
      'rollout checkout pauses at 5, 25, 50%, so its release steps are 5,25,50,100, not 10,100',
    );
    for (const service of ['checkout', 'orders', 'payments'] as const) {
      const started = await as(ANA, `release start ${service} image=2.0.0`);
      expect(started.ok).toBe(true);
      const data = started.data as { release: { id: string; state: string; steps: number[] } };
      expect(data.release).toMatchObject({ state: 'running', steps: [5, 25, 50, 100] });
      ids.set(service, data.release.id);
      const now = rollout(service);
      expect(now.spec.template.spec.containers[0]!.image).toBe(image(service));
      expect(now.status).toMatchObject({ phase: 'Paused', message: 'CanaryPauseStep', currentStepIndex: 1 });
      // One canary pod (5% of ten) on the canary track, labelled by Argo's canaryMetadata.
      const canaryPods = podsOf(service, 'canary');
      expect(canaryPods).toHaveLength(1);
      expect(canaryPods[0]!.metadata.labels?.[ROLLOUTS_POD_TEMPLATE_HASH]).toBe(now.status?.currentPodHash);
      // No second Deployment: the Rollout is the only workload.
      expect(k8s.state.get('Deployment', 'shop', `${service}-canary`)).toBeUndefined();
    }
    // Every call went through the audited executors.
    const audited = (await running.runtime.services.audit.recent({ limit: 1000 })).filter(
      (r) => r.action === 'executor.kubernetes.argo-set-image' && r.outcome === 'ok',
    );
    expect(audited).toHaveLength(3);
  }, 120_000);

  it('aborts a crash-looping canary at once, without waiting for the interval; the stable keeps serving', async () => {
    const started = await as(ANA, 'release start search image=2.0.0');
    const id = (started.data as { release: { id: string } }).release.id;
    ids.set('search', id);
    const search = await release(id);
    expect(search.plan.state).toBe('aborted');
    expect(search.plan.because).toMatch(
      /^the canary's rollout failed: rollout search's canary pods are failing: pod search-\S+ CrashLoopBackOff \(5 restarts\)$/,
    );
    expect(search.history.some((entry) => entry.verdict)).toBe(false);
    // Argo's abort, then the template back on the stable image: Healthy on the stable, nothing left of the canary.
    expect(patches('search', '/status').map((p) => p.body)).toEqual([{ status: { abort: true } }]);
    expect(rollout('search').spec.template.spec.containers[0]!.image).toBe(stable('search'));
    expect(rollout('search').status).toMatchObject({ phase: 'Healthy' });
    expect(podsOf('search', 'stable')).toHaveLength(10);
    expect(podsOf('search', 'canary')).toHaveLength(0);
    expect((await running.runtime.services.changes.get(search.changeId!)).state).toBe('failed');
  }, 60_000);

  it('judges each step by the SLOs: promotes the good canary to its next pause, aborts 3× the stable with the numbers', async () => {
    await at(5);
    const checkout = await release(idOf('checkout'));
    expect(checkout.plan).toMatchObject({ state: 'running', step: 1 });
    expect(rollout('checkout').status).toMatchObject({ phase: 'Paused', currentStepIndex: 3 });
    expect(rollout('checkout').status?.canary?.weights?.canary.weight).toBe(25);
    expect(podsOf('checkout', 'canary')).toHaveLength(3);

    const orders = await release(idOf('orders'));
    expect(orders.plan.state).toBe('aborted');
    expect(orders.plan.because).toMatch(
      /^orders-availability: the canary is worse: canary \d+\/\d+ bad \(1\.50%\) vs stable \d+\/\d+ bad \(0\.500%\), difference \+1\.00 points \(margin \+0\.100 points\), z-test p = \S+ < 0\.05$/,
    );
    // The Rollout was aborted (status.abort through the status subresource), then set back to the stable.
    expect(patches('orders', '/status').map((p) => p.body)).toEqual([{ status: { abort: true } }]);
    expect(rollout('orders').spec.template.spec.containers[0]!.image).toBe(stable('orders'));
    expect(rollout('orders').status).toMatchObject({ phase: 'Healthy' });
    expect(podsOf('orders', 'stable').map((pod) => pod.spec.containers[0]!.image)).toEqual(
      Array(10).fill(stable('orders')),
    );
    expect((await running.runtime.services.changes.get(orders.changeId!)).state).toBe('failed');
  }, 120_000);

  it('resumes after a restart without repeating a step, even one whose action was cut short', async () => {
    await at(10);
    expect((await release(idOf('payments'))).plan).toMatchObject({ state: 'running', step: 2 });
    // One image change, then one promotion per step: 5 → 25 → 50.
    expect(patches('payments')).toHaveLength(1);
    expect(patches('payments', '/status').map((p) => p.body)).toEqual([
      { status: { pauseConditions: null } },
      { status: { pauseConditions: null } },
    ]);
    const historyBefore = (await release(idOf('payments'))).history.length;
    // As if the process died after its promotion to 50% reached the API, before it cleared the action.
    await running.runtime.services.store.update<ReleaseRecord>('releases', idOf('payments'), (record) => ({
      ...record!,
      pending: { kind: 'set-canary', share: 50 },
    }));

    await stop();
    await serve();
    await at(11);
    const payments: ReleaseRecord = await release(idOf('payments'));
    // The recorded action ran again and found the Rollout already paused at 50%: nothing sent.
    expect(payments.pending).toBeUndefined();
    expect(payments.plan).toMatchObject({ state: 'running', step: 2 });
    expect(payments.history).toHaveLength(historyBefore);
    expect(patches('payments')).toHaveLength(1);
    expect(patches('payments', '/status')).toHaveLength(2);
    expect(rollout('payments').status).toMatchObject({ phase: 'Paused', currentStepIndex: 5 });
  }, 180_000);

  it('promotes a good canary through every step to 100%: Argo makes it stable', async () => {
    await at(15);
    // checkout's promotion runs at 15 and the next look finds the Rollout Healthy on the new version;
    // payments' 50% step started again at 11, when its cut-short action was carried out after the restart.
    await at(16);
    await at(17);
    for (const service of ['checkout', 'payments'] as const) {
      const done: ReleaseRecord = await release(idOf(service));
      expect(done.plan.state).toBe('promoted');
      expect(done.history.filter((e) => e.action === 'set-canary').map((e) => e.share)).toEqual([5, 25, 50]);
      const now = rollout(service);
      expect(now.status).toMatchObject({ phase: 'Healthy' });
      expect(now.status?.stableRS).toBe(now.status?.currentPodHash);
      expect(podsOf(service, 'stable').map((pod) => pod.spec.containers[0]!.image)).toEqual(
        Array(10).fill(image(service)),
      );
      expect(podsOf(service, 'canary')).toHaveLength(0);
      // The last move was a full promotion.
      expect(patches(service, '/status').at(-1)?.body).toEqual({ status: { promoteFull: true } });
      expect((await running.runtime.services.changes.get(done.changeId!)).state).toBe('verifying');
    }
    // A restart in the middle repeated nothing: two step promotions and one full one for payments.
    expect(patches('payments', '/status')).toHaveLength(3);
  }, 180_000);

  it('moves two promotes at once one step, and pauses a release whose Rollout someone changed, never writing over it', async () => {
    const started = await as(ANA, 'release start billing image=2.0.0');
    expect(started.ok).toBe(true);
    const id = (started.data as { release: { id: string } }).release.id;
    // Two people press promote on the release at 5%: Argo is promoted once, to its pause at 25%.
    const answers = await Promise.all([as(ANA, `release promote ${id}`), as(ANA, `release promote ${id}`)]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.find((a) => !a.ok)?.error?.message).toBe(`${id} already moved to step 2 (25%)`);
    expect(patches('billing', '/status').map((p) => p.body)).toEqual([{ status: { pauseConditions: null } }]);
    expect(rollout('billing').status?.canary?.weights?.canary.weight).toBe(25);

    // Someone sets a hotfix on the Rollout (kubectl argo rollouts set image) while the release is at 25%.
    const hotfix = 'registry.example.com/shop/billing:1.9.9-hotfix';
    const changed = rollout('billing');
    changed.spec.template.spec.containers[0]!.image = hotfix;
    k8s.rollouts.write(changed);
    await at(18);
    const paused = await release(id);
    expect(paused.plan.state).toBe('paused');
    expect(paused.plan.because).toBe(
      `the stable billing now runs 1.9.9-hotfix, not 1.4.2 as when ${id} started; someone deployed during the release`,
    );
    // Aborted, nothing is sent to the Rollout: no Argo abort of the hotfix, no template set back.
    const aborted = await as(ANA, `release abort ${id}`);
    expect(aborted.ok).toBe(true);
    expect((await release(id)).plan.state).toBe('aborted');
    expect(patches('billing')).toHaveLength(1); // the release's own image, at its start
    expect(patches('billing', '/status')).toHaveLength(1);
    expect(rollout('billing').spec.template.spec.containers[0]!.image).toBe(hotfix);
  }, 120_000);
});
