// The Kubernetes API calls each reader makes, in RBAC's terms (API group, resource, verbs): the table
// `millwright rbac` derives least-privilege Roles from. A reader that calls more than it declares fails its test.
import type { Operation } from './client.js';

/** The verbs Millwright ever uses; RBAC rules are built from these, never from `*`. */
export type KubernetesVerb = 'get' | 'list' | 'watch' | 'patch' | 'update' | 'create' | 'delete';

/** One kind of API call: the API group (`''` is core), the resource (with subresource) and its verbs. */
export interface KubernetesApiCall {
  apiGroup: string;
  /** `deployments`, `deployments/scale`, `pods/log` ... as RBAC names them. */
  resource: string;
  verbs: readonly KubernetesVerb[];
}

/** The API group of each resource Millwright reads or changes. */
export const RESOURCE_API_GROUPS: Readonly<Record<string, string>> = {
  deployments: 'apps',
  'deployments/scale': 'apps',
  replicasets: 'apps',
  pods: '',
  'pods/log': '',
  // Argo Rollouts' custom resource and its status subresource.
  rollouts: 'argoproj.io',
  'rollouts/status': 'argoproj.io',
};

const call = (resource: string, ...verbs: KubernetesVerb[]): KubernetesApiCall => ({
  apiGroup: RESOURCE_API_GROUPS[resource] ?? '',
  resource,
  verbs,
});

const getDeployment = call('deployments', 'get');
const listDeploymentsCall = call('deployments', 'list');
const listReplicaSetsCall = call('replicasets', 'list');
const listPodsCall = call('pods', 'list');

/**
 * What each exported reader of `src/upstreams/kubernetes` calls. Features and executors build their
 * own declarations from these entries, so a reader that starts calling more changes one line here.
 *
 * @example
 * KUBERNETES_READER_CALLS.tailLogs // deployments get, pods list, pods/log get
 */
export const KUBERNETES_READER_CALLS = {
  readDeployment: [getDeployment],
  getDeploymentStatus: [getDeployment],
  listDeployments: [listDeploymentsCall],
  ownedReplicaSets: [listReplicaSetsCall],
  listReplicaSets: [getDeployment, listReplicaSetsCall],
  listPods: [getDeployment, listPodsCall],
  listPodsBySelector: [listPodsCall],
  tailLogs: [getDeployment, listPodsCall, call('pods/log', 'get')],
  describeDeployment: [getDeployment, listReplicaSetsCall, listPodsCall],
} as const satisfies Record<string, readonly KubernetesApiCall[]>;

export type KubernetesReaderName = keyof typeof KUBERNETES_READER_CALLS;

/**
 * Declarations merged into one call per (API group, resource), verbs sorted and unique: the shape of
 * an RBAC rule list.
 *
 * @example
 * mergeApiCalls([[call('pods', 'list')], [call('pods', 'get')]]) // [{ apiGroup: '', resource: 'pods', verbs: ['get', 'list'] }]
 */
export function mergeApiCalls(...lists: (readonly KubernetesApiCall[])[]): KubernetesApiCall[] {
  const merged = new Map<string, { apiGroup: string; resource: string; verbs: Set<KubernetesVerb> }>();
  for (const list of lists) {
    for (const entry of list) {
      const key = `${entry.apiGroup}\u0000${entry.resource}`;
      const known = merged.get(key) ?? {
        apiGroup: entry.apiGroup,
        resource: entry.resource,
        verbs: new Set(),
      };
      for (const verb of entry.verbs) known.verbs.add(verb);
      merged.set(key, known);
    }
  }
  return [...merged.values()]
    .map((entry) => ({ apiGroup: entry.apiGroup, resource: entry.resource, verbs: [...entry.verbs].sort() }))
    .sort((a, b) => a.apiGroup.localeCompare(b.apiGroup) || a.resource.localeCompare(b.resource));
}

/**
 * The declaration entry a runtime call matches, in RBAC terms.
 *
 * @example
 * apiCallOf({ verb: 'patch', what: 'deployment', resource: 'deployments/scale', namespace: 'shop' })
 * // { apiGroup: 'apps', resource: 'deployments/scale', verbs: ['patch'] }
 */
export function apiCallOf(operation: Pick<Operation, 'verb' | 'resource'>): KubernetesApiCall {
  return call(operation.resource, operation.verb);
}

/** Whether `declared` covers one verb on one resource. */
export function coversApiCall(
  declared: readonly KubernetesApiCall[],
  wanted: { apiGroup: string; resource: string; verb: string },
): boolean {
  return declared.some(
    (entry) =>
      entry.apiGroup === wanted.apiGroup &&
      entry.resource === wanted.resource &&
      (entry.verbs as readonly string[]).includes(wanted.verb),
  );
}
