// Progressive releases end to end: the real server with the Slack adapter (Web API on the Slack
// double), the Kubernetes double behind the audited executors, and a real Prometheus with canary and
// stable series backfilled per service. Time moves by an injected clock; each service shows one story:
//   checkout   a good canary, promoted through every step to 100%
//   orders     3× the stable's error ratio, aborted at the first step with the numbers
//   cart       too little traffic: waits, then aborts
//   search     crash-looping canary pods: aborted at the next look, before the interval
//   inventory  an incident declared mid-release pauses it; resolved, it resumes
//   payments   a restart mid-release resumes without repeating a step
//   shipping   the chat message: updated in place, its buttons single-use and permission-checked
//   billing    two promotes at once take one step; a hotfix deployed mid-release pauses it, untouched
import { rm } from 'node:fs/promises';
import { fixedClock, type Reply, replyToText } from '../../src/core/index.js';
import type { RunningServer } from '../../src/main.js';
import { ExecutorCluster } from '../../src/releases/cluster.js';
import type { ReleaseRecord } from '../../src/releases/controller.js';
import { SIGNING_SECRET, slackSignature } from '../adapters/slack/harness.js';
import { type KubernetesApiDouble, startKubernetesApi } from '../doubles/kubernetes-api.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { SlackApiDouble } from '../doubles/slack-api.js';
import { slackClickPayload } from '../helpers/click-drivers.js';
import { releaseServer, trackedScenario, writeReleaseConfig } from '../helpers/release-cluster.js';
import { traffic } from '../helpers/traffic.js';

const SERVICES = [
  'checkout',
  'orders',
  'cart',
  'search',
  'inventory',
  'payments',
  'shipping',
  'billing',
] as const;
/** The releases judged over time; shipping's is started last, at the wall-clock time Slack signs with. */
const STORIES = SERVICES.filter((service) => service !== 'shipping');
const CHANNEL = 'C0OPS0001';
const ANA = 'U0ANA0001'; // operator: starts releases
const DEE = 'U0DEE0001'; // approver: may promote and abort
const BEN = 'U0BEN0001'; // engineer: may look, not decide
const MINUTE = 60_000;
const image = (service: string) => `registry.example.com/shop/${service}:2.0.0`;

type Deployment = {
  kind?: string;
  metadata: { name?: string };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
  };
};

