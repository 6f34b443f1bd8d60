// The Kubernetes API calls `deploys` makes (and incidents and digests through it), in RBAC's terms:
// its own reads in cluster.ts plus the upstream readers it calls.
import {
  type KubernetesApiCall,
  mergeApiCalls,
  KUBERNETES_READER_CALLS as READERS,
} from '../upstreams/kubernetes/api-calls.js';

/** What `readDeploymentObjects` and `listNamespaceDeployments` (cluster.ts) call. */
const CLUSTER_READS: KubernetesApiCall[] = [
  { apiGroup: 'apps', resource: 'deployments', verbs: ['get', 'list'] },
];

/**
 * Every API call the deploys service makes in a service's namespace: the overview, one service in
 * detail, a watched rollout and the recent rollouts incidents list as suspects.
 *
 * @example
 * DEPLOYS_KUBERNETES_CALLS.map((c) => c.resource) // ['deployments', 'replicasets', 'pods']
 */
export const DEPLOYS_KUBERNETES_CALLS: readonly KubernetesApiCall[] = mergeApiCalls(
  CLUSTER_READS,
  READERS.describeDeployment,
  READERS.listReplicaSets,
);
