// The Argo Rollouts actions against the Kubernetes double through the real client: set image starts
// the canary, promote moves it from pause to pause (status subresource) or fully, abort sends it back
// to the stable, and one look tells where it stands, failing crash-looping canary pods. Refusals are
// honest: 403 without argoproj.io rights, 404 for an unknown Rollout, 5xx retried only for reads.
import {
  type KubernetesApiDouble,
  ROLLOUTS_POD_TEMPLATE_HASH,
  rolloutFixture,
} from '../../doubles/kubernetes-api.js';
import { context, executorFor, failureOf, kubectl, startCluster } from './support.js';

const ROLLOUT = '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout';
const STABLE = 'registry.example.com/shop/checkout:1.4.2';
const IMAGE = 'registry.example.com/shop/checkout:2.4.0';

let k8s: KubernetesApiDouble;
beforeEach(async () => {
  k8s = await startCluster('healthy', { rollouts: [rolloutFixture('checkout', { replicas: 10 })] });
});
afterEach(() => k8s.close());

const run = (action: string, input: Record<string, unknown> = {}, dryRun = false) =>
  executorFor(k8s).execute(context({ dryRun }), {
    action,
    input: { namespace: 'shop', rollout: 'checkout', ...input },
  });
const status = async () => (await run('argo-status')).output as Record<string, unknown>;
const podsOf = (labels: Record<string, string>) =>
  k8s.state
    .list('Pod', 'shop')
    .filter((pod) => Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v));

it('sets the image with a merge patch, and Argo starts the canary: paused at the first setWeight', async () => {
  const set = await run('argo-set-image', { image: IMAGE });
  expect(set.output).toMatchObject({ previousImage: STABLE, image: IMAGE, changed: true });
  expect(set.summary).toBe(`set rollout shop/checkout container checkout from ${STABLE} to ${IMAGE}`);
  const [patch] = k8s.requestsTo('PATCH', ROLLOUT);
  expect(patch?.contentType).toBe('application/merge-patch+json');
  expect(patch?.body).toMatchObject({
    spec: { template: { spec: { containers: [{ name: 'checkout', image: IMAGE }] } } },
  });
  const now = await status();
  expect(now).toMatchObject({
    phase: 'Paused',
    message: 'CanaryPauseStep',
    outcome: 'paused',
    step: 1,
    weight: 5,
  });
  expect(now).toMatchObject({
    paused: true,
    aborted: false,
    updating: true,
    canaryPods: { total: 1, ready: 1 },
  });
  // The track labels come from the Rollout's canaryMetadata and stableMetadata.
  expect(now.trackLabels).toEqual({ canary: { track: 'canary' }, stable: { track: 'stable' } });
  expect(podsOf({ track: 'canary', [ROLLOUTS_POD_TEMPLATE_HASH]: String(now.currentPodHash) })).toHaveLength(
    1,
  );
  expect(podsOf({ track: 'stable' })).toHaveLength(9);
  // Again: nothing is sent.
  k8s.clearRequests();
  expect((await run('argo-set-image', { image: IMAGE })).output).toMatchObject({ changed: false });
  expect(k8s.requestsTo('PATCH', ROLLOUT)).toHaveLength(0);
});

it('promotes from pause to pause through the status subresource, then fully: the canary becomes stable', async () => {
  await run('argo-set-image', { image: IMAGE });
  k8s.clearRequests();
  const promoted = await run('argo-promote');
  expect(promoted.output).toMatchObject({ outcome: 'promoted', fromStep: 1, patched: ['status'] });
  const [patch] = k8s.requestsTo('PATCH', `${ROLLOUT}/status`);
  expect(patch?.body).toEqual({ status: { pauseConditions: null } });
  expect(patch?.contentType).toBe('application/merge-patch+json');
  expect(await status()).toMatchObject({ phase: 'Paused', step: 3, weight: 25, canaryPods: { total: 3 } });

  const full = await run('argo-promote', { full: true });
  expect(full.output).toMatchObject({ outcome: 'promoted', full: true });
  expect(k8s.requestsTo('PATCH', `${ROLLOUT}/status`).at(-1)?.body).toEqual({
    status: { promoteFull: true },
  });
  const done = await status();
  expect(done).toMatchObject({ phase: 'Healthy', weight: 100, updating: false, paused: false });
  expect(done.stableRS).toBe(done.currentPodHash);
  // The new pods now carry the stable track; no canary pod is left.
  expect(podsOf({ track: 'stable' }).map((pod) => pod.spec.containers[0]?.image)).toEqual(
    Array(10).fill(IMAGE),
  );
  expect(podsOf({ track: 'canary' })).toHaveLength(0);
  // Nothing left to promote: nothing is sent.
  k8s.clearRequests();
  expect((await run('argo-promote')).output).toMatchObject({ outcome: 'unchanged', patched: [] });
  expect(k8s.requestsTo('PATCH', `${ROLLOUT}/status`)).toHaveLength(0);
});

