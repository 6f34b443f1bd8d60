// The Kubernetes API calls `deploys` makes (and incidents and digests through it), in RBAC's terms:
// its own reads in cluster.ts plus the upstream readers it calls, per namespace of the catalog.
import {
  type KubernetesApiCall,
  mergeApiCalls,
  KUBERNETES_READER_CALLS as READERS,
} from '../upstreams/kubernetes/api-calls.js';
import type { ServiceKubernetes } from './types.js';

/**
 * From this many deployments the catalog names in one namespace, `deploys` lists the namespace once
 * instead of reading each (listNamespaceDeployments).
 */
export const LIST_FROM = 3;

/** `readDeploymentObjects` by name (cluster.ts). */
const GET_BY_NAME: KubernetesApiCall[] = [{ apiGroup: 'apps', resource: 'deployments', verbs: ['get'] }];
/** `readDeploymentObjects` by selector, and `listNamespaceDeployments` (cluster.ts). */
const LIST: KubernetesApiCall[] = [{ apiGroup: 'apps', resource: 'deployments', verbs: ['list'] }];

/** The deployment names a catalog entry reads one by one; undefined when it finds them by selector. */
export function namedDeployments(service: string, spec: ServiceKubernetes): string[] | undefined {
  if (spec.deployments.length === 0 && spec.selector) return undefined;
  return spec.deployments.length > 0 ? spec.deployments : [service];
}

/**
 * Every API call the deploys service makes in one namespace for the catalog services that live
 * there: the overview, one service in detail, a watched rollout and the recent rollouts incidents
 * list as suspects. Listing deployments is asked for only when a service finds its deployments by
 * selector, or the namespace holds enough named ones that `deploys` lists them.
 *
 * @example
 * deploysKubernetesCalls([{ name: 'checkout', kubernetes: { namespace: 'shop', deployments: [] } }])
 * // deployments get, replicasets list, pods list
 */
export function deploysKubernetesCalls(
  services: readonly { name: string; kubernetes: ServiceKubernetes }[],
): KubernetesApiCall[] {
  let named = 0;
  let bySelector = false;
  for (const service of services) {
    const names = namedDeployments(service.name, service.kubernetes);
    if (names === undefined) bySelector = true;
    else named += names.length;
  }
  return mergeApiCalls(
    GET_BY_NAME,
    bySelector || named >= LIST_FROM ? LIST : [],
    READERS.describeDeployment,
    READERS.listReplicaSets,
  );
}

/** Everything `deploys` may call in a namespace, whatever the catalog: the bound of `deploysKubernetesCalls`. */
export const DEPLOYS_KUBERNETES_CALLS: readonly KubernetesApiCall[] = mergeApiCalls(
  GET_BY_NAME,
  LIST,
  READERS.describeDeployment,
  READERS.listReplicaSets,
);
