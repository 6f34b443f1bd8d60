// The plain reads `deploys` and digests reuse (no executor around them): deployment status,
// ReplicaSet revisions, pods, and a whole deployment described in three calls.
import { fixedClock } from '../../../src/core/clock.js';
import {
  connectKubernetes,
  describeDeployment,
  getDeploymentStatus,
  listDeployments,
  listPods,
  listReplicaSets,
} from '../../../src/upstreams/kubernetes/index.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';
import { apiCalls, failureOf } from './support.js';

const NOW = new Date('2025-03-01T10:00:00Z');

describe('Kubernetes reads for deploys', () => {
  let double: KubernetesApiDouble;
  beforeAll(async () => {
    double = await startKubernetesApi({
      now: () => NOW,
      objects: [
        ...loadKubernetesScenario('progress-deadline-exceeded', { now: NOW }),
        ...loadKubernetesScenario('crashloop', { deployment: 'cart', now: NOW }),
        ...loadKubernetesScenario('healthy', { deployment: 'search', namespace: 'catalog', now: NOW }),
      ],
    });
  });
  afterAll(() => double.close());
  beforeEach(() => double.clearRequests());

  const cluster = () =>
    connectKubernetes({
      kubeconfigYaml: double.kubeconfig,
      allowedNamespaces: ['shop', 'catalog'],
      clock: fixedClock(NOW),
    });

  it('describes a deployment (status, revisions, pods with their revision) in three calls', async () => {
    const { status, replicaSets, pods } = await describeDeployment(cluster(), {
      namespace: 'shop',
      name: 'checkout',
    });
    expect(status).toMatchObject({
      state: 'failed',
      revision: 5,
      message: 'deployment "checkout" exceeded its progress deadline',
    });
    expect(status.conditions.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "checkout-7b9c6f5d48" has timed out progressing.',
    });
    expect(
      replicaSets.map((rs) => [rs.revision, rs.images[0]?.image, rs.desired, rs.ready, rs.isCurrent]),
    ).toEqual([
      [5, 'registry.example.com/shop/checkout:1.5.0', 1, 0, true],
      [4, 'registry.example.com/shop/checkout:1.4.2', 3, 3, false],
    ]);
    const notReady = pods.filter((p) => p.reason !== null);
    expect(notReady).toEqual([
      expect.objectContaining({
        name: 'checkout-7b9c6f5d48-h5j7c',
        revision: 5,
        reason: 'NotReady',
        status: 'Running',
        age: '14m',
      }),
    ]);
    expect(
      apiCalls(double)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([
      'GET /api/v1/namespaces/shop/pods',
      'GET /apis/apps/v1/namespaces/shop/deployments/checkout',
      'GET /apis/apps/v1/namespaces/shop/replicasets',
    ]);
  });

  it('lists deployments of a namespace by label selector', async () => {
    const statuses = await listDeployments(cluster(), { namespace: 'shop', labelSelector: 'team=payments' });
    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ['cart', 'degraded'],
      ['checkout', 'failed'],
    ]);
  });

  it('reads each piece on its own too', async () => {
    const client = cluster();
    expect((await getDeploymentStatus(client, { namespace: 'catalog', name: 'search' })).state).toBe(
      'healthy',
    );
    expect(
      (await listReplicaSets(client, { namespace: 'catalog', name: 'search' })).map((rs) => rs.revision),
    ).toEqual([4, 3]);
    const pods = await listPods(client, { namespace: 'shop', name: 'cart' });
    expect(pods.filter((p) => p.reason === 'CrashLoopBackOff').map((p) => p.name)).toEqual([
      'cart-6d9f7c8b5d-m4q9z',
      'cart-6d9f7c8b5d-x7k2p',
    ]);
  });

  it('refuses namespaces outside its allow-list before any request', async () => {
    const error = await failureOf(
      getDeploymentStatus(cluster(), { namespace: 'kube-system', name: 'coredns' }),
    );
    expect(error.code).toBe('millwright_permission_denied');
    expect(double.requests).toHaveLength(0);
  });
});