describe('progressive releases judged by the SLOs', () => {
  let prometheus: RunningPrometheus;
  let k8s: KubernetesApiDouble;
  let slack: SlackApiDouble;
  let dir: string;
  let file: string;
  let running: RunningServer;
  let t0: number;
  const clock = fixedClock(new Date(0));

  const as = (actor: string, text: string): Promise<Reply> =>
    running.router.handle({ actor: { id: actor }, surface: 'slack', channel: CHANNEL, text });
  const releases = () => running.runtime.services.releases;
  const release = (id: string) => releases().get(id);
  const at = async (minutes: number) => {
    clock.set(new Date(t0 + minutes * MINUTE));
    await releases().tick();
  };
  const canary = (service: string) => k8s.state.get('Deployment', 'shop', `${service}-canary`);
  const stableImage = (service: string) =>
    (k8s.state.get('Deployment', 'shop', service) as unknown as Deployment).spec.template.spec.containers[0]!
      .image;
  const canaryWrites = (service: string) =>
    k8s.requests.filter(
      (r) =>
        (r.method === 'PATCH' && r.path === `/apis/apps/v1/namespaces/shop/deployments/${service}-canary`) ||
        (r.method === 'POST' &&
          r.path === '/apis/apps/v1/namespaces/shop/deployments' &&
          JSON.stringify(r.body).includes(`"${service}-canary"`)),
    );
  const ids = new Map<string, string>();
  const idOf = (service: string) => ids.get(service)!;

  let server: ReturnType<typeof releaseServer>;
  const serve = async () => {
    await server.serve();
    running = server.running;
  };
  const stop = () => server.stop();

  /** Clicks a button of a posted message as `user`, the way Slack sends it; resolves with what the clicker is shown. */
  const click = async (token: string, user: string): Promise<string> => {
    const responseUrl = slack.responseUrl('actions');
    const payload = slackClickPayload({
      token,
      user,
      channel: CHANNEL,
      responseUrl,
      triggerId: slack.triggerId(),
      nowSeconds: Math.floor(clock.now().getTime() / 1000),
    });
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const response = await fetch(`http://127.0.0.1:${running.port}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...slackSignature(body, Math.floor(clock.now().getTime() / 1000), SIGNING_SECRET),
      },
      body,
    });
    if (response.status !== 200)
      throw new Error(`Slack click answered ${response.status}: ${await response.text()}`);
    return responseUrl;
  };
  /** A click refused before anything ran: what the clicker is told, privately. */
  const refusal = async (token: string, user: string): Promise<string> => {
    const responseUrl = await click(token, user);
    const answer = await slack.waitForResponse((post) => post.url === responseUrl, 30_000);
    return JSON.stringify(answer.body);
  };
  /** A click that runs its command; resolves once the release shows it. */
  const clickUntil = async (token: string, user: string, done: (r: ReleaseRecord) => boolean) => {
    await click(token, user);
    const deadline = Date.now() + 30_000;
    while (!done(await release(currentId))) {
      if (Date.now() > deadline) throw new Error(`the click did not move ${currentId}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  let currentId = '';
  /** The release's own message (its last line points to `release status ID`), not the commands' answers. */
  const messageOf = (id: string) =>
    slack.messages.filter(
      (m) =>
        m.channel === CHANNEL &&
        JSON.stringify(m.blocks ?? []).includes(`release status ${id} has every step`),
    );
  const buttonsOf = (id: string): Record<string, string> => {
    const [message] = messageOf(id);
    const blocks = (message?.blocks ?? []) as Array<{
      type: string;
      elements?: Array<{ action_id?: string; value?: string }>;
    }>;
    const buttons = blocks.flatMap((block) => (block.type === 'actions' ? (block.elements ?? []) : []));
    return Object.fromEntries(
      buttons.flatMap((b) => {
        const kind = /\.(promote|abort)$/.exec(b.action_id ?? '')?.[1];
        return kind && b.value ? [[kind, b.value]] : [];
      }),
    );
  };

  beforeAll(async () => {
    const end = evaluationEnd();
    const start = end - 30 * 86_400 - 3600;
    t0 = (end - 40 * 60) * 1000;
    // Every service: its stable pods serve 6,000 requests a minute, 30 failing (0.5%).
    const tracks = (service: string, canaryErrors: number, canaryRequests: number) => [
      ...traffic(service, start, () => 30, 6000, { track: 'stable' }),
      ...traffic(service, start, () => canaryErrors, canaryRequests, { track: 'canary' }),
    ];
    prometheus = await startPrometheus({
      start,
      end,
      series: [
        ...tracks('checkout', 3, 600), // 0.5%, like the stable
        ...tracks('orders', 9, 600), // 1.5%: 3× the stable
        ...tracks('cart', 0, 10), // 50 requests in five minutes: too few to judge
        ...tracks('search', 3, 600),
        ...tracks('inventory', 3, 600),
        ...tracks('payments', 3, 600),
        ...tracks('shipping', 3, 600),
        ...tracks('billing', 3, 600),
      ],
    });
    // Ten stable pods each: 5% is one canary pod, 25% three, 50% ten.
    k8s = await startKubernetesApi({
      objects: SERVICES.flatMap((service) => trackedScenario(service, { replicas: 10 })),
    });
    // The search canary's image crash-loops.
    k8s.state.failingImages.set(image('search'), { reason: 'CrashLoopBackOff', restarts: 5 });
    slack = await SlackApiDouble.start();
    ({ dir, file } = await writeReleaseConfig({
      slack,
      prometheusUrl: prometheus.url,
      kubeconfigPath: k8s.kubeconfigPath,
      services: SERVICES,
      catalog: (s) =>
        `{ channel: ${s === 'orders' ? 'C0ORDERS1' : CHANNEL}, owners: [${s}-team], kubernetes: { namespace: shop, deployments: [${s}] } }`,
      access: `access:
  defaultRoles: [engineer]
  roles:
    engineer: { allow: [help, whoami, release.status, release.list] }
    operator: { allow: ['release.*', 'change.*', 'incident.*'] }
    approver: { allow: ['release.*', 'change.*'] }
  subjects: { ${ANA}: [operator], ${DEE}: [approver] }
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

  it('files each release as a change the gate lets through, and sets the first step', async () => {
    // An image the cluster would refuse is refused before anything is filed or written.
    for (const bad of ['UPPER:Case!!', 'a b', 'registry.example.com/shop/checkout@sha256:zz']) {
      const refused = await as(ANA, `release start checkout image="${bad}"`);
      expect(refused.ok).toBe(false);
      expect(refused.error?.code).toBe('millwright_bad_argument');
      expect(refused.error?.message).toMatch(/^image=.+ is not an image reference/);
    }
    expect(canary('checkout')).toBeUndefined();
    for (const service of STORIES) {
      // A tag names an image in the stable's repository; the others give the whole reference.
      const wanted = service === 'checkout' ? '2.0.0' : image(service);
      const started = await as(ANA, `release start ${service} image=${wanted}`);
      expect(started.ok).toBe(true);
      const data = started.data as {
        release: { id: string; state: string; share: number };
        change: { id: string; state: string };
      };
      expect(data.release.state).toBe('running');
      expect(data.change.state).toBe('executing');
      ids.set(service, data.release.id);
      // 5% of the stable's pods is one canary pod, on the new image, on the canary track.
      const made = canary(service) as unknown as Deployment;
      expect(made.spec.template.spec.containers[0]!.image).toBe(image(service));
      expect(made.spec.replicas).toBe(1);
      expect(made.spec.selector.matchLabels.track).toBe('canary');
    }
    // One release per service at a time.
    const again = await as(ANA, 'release start checkout image=2.0.1');
    expect(again.ok).toBe(false);
    expect(again.error?.message).toBe(`checkout already has release ${idOf('checkout')} under way (running)`);
    // Every call went through the audited executors.
    const audited = (await running.runtime.services.audit.recent({ limit: 1000 })).filter(
      (r) => r.action === 'executor.kubernetes.canary-set' && r.outcome === 'ok',
    );
    expect(audited).toHaveLength(STORIES.length);
  }, 120_000);

  it('aborts a crash-looping canary at the next look, without waiting for the interval', async () => {
    await at(1);
    const search = await release(idOf('search'));
    expect(search.plan.state).toBe('aborted');
    expect(search.plan.because).toMatch(/^the canary's rollout failed: .*CrashLoopBackOff \(5 restarts\)/);
    expect(canary('search')).toBeUndefined();
    expect((await running.runtime.services.changes.get(search.changeId!)).state).toBe('failed');
    // Nobody else was judged before their interval.
    expect((await release(idOf('checkout'))).history.filter((e) => e.verdict)).toHaveLength(0);
  }, 60_000);

  it('moves two promotes at once one step, and pauses a release whose stable someone changed, never writing over it', async () => {
    const id = idOf('billing');
    const canaryPatches = () => canaryWrites('billing').filter((r) => r.method === 'PATCH');
    const stablePatches = () =>
      k8s.requests.filter(
        (r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/shop/deployments/billing',
      );
    // Two people press promote on the release at 5%: one step to 25%, the other told so in one line.
    const answers = await Promise.all([as(ANA, `release promote ${id}`), as(ANA, `release promote ${id}`)]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.find((a) => !a.ok)?.error?.message).toBe(`${id} already moved to step 2 (25%)`);
    expect(canaryPatches()).toHaveLength(1);
    expect((canary('billing') as unknown as Deployment).spec.replicas).toBe(3);
    expect((await release(id)).plan).toMatchObject({ state: 'running', step: 1 });

    // Someone deploys a hotfix to the stable (kubectl set image) while the release is at 25%.
    const recorded = (await release(id)).stableImage!;
    expect(stableImage('billing')).toBe(recorded);
    const [repository, tag] = recorded.split(/:(?=[^:/]+$)/);
    const hotfix = `${repository}:1.9.9-hotfix`;
    const stable = structuredClone(k8s.state.get('Deployment', 'shop', 'billing')) as unknown as Deployment;
    stable.spec.template.spec.containers[0]!.image = hotfix;
    k8s.state.write(stable as never);
    await at(2);
    const paused = await release(id);
    expect(paused.plan.state).toBe('paused');
    expect(paused.plan.because).toBe(
      `the stable billing now runs 1.9.9-hotfix, not ${tag} as when ${id} started; someone deployed during the release`,
    );
    // Promoting it is refused with the same reason; the canary did not move.
    const promoted = await as(ANA, `release promote ${id}`);
    expect(promoted.ok).toBe(false);
    expect(promoted.error?.message).toBe(
      `${id} is paused (${paused.plan.because}); it cannot be promoted past that`,
    );
    expect(canaryPatches()).toHaveLength(1);
    // Aborted, the canary goes and the stable keeps the hotfix: Millwright never wrote the stable.
    const aborted = await as(ANA, `release abort ${id}`);
    expect(aborted.ok).toBe(true);
    expect(canary('billing')).toBeUndefined();
    expect(stableImage('billing')).toBe(hotfix);
    expect(stablePatches()).toHaveLength(0);

    // A failed promotion's restore, through the same audited executors: never over the hotfix...
    const driver = new ExecutorCluster({
      executors: running.runtime.services.executors,
      config: running.runtime.loaded.config.releases,
      targetOf: () => ({ namespace: 'shop', deployment: 'billing' }),
    });
    const record = await release(id);
    await driver.restoreStable(record);
    expect(stablePatches()).toHaveLength(0);
    expect(stableImage('billing')).toBe(hotfix);
    // ...only over the release's own image, which it takes back to the one recorded at the start.
    const ours = structuredClone(k8s.state.get('Deployment', 'shop', 'billing')) as unknown as Deployment;
    ours.spec.template.spec.containers[0]!.image = image('billing');
    k8s.state.write(ours as never);
    await driver.restoreStable(record);
    expect(stablePatches()).toHaveLength(1);
    expect(stableImage('billing')).toBe(recorded);
  }, 60_000);

  it('judges each step by the SLOs: promotes the good canary, aborts 3× the stable with the numbers, waits on too little traffic', async () => {
    const declared = await as(ANA, 'incident declare "inventory 5xx" service=inventory sev=1');
    expect(declared.ok).toBe(true);
    await at(5);
    const checkout = await release(idOf('checkout'));
    expect(checkout.plan).toMatchObject({ state: 'running', step: 1 });
    expect(checkout.history.find((e) => e.verdict)?.verdict?.decision).toBe('promote');

    const orders = await release(idOf('orders'));
    expect(orders.plan.state).toBe('aborted');
    expect(orders.plan.because).toMatch(
      /^orders-availability: the canary is worse: canary \d+\/\d+ bad \(1\.50%\) vs stable \d+\/\d+ bad \(0\.500%\), difference \+1\.00 points \(margin \+0\.100 points\), z-test p = \S+ < 0\.05$/,
    );
    const numbers = orders.history.find((e) => e.verdict)!.verdict!.slis![0]!;
    expect(numbers.test).toBe('z');
    expect(numbers.canary.bad / numbers.canary.total).toBeCloseTo(0.015, 3);
    expect(numbers.pValue).toBeLessThan(0.001);
    expect(canary('orders')).toBeUndefined();
    expect(stableImage('orders')).not.toBe(image('orders'));
    expect((await running.runtime.services.changes.get(orders.changeId!)).state).toBe('failed');
    // Its owners hear of it in their own channel.
    await slack.waitForCall('chat.postMessage', (call) => call.args.channel === 'C0ORDERS1');

    const cart = await release(idOf('cart'));
    expect(cart.plan).toMatchObject({ state: 'running', step: 0, waited: 1 });
    expect(cart.history.at(-1)?.verdict?.reason).toMatch(
      /^waiting \(1 of 2\): cart-availability: not enough traffic to judge/,
    );

    // The incident paused inventory: not judged, not moved.
    const inventory = await release(idOf('inventory'));
    expect(inventory.plan.state).toBe('paused');
    expect(inventory.plan.because).toMatch(/^open incident INC-1 \(SEV1: inventory 5xx\) on inventory/);
    expect(inventory.history.some((e) => e.verdict)).toBe(false);
    expect(canaryWrites('inventory')).toHaveLength(1);
    // Its change keeps the service's lock while it waits: each look renews it for an hour.
    const lock = await running.runtime.services.store.get<{ id: string; owner: string; expiresAt: string }>(
      'locks',
      'change:inventory',
    );
    expect(lock?.owner).toBe(inventory.changeId);
    expect(Date.parse(lock!.expiresAt)).toBe(t0 + 65 * MINUTE);
  }, 120_000);

  it('resumes after a restart without repeating a step, and a resolved incident lets a paused release go on', async () => {
    await at(10);
    expect((await release(idOf('payments'))).plan).toMatchObject({ state: 'running', step: 2 });
    expect((await release(idOf('cart'))).plan).toMatchObject({ state: 'running', waited: 2 });
    const writesBefore = canaryWrites('payments').length;
    const historyBefore = (await release(idOf('payments'))).history.length;
    expect(writesBefore).toBe(3); // created at 5%, then 25%, then 50%

    await stop();
    await serve();
    await at(11);
    const payments = await release(idOf('payments'));
    expect(payments.plan).toMatchObject({ state: 'running', step: 2 });
    expect(payments.history).toHaveLength(historyBefore);
    expect(canaryWrites('payments')).toHaveLength(writesBefore);

    const resolved = await as(ANA, 'incident resolve id=INC-1 summary="bad config rolled back"');
    expect(resolved.ok).toBe(true);
    await at(12);
    const inventory = await release(idOf('inventory'));
    expect(inventory.plan.state).toBe('running');
    expect(inventory.history.map((e) => e.event)).toContain('gate clear');
  }, 180_000);

  it('promotes a good canary through every step to 100%: the stable takes the image and the canary goes', async () => {
    await at(15);
    // cart waited its two extra intervals and still had too little traffic.
    const cart = await release(idOf('cart'));
    expect(cart.plan.state).toBe('aborted');
    expect(cart.plan.because).toMatch(
      /^still not judged after 2 extra intervals: cart-availability: not enough traffic/,
    );
    expect(canary('cart')).toBeUndefined();

    await at(16);
    for (const service of ['checkout', 'payments'] as const) {
      const done: ReleaseRecord = await release(idOf(service));
      expect(done.plan.state).toBe('promoted');
      expect(done.history.filter((e) => e.action === 'set-canary').map((e) => e.share)).toHaveLength(3);
      expect(stableImage(service)).toBe(image(service));
      expect(canary(service)).toBeUndefined();
      const change = await running.runtime.services.changes.get(done.changeId!);
      expect(change.state).toBe('verifying');
    }
    // A restart in the middle repeated nothing: three canary writes and one promotion for payments.
    expect(canaryWrites('payments')).toHaveLength(3);
    const shown = await as(BEN, `release status ${idOf('checkout')}`);
    expect(replyToText(shown)).toMatch(/promoted/);
    const listed = await as(BEN, 'release list');
    expect((listed.data as { releases: unknown[] }).releases).toHaveLength(STORIES.length);
  }, 180_000);
  it('keeps one message per release, edited in place, with single-use buttons that check the clicker', async () => {
    // checkout's message followed it in place: posted at 5%, edited at 25% and 50%; the restart
    // left that handle behind, so one more message was posted, then edited up to promoted.
    const followed = messageOf(idOf('checkout'));
    expect(followed).toHaveLength(2);
    for (const message of followed)
      expect(slack.callsTo('chat.update').filter((c) => c.args.ts === message.ts)).toHaveLength(
        message.updates,
      );
    expect(followed[0]!.updates).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(followed[0]!.blocks)).toMatch(/50% ◀/);
    expect(JSON.stringify(followed[1]!.blocks)).toMatch(/promoted/);
    // The chart of canary vs stable per step came along.
    expect(JSON.stringify(followed[1]!.blocks)).toMatch(/canary vs stable per step/);

    // Slack signs clicks with the time now: shipping's release starts at it.
    clock.set(new Date(Date.now()));
    const started = await as(ANA, 'release start shipping image=registry.example.com/shop/shipping:2.0.0');
    expect(started.ok).toBe(true);
    const id = (started.data as { release: { id: string } }).release.id;
    await releases().tick();
    const [message, ...others] = messageOf(id);
    expect(others).toHaveLength(0);
    expect(JSON.stringify(message!.blocks)).toMatch(/5% ◀/);
    const buttons = buttonsOf(id);
    expect(Object.keys(buttons).sort()).toEqual(['abort', 'promote']);

    // An engineer may not promote: refused, and the token is not spent.
    currentId = id;
    expect(await refusal(buttons.promote!, BEN)).toMatch(/may not run release\.promote/);
    expect((await release(id)).plan.step).toBe(0);
    // The approver promotes: 5% → 25% at once; the same button again does nothing.
    const updates = message!.updates;
    await clickUntil(buttons.promote!, DEE, (r) => r.plan.step === 1 && !r.pending);
    // Spent: refused whether the first click's answer is out yet (done) or not (still running).
    expect(await refusal(buttons.promote!, DEE)).toMatch(
      /already done by|started this at .+ and it is still running/,
    );
    expect((await release(id)).plan.step).toBe(1);
    // The message was redrawn in place, not posted again.
    await slack.waitForCall(
      'chat.update',
      (call) => call.args.ts === message!.ts && JSON.stringify(call.args.blocks).includes('25% ◀'),
    );
    expect(messageOf(id)).toHaveLength(1);
    expect(messageOf(id)[0]!.updates).toBeGreaterThan(updates);
    expect(JSON.stringify(messageOf(id)[0]!.blocks)).toMatch(/25% ◀/);

    // Abort from the redrawn message's button: the canary goes, the stable keeps serving.
    const fresh = buttonsOf(id);
    expect(fresh.abort).not.toBe(buttons.abort);
    await clickUntil(fresh.abort!, DEE, (r) => r.plan.state === 'aborted' && !r.pending);
    const aborted = await release(id);
    expect(aborted.plan.because).toBe(`aborted by ${DEE}: aborted from the release message`);
    expect(canary('shipping')).toBeUndefined();
    expect(await refusal(fresh.abort!, DEE)).toMatch(
      /already done by|started this at .+ and it is still running/,
    );
    // Over: the message keeps no buttons.
    await slack.waitForCall(
      'chat.update',
      (call) => call.args.ts === message!.ts && JSON.stringify(call.args.blocks).includes('ABORTED'),
    );
    expect(buttonsOf(id)).toEqual({});
  }, 120_000);
});
