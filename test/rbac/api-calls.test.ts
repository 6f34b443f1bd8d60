// The API-call declarations `millwright rbac` is built from, held to what the code does: every
// kubernetes action and reader runs against the Kubernetes double enforcing a Role made of exactly
// its declaration (a call outside it is a 403 and fails the run), and declares nothing it never calls.
import { silentLogger } from '../../src/core/logger.js';
import { DEPLOYS_KUBERNETES_CALLS, deploysKubernetesCalls, LIST_FROM } from '../../src/deploys/api-calls.js';
import { KUBERNETES_ACTION_CALLS } from '../../src/executors/kubernetes/api-calls.js';
import { DEFAULT_SCALE_BOUNDS, kubernetesActions } from '../../src/executors/kubernetes/metadata.js';
import { planRoles, roleObject } from '../../src/rbac/index.js';
import { ARGO_RELEASE_ACTIONS } from '../../src/releases/argo-cluster.js';
import {
  KUBERNETES_READER_CALLS,
  type KubernetesApiCall,
  mergeApiCalls,
} from '../../src/upstreams/kubernetes/api-calls.js';
import {
  connectKubernetes,
  describeDeployment,
  getDeploymentStatus,
  type KubernetesClient,
  listDeployments,
  listPods,
  listReplicaSets,
  tailLogs,
} from '../../src/upstreams/kubernetes/index.js';
import {
  type KubernetesApiDouble,
  type RoleLike,
  requestAttributes,
  rolloutFixture,
} from '../doubles/kubernetes-api.js';
import { context, executorFor, startCluster } from '../executors/kubernetes/support.js';

/** A Role in namespace shop granting exactly `calls`. */
function roleOf(calls: readonly KubernetesApiCall[]): RoleLike {
  return {
    kind: 'Role',
    metadata: { name: 'millwright', namespace: 'shop' },
    rules: calls.map((c) => ({ apiGroups: [c.apiGroup], resources: [c.resource], verbs: [...c.verbs] })),
  };
}

/** The API calls the double saw, in declaration form (discovery left out). */
function callsMade(double: KubernetesApiDouble): KubernetesApiCall[] {
  const made: KubernetesApiCall[] = [];
  for (const request of double.requests) {
    const attributes = requestAttributes(request.method, new URL(request.path, 'https://double'));
    if (attributes) {
      made.push({
        apiGroup: attributes.apiGroup,
        resource: attributes.resource,
        verbs: [attributes.verb as 'get'],
      });
    }
  }
  return mergeApiCalls(made);
}

/**
 * What issue 18 makes `rollout-status` read (its ReplicaSets and pods), declared ahead of the code so
 * the Roles stay true once it lands; the only declared calls no run makes today.
 */
const DECLARED_AHEAD: Record<string, KubernetesApiCall[]> = {
  'rollout-status': [
    { apiGroup: '', resource: 'pods', verbs: ['get', 'list'] },
    { apiGroup: 'apps', resource: 'replicasets', verbs: ['get', 'list'] },
  ],
  // A first canary-set creates the canary; a later one patches it. A removal with no canary deletes nothing.
  'canary-set': [{ apiGroup: 'apps', resource: 'deployments', verbs: ['patch'] }],
  'canary-remove': [{ apiGroup: 'apps', resource: 'deployments', verbs: ['delete'] }],
  // spec.paused is patched only when someone paused the Rollout by hand.
  'argo-promote': [{ apiGroup: 'argoproj.io', resource: 'rollouts', verbs: ['patch'] }],
};

/** The Argo actions run against a Rollout whose canary is paused at its first step. */
const ARGO_CANARY_UNDER_WAY = ['argo-status', 'argo-promote', 'argo-abort'];

const ACTION_INPUTS: Record<string, Record<string, unknown>> = {
  'rollout-status': { namespace: 'shop', deployment: 'checkout' },
  'rollout-check': { namespace: 'shop', deployment: 'checkout' },
  restart: { namespace: 'shop', deployment: 'checkout' },
  scale: { namespace: 'shop', deployment: 'checkout', replicas: 4 },
  undo: { namespace: 'shop', deployment: 'checkout' },
  'list-pods': { namespace: 'shop', deployment: 'checkout' },
  logs: { namespace: 'shop', deployment: 'checkout', lines: 10 },
  // The healthy checkout selects by `app` only; that label stands in for the track here.
  'canary-set': {
    namespace: 'shop',
    deployment: 'checkout',
    image: 'reg.example/checkout:2',
    replicas: 1,
    trackLabel: 'app',
  },
  'canary-remove': { namespace: 'shop', deployment: 'checkout' },
  'set-image': { namespace: 'shop', deployment: 'checkout', image: 'reg.example/checkout:2' },
  'argo-status': { namespace: 'shop', rollout: 'checkout' },
  'argo-set-image': { namespace: 'shop', rollout: 'checkout', image: 'reg.example/checkout:2' },
  'argo-promote': { namespace: 'shop', rollout: 'checkout' },
  'argo-abort': { namespace: 'shop', rollout: 'checkout' },
};

