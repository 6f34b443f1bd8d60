// Public face of the Kubernetes upstream: clients per kubeconfig context (deadlines, retries, pooled
// connections) and the read-only readers the kubernetes executor and `deploys` share.

// The Kubernetes object types readers and callers share, without loading the client library.
export type { V1Deployment } from '@kubernetes/client-node';
export {
  type CallOptions,
  connectKubernetes,
  type KubernetesClient,
  type KubernetesClientOptions,
  type Operation,
  type RetryPolicy,
} from './client.js';
export { ClusterConnections, type ClusterConnectionsOptions } from './cluster-connections.js';
export { ConnectionPool } from './connection-pool.js';
export {
  type ContainerImage,
  type DeploymentStatus,
  type DeploymentTarget,
  getDeploymentStatus,
  listDeployments,
  listReplicaSets,
  type ReplicaSetRevision,
  type RolloutCondition,
  type RolloutState,
  summarizeDeployment,
} from './deployments.js';
export { type DeploymentDescription, describeDeployment, describeDeploymentObject } from './describe.js';
export { checkName, checkNamespace, DNS1123_LABEL, DNS1123_SUBDOMAIN, quoteInput } from './names.js';
export {
  type ContainerSummary,
  type LogRequest,
  listPods,
  listPodsBySelector,
  MAX_LOG_LINES,
  type PodLogs,
  type PodSummary,
  summarizePod,
  tailLogs,
} from './pods.js';
export {
  DEFAULT_ROLLOUT_THRESHOLDS,
  describeServing,
  describeTroubles,
  failingPods,
  judgeRollout,
  type PodTrouble,
  type RolloutOutcome,
  type RolloutThresholds,
  type RolloutVerdict,
  type ServingVersion,
} from './rollout-verdict.js';
