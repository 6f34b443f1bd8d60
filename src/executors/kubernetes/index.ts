// Public face of the Kubernetes executor and of the plain reads that `deploys` and digests reuse.
export {
  type CallOptions,
  connectKubernetes,
  type KubernetesClient,
  type KubernetesClientOptions,
  type RetryPolicy,
} from './client.js';
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
export { type DeploymentDescription, describeDeployment } from './describe.js';
export {
  createKubernetesExecutor,
  DEFAULT_SCALE_BOUNDS,
  type KubernetesExecutorOptions,
} from './executor.js';
export { checkName, checkNamespace, DNS1123_LABEL, DNS1123_SUBDOMAIN } from './names.js';
export {
  type ContainerSummary,
  type LogRequest,
  listPods,
  MAX_LOG_LINES,
  type PodLogs,
  type PodSummary,
  summarizePod,
  tailLogs,
} from './pods.js';
export {
  RESTARTED_AT_ANNOTATION,
  type RestartResult,
  restartDeployment,
  restartPatch,
  type ScaleBounds,
  type ScaleResult,
  scaleDeployment,
  type UndoResult,
  undoDeployment,
} from './rollouts.js';