describe('the Kubernetes API calls each action and reader declares', () => {
  it('covers every action the kubernetes executor offers, with no wildcard', () => {
    const offered = Object.keys(kubernetesActions(DEFAULT_SCALE_BOUNDS)).sort();
    expect(Object.keys(KUBERNETES_ACTION_CALLS).sort()).toEqual(offered);
    expect(Object.keys(ACTION_INPUTS).sort()).toEqual(offered);
    const everything = [
      ...Object.values(KUBERNETES_ACTION_CALLS).flat(),
      ...Object.values(KUBERNETES_READER_CALLS).flat(),
      ...DEPLOYS_KUBERNETES_CALLS,
    ];
    for (const call of everything) {
      expect(call.verbs.length).toBeGreaterThan(0);
      expect(JSON.stringify(call)).not.toContain('*');
    }
  });

  describe.each(Object.keys(ACTION_INPUTS))('kubernetes.%s', (action) => {
    let double: KubernetesApiDouble;
    const declared = KUBERNETES_ACTION_CALLS[action as keyof typeof KUBERNETES_ACTION_CALLS];
    beforeEach(async () => {
      const rollout = rolloutFixture('checkout');
      double = await startCluster('healthy', { roles: [roleOf(declared)], rollouts: [rollout] });
      if (ARGO_CANARY_UNDER_WAY.includes(action)) {
        rollout.spec.template.spec.containers[0]!.image = 'reg.example/checkout:2';
        double.rollouts.write(rollout);
      }
    });
    afterEach(async () => double.close());

    it('runs with a Role of exactly its declaration, and declares nothing it does not call', async () => {
      const result = await executorFor(double).execute(context(), {
        action,
        input: ACTION_INPUTS[action] ?? {},
      });
      expect(result.summary).toEqual(expect.any(String));
      expect(double.forbidden).toEqual([]);
      expect(mergeApiCalls(callsMade(double), DECLARED_AHEAD[action] ?? [])).toEqual(mergeApiCalls(declared));
    });

    it('is refused with the RBAC hint when the Role lacks the resource of its first call', async () => {
      const input = ACTION_INPUTS[action] ?? {};
      await executorFor(double).execute(context(), { action, input });
      const first = double.requests
        .map((r) => requestAttributes(r.method, new URL(r.path, 'https://double')))
        .find((attributes) => attributes !== undefined);
      expect(first).toBeDefined();
      double.setRoles([roleOf(declared.filter((c) => c.resource !== first?.resource))]);
      await expect(
        executorFor(double).execute(context(), { action, input: ACTION_INPUTS[action] ?? {} }),
      ).rejects.toMatchObject({ message: expect.stringContaining('(403 Forbidden, RBAC)') });
      expect(double.forbidden.length).toBeGreaterThan(0);
    });
  });

  describe('readers', () => {
    let double: KubernetesApiDouble;
    let client: KubernetesClient;
    afterEach(async () => double.close());

    const target = { namespace: 'shop', name: 'checkout' };
    const readers: Record<
      keyof typeof KUBERNETES_READER_CALLS,
      ((c: KubernetesClient) => Promise<unknown>) | undefined
    > = {
      readDeployment: undefined, // the first call of every reader below; covered by getDeploymentStatus
      getDeploymentStatus: (c) => getDeploymentStatus(c, target),
      listDeployments: (c) => listDeployments(c, { namespace: 'shop' }),
      ownedReplicaSets: undefined, // the second call of listReplicaSets
      listReplicaSets: (c) => listReplicaSets(c, target),
      listPods: (c) => listPods(c, target),
      listPodsBySelector: undefined, // the second call of listPods
      tailLogs: (c) => tailLogs(c, { namespace: 'shop', deployment: 'checkout', lines: 5 }),
      describeDeployment: (c) => describeDeployment(c, target),
    };

    it.each(Object.entries(readers).filter(([, read]) => read !== undefined))(
      '%s runs with a Role of exactly its declaration and calls all of it',
      async (name, read) => {
        const declared = KUBERNETES_READER_CALLS[name as keyof typeof KUBERNETES_READER_CALLS];
        double = await startCluster('healthy', { roles: [roleOf(declared)] });
        client = connectKubernetes({ kubeconfigYaml: double.kubeconfig, logger: silentLogger() });
        await read?.(client);
        expect(double.forbidden).toEqual([]);
        expect(callsMade(double)).toEqual(mergeApiCalls(declared));
      },
    );
  });

  it('gives rbac one Role per namespace that merges the actions and readers used there', () => {
    const { roles } = planRoles({
      kubernetes: { allowedNamespaces: ['shop', 'edge'] },
      services: {
        checkout: { kubernetes: { namespace: 'shop', deployments: [] } },
        cdn: { kubernetes: { namespace: 'edge', context: 'eu', deployments: ['cdn'] } },
      },
      runbooks: [],
      actionCalls: KUBERNETES_ACTION_CALLS,
      serviceCalls: deploysKubernetesCalls,
    });
    expect(roles.map((r) => [r.context, r.namespace])).toEqual([
      [undefined, 'shop'],
      ['eu', 'edge'],
    ]);
    expect(roleObject(roles[0]!).rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
    ]);
  });

  it("asks for an Argo Rollout's rights (argoproj.io rollouts and rollouts/status) where a service releases one", () => {
    const { roles } = planRoles({
      kubernetes: { allowedNamespaces: ['shop'] },
      services: { checkout: { kubernetes: { namespace: 'shop', deployments: [], rollout: 'checkout' } } },
      runbooks: [],
      actionCalls: KUBERNETES_ACTION_CALLS,
      serviceCalls: deploysKubernetesCalls,
      rolloutReleaseActions: ARGO_RELEASE_ACTIONS,
    });
    expect(roles).toHaveLength(1);
    expect(roles[0]!.neededBy).toContain('releases of checkout (rollout checkout)');
    expect(roleObject(roles[0]!).rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
      { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'patch'] },
      { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['patch'] },
    ]);
  });

  it('asks deploys for listing deployments only where a service uses a selector or enough are named to list them', () => {
    const listsDeployments = (
      services: {
        name: string;
        kubernetes: { namespace: string; deployments: string[]; selector?: string };
      }[],
    ) =>
      deploysKubernetesCalls(services).some((c) => c.resource === 'deployments' && c.verbs.includes('list'));
    expect(listsDeployments([{ name: 'checkout', kubernetes: { namespace: 'shop', deployments: [] } }])).toBe(
      false,
    );
    expect(
      listsDeployments([
        {
          name: 'shop',
          kubernetes: { namespace: 'shop', deployments: [], selector: 'app.kubernetes.io/part-of=shop' },
        },
      ]),
    ).toBe(true);
    const named = Array.from({ length: LIST_FROM }, (_, i) => `svc-${i}`);
    expect(
      listsDeployments([{ name: 'a', kubernetes: { namespace: 'shop', deployments: named.slice(1) } }]),
    ).toBe(false);
    expect(listsDeployments([{ name: 'a', kubernetes: { namespace: 'shop', deployments: named } }])).toBe(
      true,
    );
    for (const services of [[], [{ name: 'a', kubernetes: { namespace: 'shop', deployments: named } }]]) {
      for (const call of deploysKubernetesCalls(services)) {
        for (const verb of call.verbs) {
          expect(DEPLOYS_KUBERNETES_CALLS).toContainEqual(
            expect.objectContaining({ resource: call.resource, verbs: expect.arrayContaining([verb]) }),
          );
        }
      }
    }
  });

  it('deploys lists a namespace under a Role of exactly its declaration once enough deployments are named there', async () => {
    const { startTestBot } = await import('../helpers/runtime.js');
    const named = ['checkout', ...Array.from({ length: LIST_FROM - 1 }, (_, i) => `other-${i}`)];
    const services = Object.fromEntries(
      named.map((name) => [name, { kubernetes: { namespace: 'shop', deployments: [name] } }]),
    );
    const calls = deploysKubernetesCalls(
      named.map((name) => ({ name, kubernetes: { namespace: 'shop', deployments: [name] } })),
    );
    const double = await startCluster('healthy', { roles: [roleOf(calls)] });
    const bot = await startTestBot({
      config: `kubernetes: { kubeconfig: ${JSON.stringify(double.kubeconfigPath)} }\nservices: ${JSON.stringify(services)}\naccess: { defaultRoles: [], roles: { admin: { allow: ['*'] } }, subjects: { ana: [admin] } }\n`,
    });
    try {
      await bot.run('deploys');
      expect(double.forbidden).toEqual([]);
      expect(double.requestsTo('GET', '/apis/apps/v1/namespaces/shop/deployments')).toHaveLength(1);
    } finally {
      await bot.close();
      await double.close();
    }
  });
});
