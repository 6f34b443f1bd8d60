// Which revision `kubernetes.undo` goes back to when none is given: the one still fully available,
// else the newest whose pod template differs by more than a restart; never the same broken pods.
import type { KubernetesApiDouble } from '../../doubles/kubernetes-api.js';
import { context, executorFor, failureOf, startCluster } from './support.js';

const REGISTRY = 'registry.example.com/shop/checkout';
const target = { namespace: 'shop', deployment: 'checkout' };

let double: KubernetesApiDouble;
afterEach(() => double.close());

/** Rolls the deployment to a new image the way `kubectl set image` does: a template change. */
function setImage(image: string): void {
  const deployment = double.state.get('Deployment', 'shop', 'checkout');
  const container = deployment?.spec.template.spec.containers[0];
  if (!deployment || !container) throw new Error('fixture has no deployment');
  container.image = image;
  double.state.write(deployment);
}

function deployedImage(): string | undefined {
  return double.state.get('Deployment', 'shop', 'checkout')?.spec.template.spec.containers[0]?.image;
}

it('after a failed restart of a stuck rollout, goes back to the revision still serving, not the broken one', async () => {
  double = await startCluster('healthy');
  const executor = executorFor(double);
  double.state.failingImages.set(`${REGISTRY}:1.5.0`, { reason: 'ImagePullBackOff' });
  setImage(`${REGISTRY}:1.5.0`); // revision 5: stuck, revision 4 (1.4.2) still serves 3/3
  await executor.execute(context(), { action: 'restart', input: target }); // revision 6: 1.5.0 again

  const undo = await executor.execute(context(), { action: 'undo', input: target });
  expect(undo.output).toMatchObject({ fromRevision: 6, toRevision: 4, skipped: false });
  expect(undo.summary).toBe(
    `rolled deployment shop/checkout back from revision 6 to revision 4 (${REGISTRY}:1.4.2): revision 4 is fully available (3/3 ready)`,
  );
  expect(deployedImage()).toBe(`${REGISTRY}:1.4.2`);
  const status = await executor.execute(context(), { action: 'rollout-status', input: target });
  expect(status.output).toMatchObject({ state: 'healthy' });
});

it('skips earlier revisions that differ only by a restart', async () => {
  double = await startCluster('crashloop'); // revision 4 (1.4.2) crash-loops, revision 3 is 1.4.1
  const executor = executorFor(double);
  double.state.failingImages.set(`${REGISTRY}:1.4.2`, { reason: 'CrashLoopBackOff' });
  await executor.execute(context(), { action: 'restart', input: target }); // revision 5: 1.4.2 again

  const undo = await executor.execute(context(), { action: 'undo', input: target });
  expect(undo.output).toMatchObject({ fromRevision: 5, toRevision: 3 });
  expect(undo.output.reason).toBe(
    'revision 3 is the newest whose pod template differs; 4 run the same template',
  );
  expect(deployedImage()).toBe(`${REGISTRY}:1.4.1`);
});

it('refuses when every earlier revision runs the same pods, instead of "rolling back" to them', async () => {
  double = await startCluster('healthy');
  double.state.remove('ReplicaSet', 'shop', 'checkout-5f8d9c7b64'); // only revision 4 left
  const executor = executorFor(double);
  await executor.execute(context(), { action: 'restart', input: target }); // revision 5
  const before = double.requestsTo('PATCH', '/apis/apps/v1/namespaces/shop/deployments/checkout').length;

  const error = await failureOf(executor.execute(context(), { action: 'undo', input: target }));
  expect(error.code).toBe('millwright_precondition_failed');
  expect(error.message).toBe(
    'deployment checkout in namespace shop has no earlier revision with a different pod template to roll back to',
  );
  expect(error.hint).toContain('differ from the current one only by a restart');
  expect(double.requestsTo('PATCH', '/apis/apps/v1/namespaces/shop/deployments/checkout')).toHaveLength(
    before,
  );
});

it('still goes to the revision asked for', async () => {
  double = await startCluster('healthy');
  const undo = await executorFor(double).execute(context(), {
    action: 'undo',
    input: { ...target, toRevision: 3 },
  });
  expect(undo.output).toMatchObject({ toRevision: 3, reason: 'revision 3 was asked for' });
});
