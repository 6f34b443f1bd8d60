// Public face of the kubernetes executor: the rollout writes runbooks make (restart, scale, undo)
// behind the Executor contract. Clients and reads live in src/upstreams/kubernetes.
export {
  createKubernetesExecutor,
  DEFAULT_SCALE_BOUNDS,
  type KubernetesExecutorOptions,
} from './executor.js';
export type { ScaleBounds } from './inputs.js';
export {
  RESTARTED_AT_ANNOTATION,
  type RestartResult,
  restartDeployment,
  restartPatch,
  type ScaleResult,
  scaleDeployment,
  type UndoResult,
  undoDeployment,
} from './rollouts.js';