it('aborts: Degraded at weight 0 with the stable serving; the image set back makes it Healthy again', async () => {
  await run('argo-set-image', { image: IMAGE });
  const aborted = await run('argo-abort');
  expect(aborted.summary).toBe('aborted rollout shop/checkout; the stable takes all traffic');
  expect(k8s.requestsTo('PATCH', `${ROLLOUT}/status`).at(-1)?.body).toEqual({ status: { abort: true } });
  const now = await status();
  expect(now).toMatchObject({ phase: 'Degraded', outcome: 'degraded', weight: 0, aborted: true });
  expect(now.message).toBe('RolloutAborted: Rollout aborted update to revision 2');
  expect(podsOf({ track: 'stable' })).toHaveLength(10);
  expect(podsOf({ track: 'canary' })).toHaveLength(0);
  // A second abort sends nothing; promoting an aborted Rollout is refused, naming the way back.
  k8s.clearRequests();
  expect((await run('argo-abort')).output).toMatchObject({ outcome: 'unchanged' });
  const refused = await failureOf(run('argo-promote'));
  expect(refused.message).toBe(
    'rollout checkout in namespace shop is aborted; promoting it would start the aborted update again',
  );
  expect(k8s.requestsTo('PATCH', `${ROLLOUT}/status`)).toHaveLength(0);
  // Argo's documented way back: the template on the stable version again.
  await run('argo-set-image', { image: STABLE });
  expect(await status()).toMatchObject({ phase: 'Healthy', aborted: false, weight: 100, updating: false });
});

it("fails the look when the canary's pods crash-loop, naming them", async () => {
  k8s.state.failingImages.set(IMAGE, { reason: 'CrashLoopBackOff', restarts: 5 });
  await run('argo-set-image', { image: IMAGE });
  const now = await status();
  expect(now).toMatchObject({ phase: 'Progressing', outcome: 'failed', step: 0, weight: 5 });
  expect(JSON.stringify(now.troubles)).toMatch(/CrashLoopBackOff/);
  expect((await run('argo-status')).summary).toMatch(
    /^rollout shop\/checkout is Progressing \(more replicas need to be updated\), step 0\/6, canary weight 5%; canary pods failing: pod checkout-\S+ CrashLoopBackOff \(5 restarts\)$/,
  );
  // Below the restart threshold it is still starting.
  expect(((await run('argo-status', { maxRestarts: 6 })).output as { outcome: string }).outcome).toBe(
    'progressing',
  );
});

it('marks the Rollout Degraded once a stuck canary passes its progress deadline', async () => {
  let now = new Date('2026-01-01T12:00:00Z');
  const timed = await startCluster('healthy', {
    now: () => now,
    rollouts: [rolloutFixture('checkout', { replicas: 10 })],
  });
  try {
    const look = async (action: string, input: Record<string, unknown> = {}) =>
      executorFor(timed, { clock: { now: () => now } }).execute(context(), {
        action,
        input: { namespace: 'shop', rollout: 'checkout', ...input },
      });
    timed.state.failingImages.set(IMAGE, { reason: 'ImagePullBackOff' });
    await look('argo-set-image', { image: IMAGE });
    expect((await look('argo-status', { stuckAfter: '1h' })).output).toMatchObject({
      outcome: 'progressing',
    });
    now = new Date(now.getTime() + 601_000);
    const degraded = (await look('argo-status', { stuckAfter: '1h' })).output;
    expect(degraded).toMatchObject({ phase: 'Degraded', outcome: 'degraded' });
    expect(degraded.message).toMatch(
      /^ProgressDeadlineExceeded: ReplicaSet "checkout-\S+" has timed out progressing\.$/,
    );
  } finally {
    await timed.close();
  }
});

