// The canary actions against the Kubernetes API double through the real client: a copy of the stable
// Deployment on the canary track with the new image, scaled, removed, and the stable's image set — each
// a target state, so repeating one changes nothing — and refusals for what would harm the stable.
import type { KubernetesApiDouble } from '../../doubles/kubernetes-api.js';
import { loadKubernetesScenario } from '../../doubles/kubernetes-api.js';
import { trackedScenario } from '../../helpers/release-cluster.js';
import { context, executorFor, failureOf, startCluster } from './support.js';

type Deployment = {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { name: string; image: string }[] };
    };
  };
};

const CANARY = '/apis/apps/v1/namespaces/shop/deployments/checkout-canary';
const IMAGE = 'registry.example.com/shop/checkout:2.4.0';

let k8s: KubernetesApiDouble;
beforeEach(async () => {
  k8s = await startCluster('healthy');
  k8s.state.apply(trackedScenario());
});
afterEach(() => k8s.close());

const run = (action: string, input: Record<string, unknown>, dryRun = false) =>
  executorFor(k8s).execute(context({ dryRun }), {
    action,
    input: { namespace: 'shop', deployment: 'checkout', ...input },
  });
const canary = () =>
  k8s.state.get('Deployment', 'shop', 'checkout-canary') as unknown as Deployment | undefined;
const stable = () => k8s.state.get('Deployment', 'shop', 'checkout') as unknown as Deployment;

it('creates the canary as a copy of the stable on the canary track, with the new image and its pods', async () => {
  const result = await run('canary-set', { image: IMAGE, replicas: 1 });
  expect(result.summary).toBe(`created canary shop/checkout-canary: 1 pods of ${IMAGE} next to checkout`);
  const made = canary()!;
  expect(made.metadata.annotations).toMatchObject({ 'millwright.io/canary-of': 'checkout' });
  expect(made.spec.replicas).toBe(1);
  expect(made.spec.selector.matchLabels).toEqual({ app: 'checkout', track: 'canary' });
  expect(made.spec.template.metadata.labels).toMatchObject({ app: 'checkout', track: 'canary' });
  expect(made.spec.template.spec.containers.map((c) => c.image)).toEqual([IMAGE]);
  // The stable is untouched.
  expect(stable().spec.template.spec.containers[0]!.image).not.toBe(IMAGE);
});

it('scales it, and does nothing when it already is as wanted', async () => {
  await run('canary-set', { image: IMAGE, replicas: 1 });
  const scaled = await run('canary-set', { image: IMAGE, replicas: 3 });
  expect(scaled.output).toMatchObject({ outcome: 'updated', replicas: 3 });
  expect(canary()!.spec.replicas).toBe(3);
  k8s.clearRequests();
  const again = await run('canary-set', { image: IMAGE, replicas: 3 });
  expect(again.output).toMatchObject({ outcome: 'unchanged' });
  expect(k8s.requestsTo('PATCH', CANARY)).toHaveLength(0);
  expect(k8s.requestsTo('POST', '/apis/apps/v1/namespaces/shop/deployments')).toHaveLength(0);
});

it('removes it, and a second removal finds nothing to do', async () => {
  await run('canary-set', { image: IMAGE, replicas: 1 });
  expect((await run('canary-remove', {})).summary).toBe(
    'removed canary shop/checkout-canary; checkout keeps serving',
  );
  expect(canary()).toBeUndefined();
  expect((await run('canary-remove', {})).output).toMatchObject({ outcome: 'absent' });
  expect(k8s.requestsTo('DELETE', CANARY)).toHaveLength(1);
});

it('sets the stable image for promotion, once', async () => {
  const before = stable().spec.template.spec.containers[0]!.image;
  const set = await run('set-image', { image: IMAGE });
  expect(set.output).toMatchObject({ previousImage: before, image: IMAGE, changed: true });
  expect(stable().spec.template.spec.containers[0]!.image).toBe(IMAGE);
  expect((await run('set-image', { image: IMAGE })).output).toMatchObject({ changed: false });
});

it('a dry run is checked by the API server and changes nothing', async () => {
  const result = await run('canary-set', { image: IMAGE, replicas: 2 }, true);
  expect(result.output).toMatchObject({ outcome: 'created', dryRun: true });
  expect(canary()).toBeUndefined();
});

it('refuses a stable that does not select by the track label, naming the fix', async () => {
  k8s.state.apply(loadKubernetesScenario('healthy'));
  const failure = await failureOf(run('canary-set', { image: IMAGE, replicas: 1 }));
  expect(failure.code).toBe('millwright_precondition_failed');
  expect(failure.message).toBe(
    'deployment checkout in namespace shop does not select its pods by the label "track" with a stable value, so canary pods would be counted as its own',
  );
  expect(failure.hint).toMatch(/track: stable in spec.selector.matchLabels/);
  expect(canary()).toBeUndefined();
});

it('never touches a checkout-canary it did not make', async () => {
  const stranger = structuredClone(stable()) as unknown as Deployment & { metadata: { name: string } };
  stranger.metadata = { name: 'checkout-canary', labels: { app: 'other' } } as never;
  k8s.state.apply([
    {
      ...(stranger as object),
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'checkout-canary', namespace: 'shop' },
    } as never,
  ]);
  for (const [action, input] of [
    ['canary-set', { image: IMAGE, replicas: 1 }],
    ['canary-remove', {}],
  ] as const) {
    const failure = await failureOf(run(action, input));
    expect(failure.message).toBe(
      'deployment checkout-canary in namespace shop exists and is not a canary Millwright made for checkout',
    );
  }
  expect(k8s.requestsTo('DELETE', CANARY)).toHaveLength(0);
});

it('refuses image references and labels that are not, before any request', async () => {
  for (const image of [
    'Registry/Checkout:1',
    'checkout:1;rm -rf /',
    'checkout:$(id)',
    '',
    'checkout@sha256:abc',
  ]) {
    k8s.clearRequests();
    const failure = await failureOf(run('canary-set', { image, replicas: 1 }));
    expect(failure.code).toBe('millwright_bad_argument');
    expect(k8s.requests.filter((request) => request.path.includes('/deployments'))).toHaveLength(0);
  }
  expect((await failureOf(run('canary-set', { image: IMAGE, replicas: 1, trackLabel: 'a b' }))).code).toBe(
    'millwright_bad_argument',
  );
});

it("judges the canary's rollout in one look: complete when its pods serve, failed when they crash-loop", async () => {
  await run('canary-set', { image: IMAGE, replicas: 1 });
  const healthy = await run('rollout-check', { deployment: 'checkout-canary' });
  expect(healthy.output).toMatchObject({ outcome: 'complete' });
  const crashing = 'registry.example.com/shop/checkout:2.5.0';
  k8s.state.failingImages.set(crashing, { reason: 'CrashLoopBackOff', restarts: 4 });
  await run('canary-set', { image: crashing, replicas: 1 });
  const failed = await run('rollout-check', { deployment: 'checkout-canary' });
  expect(failed.output).toMatchObject({ outcome: 'failed' });
  expect(failed.output.message).toMatch(
    /^deployment "checkout-canary" rollout failed: pod checkout-canary-\S+ CrashLoopBackOff \(4 restarts\)$/,
  );
  // Below the restart threshold it is still starting, not failed.
  const patient = await run('rollout-check', { deployment: 'checkout-canary', maxRestarts: 5 });
  expect(patient.output).toMatchObject({ outcome: 'waiting' });
});
