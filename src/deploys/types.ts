// What `deploys` knows about a service: its rollout state merged from Kubernetes and GitHub, the
// problems met on the way, and the shapes of the detail and watch answers.
import type { MillwrightConfig } from '../config/index.js';
import type { GitHubDeployment } from '../upstreams/github/index.js';
import type {
  DeploymentStatus,
  PodSummary,
  PodTrouble,
  ReplicaSetRevision,
  RolloutOutcome,
} from '../upstreams/kubernetes/index.js';
import type { DriftVerdict } from './drift.js';
import type { RunningRevision } from './image-revision.js';

/** One entry of the service catalog (`services.NAME` in millwright.yml). */
export type ServiceEntry = MillwrightConfig['services'][string];
export type ServiceKubernetes = NonNullable<ServiceEntry['kubernetes']>;
export type ServiceGitHub = NonNullable<ServiceEntry['github']>;

/** What the pods of one ReplicaSet run (its main container's image) and how many of them are ready. */
export interface ServingGroup {
  revision: number | null;
  image: string | null;
  /** The image's tag (or short digest), as the version column shows it. */
  version: string;
  ready: number;
  pods: number;
  /** The ReplicaSet of the deployment's current template. */
  isNew: boolean;
}

/** One deployment of a service as `deploys` needs it. */
export interface DeploymentReading {
  status: DeploymentStatus;
  /** The container whose image is the service's version (named after the deployment, else the first). */
  container: string | null;
  /** The image most ready pods run (the template's while nothing has been read beyond the deployment). */
  image: string | null;
  /** What serves, judged from `image`; kind `none` when no pod is ready. */
  running: RunningRevision | null;
  /** Per ReplicaSet: old ones first, the new one last. */
  serving: ServingGroup[];
  /** Pods that are not serving and why (CrashLoopBackOff, OOMKilled, ImagePullBackOff, ...). */
  troubles: PodTrouble[];
  /** The rollout judged like `kubectl rollout status` plus its pods (rollout-status uses the same rules). */
  outcome: RolloutOutcome;
  /** Why it failed (pods and reasons), when `outcome` is failed. */
  failure?: string | undefined;
}

/**
 * A service's rollout state, worst first when sorted: `failed` (a rollout gave up), `failing` (its
 * new pods crash-loop, get OOMKilled or cannot pull, though Kubernetes has not given up yet), `error`
 * (the cluster could not be read), `degraded` (rolled out, fewer replicas available than wanted),
 * `progressing`, `paused`, `healthy`, and `unknown` (no Kubernetes side in the catalog).
 */
export type ServiceState =
  | 'failed'
  | 'failing'
  | 'error'
  | 'degraded'
  | 'progressing'
  | 'paused'
  | 'healthy'
  | 'unknown';

export const STATE_ORDER: readonly ServiceState[] = [
  'failed',
  'failing',
  'error',
  'degraded',
  'progressing',
  'paused',
  'healthy',
  'unknown',
];

/** A dependency that failed for one service; the rest of the answer still stands. */
export interface DeployProblem {
  source: 'kubernetes' | 'github';
  code: string;
  message: string;
  hint?: string | undefined;
  /** The HTTP status the upstream answered (502, 403), when it answered at all. */
  status?: number | undefined;
}

/** What GitHub says about the service's first environment. */
export interface GitHubSide {
  repo: string;
  environment: string;
  /** The newest deployment to the environment, any state. */
  latest?: GitHubDeployment | undefined;
  /** The newest successful one among the `searched` newest. */
  lastSuccess?: GitHubDeployment | undefined;
  searched: number;
  /** The newest deployments read (all the service's environments in the detail view), newest first. */
  recent: GitHubDeployment[];
}

/** One row of `deploys`. */
export interface ServiceOverview {
  service: string;
  state: ServiceState;
  /** One line: the worst deployment's message, or why the state is unknown. */
  message: string;
  deployments: DeploymentReading[];
  /** Versions ready pods serve (main containers), distinct, in deployment order. */
  versions: string[];
  ready: number;
  desired: number;
  github?: GitHubSide | undefined;
  drift: DriftVerdict;
  problems: DeployProblem[];
}

/** One deployment in full, for `deploys SERVICE`. */
export interface DeploymentDetail {
  reading: DeploymentReading;
  replicaSets: ReplicaSetRevision[];
  pods: PodSummary[];
  drift: DriftVerdict;
}

export interface ServiceDetail extends Omit<ServiceOverview, 'deployments'> {
  namespace?: string | undefined;
  context?: string | undefined;
  deployments: DeploymentDetail[];
}

/** How a watched rollout ended. */
export type WatchOutcome = 'complete' | 'failed' | 'paused' | 'timeout' | 'unreachable';

/** One look at a rollout while it is watched. */
export interface WatchSnapshot {
  service: string;
  state: ServiceState;
  message: string;
  deployments: DeploymentReading[];
  /** Milliseconds since the watch began, by the injected clock. */
  elapsedMs: number;
  polls: number;
  /** The last read's failure, while it is retried. */
  problem?: DeployProblem | undefined;
  /** Set on the last look: how the watch ends. */
  outcome?: WatchOutcome | undefined;
}

export interface WatchResult {
  outcome: WatchOutcome;
  last: WatchSnapshot;
}

/** A deploy of a service as an incident brief and a digest list it: when, what, who, where to look. */
export interface RecentDeploy {
  at: string;
  what: string;
  by: string;
  link?: string;
}

/** A deploy source that could not be read while the other answered: the list is missing its part. */
export interface DeploySourceGap {
  source: 'github' | 'kubernetes';
  error: unknown;
}

export interface RecentDeploysOptions {
  /** Told of each source that failed while another answered (when every source fails, the call throws). */
  onGap?: (gap: DeploySourceGap) => void;
}

/** Where the incident service reads a service's recent deploys from (backed by `deploys`). */
export interface DeployHistory {
  recentDeploys(service: string, since: Date, options?: RecentDeploysOptions): Promise<RecentDeploy[]>;
}