it('refuses without the argoproj.io rights (403, the RBAC hint), an unknown Rollout (404) and bad names', async () => {
  k8s.setRoles([
    {
      kind: 'Role',
      metadata: { name: 'millwright', namespace: 'shop' },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }],
    },
  ]);
  const forbidden = await failureOf(run('argo-abort'));
  expect(forbidden.message).toMatch(
    /^the Kubernetes API refused to get rollout shop\/checkout \(403 Forbidden, RBAC\): rollouts\.argoproj\.io "checkout" is forbidden/,
  );
  expect(forbidden.hint).toMatch(/"get" on rollouts in namespace shop/);
  k8s.setRoles(undefined);

  const missing = await failureOf(run('argo-status', { rollout: 'nope' }));
  expect(missing.message).toBe('rollout nope not found in namespace shop');
  expect(missing.hint).toMatch(/kubectl get rollouts -n shop/);
  const [notFound] = k8s.requestsTo('GET', '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/nope');
  expect(notFound?.status).toBe(404);
  // The API server's Status body, as the client received it.
  expect(missing.details).toMatchObject({ status: 404, reason: 'NotFound' });
  const sent = (missing.cause as { body?: unknown }).body;
  expect(typeof sent === 'string' ? JSON.parse(sent) : sent).toMatchObject({
    kind: 'Status',
    status: 'Failure',
    message: 'rollouts.argoproj.io "nope" not found',
    details: { name: 'nope', group: 'argoproj.io', kind: 'rollouts' },
    code: 404,
  });

  k8s.clearRequests();
  const bad = await failureOf(run('argo-promote', { rollout: 'Checkout;rm' }));
  expect(bad.code).toBe('millwright_bad_argument');
  expect(bad.message).toBe('rollout "Checkout;rm" is not a valid Kubernetes name');
  expect((await failureOf(run('argo-promote', { full: 'yes' }))).message).toBe(
    'full must be true or false, got "yes"',
  );
  expect(k8s.requests).toHaveLength(0);
});

it('retries a read on 5xx, sends a promotion once and says what failed', async () => {
  await run('argo-set-image', { image: IMAGE });
  k8s.clearRequests();
  k8s.inject({ path: ROLLOUT, method: 'GET', fault: 503 });
  expect((await status()).weight).toBe(5);
  expect(k8s.requestsTo('GET', ROLLOUT)).toHaveLength(2);

  k8s.inject({ path: `${ROLLOUT}/status`, method: 'PATCH', fault: 500 });
  const failed = await failureOf(run('argo-promote'));
  expect(failed.message).toMatch(
    /^the Kubernetes API failed to patch rollout status shop\/checkout \(500 InternalError\): Internal error occurred/,
  );
  expect(k8s.requestsTo('PATCH', `${ROLLOUT}/status`)).toHaveLength(1);
  expect((await status()).step).toBe(1);
});

it('a dry run is checked by the API server and changes nothing', async () => {
  const result = await run('argo-set-image', { image: IMAGE }, true);
  expect(result.output).toMatchObject({ changed: true, dryRun: true });
  expect(k8s.requestsTo('PATCH', ROLLOUT)[0]?.query).toMatchObject({ dryRun: 'All' });
  expect(await status()).toMatchObject({ phase: 'Healthy', updating: false });
});

it('is what kubectl sees too: the Rollout listed through discovery, its canary paused', async () => {
  await run('argo-set-image', { image: IMAGE });
  const listed = await kubectl(k8s, ['get', 'rollouts.argoproj.io', '-n', 'shop', '-o', 'json']);
  expect(listed.code).toBe(0);
  const items = (
    JSON.parse(listed.stdout) as { items: Array<{ metadata: { name: string }; status: object }> }
  ).items;
  expect(items.map((item) => item.metadata.name)).toEqual(['checkout']);
  expect(items[0]?.status).toMatchObject({ phase: 'Paused', currentStepIndex: 1 });
});
