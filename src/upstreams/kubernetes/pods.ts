// Pods of a deployment summarised like `kubectl get pods` (status, ready, restarts, age) with the
// reason an SRE looks for (CrashLoopBackOff, ImagePullBackOff, OOMKilled), and bounded log tails.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../../core/duration.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import type { CallOptions, KubernetesClient } from './client.js';
import { type DeploymentTarget, POD_TEMPLATE_HASH, readDeployment, selectorString } from './deployments.js';
import { checkName } from './names.js';

export interface ContainerSummary {
  name: string;
  image: string;
  ready: boolean;
  restarts: number;
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** Why it waits or ended (CrashLoopBackOff, ImagePullBackOff, OOMKilled, Error), null when running. */
  reason: string | null;
  message: string | null;
  /** Why the previous run ended (OOMKilled, Error), null when it never restarted. */
  lastTerminationReason: string | null;
  lastExitCode: number | null;
}

export interface PodSummary {
  name: string;
  namespace: string;
  phase: string;
  /** The STATUS column of `kubectl get pods`. */
  status: string;
  /** `ready/total` containers, as kubectl prints it. */
  ready: string;
  readyContainers: number;
  totalContainers: number;
  restarts: number;
  /** Why the pod is not serving, null when every container is ready. OOMKilled wins over CrashLoopBackOff. */
  reason: string | null;
  message: string | null;
  lastTerminationReason: string | null;
  createdAt: string | null;
  /** Age in the project's duration format (`3d4h`), null without a creation time. */
  age: string | null;
  ageSeconds: number | null;
  node: string | null;
  podTemplateHash: string | null;
  /** Revision of the ReplicaSet this pod belongs to, when known (describeDeployment fills it). */
  revision?: number | null;
  containers: ContainerSummary[];
}

/** At most this many log lines come back, whatever is asked (the `logs` action's limit too). */
export const MAX_LOG_LINES = 500;

const MAX_LOG_BYTES = 512 * 1024;

/** The refusal of a log tail length outside 1..MAX_LOG_LINES. */
export function badLogLines(lines: unknown): MillwrightError {
  return badArgument(`lines must be a whole number from 1 to ${MAX_LOG_LINES}, got ${JSON.stringify(lines)}`);
}

/**
 * Summarises a pod the way `kubectl get pods` derives its STATUS, plus the reason behind it.
 *
 * @example
 * summarizePod(pod, new Date()).reason // 'OOMKilled'
 */
export function summarizePod(pod: V1Pod, now: Date): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const totalContainers = pod.spec?.containers.length ?? statuses.length;
  let status = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  let readyContainers = 0;
  let restarts = 0;
  let initializing = false;

  const initStatuses = pod.status?.initContainerStatuses ?? [];
  const initCount = pod.spec?.initContainers?.length ?? initStatuses.length;
  for (const [index, init] of initStatuses.entries()) {
    restarts += init.restartCount ?? 0;
    const terminated = init.state?.terminated;
    const waiting = init.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (terminated) status = `Init:${terminated.reason || `ExitCode:${terminated.exitCode}`}`;
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') status = `Init:${waiting.reason}`;
    else status = `Init:${index}/${initCount}`;
    initializing = true;
    break;
  }

  if (!initializing) {
    let hasRunning = false;
    for (const container of [...statuses].reverse()) {
      restarts += container.restartCount ?? 0;
      const waiting = container.state?.waiting;
      const terminated = container.state?.terminated;
      if (waiting?.reason) status = waiting.reason;
      else if (terminated?.reason) status = terminated.reason;
      else if (terminated)
        status = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      else if (container.ready && container.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (status === 'Completed' && hasRunning) status = isReady(pod) ? 'Running' : 'NotReady';
  }
  if (pod.metadata?.deletionTimestamp && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? ''))
    status = 'Terminating';

  const containers = statuses.map(summarizeContainer);
  const oomKilled = containers.find(
    (c) => c.lastTerminationReason === 'OOMKilled' && c.reason === 'CrashLoopBackOff',
  );
  const troubled = containers.find((c) => !c.ready && (c.reason !== null || c.state !== 'running'));
  const allReady = totalContainers > 0 && readyContainers === totalContainers;
  const healthyStatus = ['Running', 'Completed', 'Succeeded'].includes(status);
  const reason = oomKilled
    ? 'OOMKilled'
    : allReady && healthyStatus
      ? null
      : healthyStatus && status === 'Running'
        ? 'NotReady'
        : status;
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : null;
  const ageMs = created ? Math.max(0, now.getTime() - created.getTime()) : null;

  return {
    name: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    status,
    ready: `${readyContainers}/${totalContainers}`,
    readyContainers,
    totalContainers,
    restarts,
    reason,
    message: reason === null ? null : (troubled?.message ?? null),
    lastTerminationReason:
      containers.find((c) => c.lastTerminationReason !== null)?.lastTerminationReason ?? null,
    createdAt: created ? created.toISOString() : null,
    age: ageMs === null ? null : formatDuration(Math.floor(ageMs / 1000) * 1000 || 1000),
    ageSeconds: ageMs === null ? null : Math.floor(ageMs / 1000),
    node: pod.spec?.nodeName ?? null,
    podTemplateHash: pod.metadata?.labels?.[POD_TEMPLATE_HASH] ?? null,
    containers,
  };
}

function summarizeContainer(status: V1ContainerStatus): ContainerSummary {
  const { waiting, terminated, running } = status.state ?? {};
  const last = status.lastState?.terminated;
  return {
    name: status.name,
    image: status.image,
    ready: status.ready,
    restarts: status.restartCount ?? 0,
    state: running ? 'running' : waiting ? 'waiting' : terminated ? 'terminated' : 'unknown',
    reason: waiting?.reason ?? terminated?.reason ?? null,
    message: waiting?.message ?? terminated?.message ?? null,
    lastTerminationReason: last?.reason ?? null,
    lastExitCode: last?.exitCode ?? null,
  };
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The pods a deployment selects (all revisions), sorted by name.
 *
 * @example
 * const pods = await listPods(cluster, { namespace: 'shop', name: 'checkout' });
 * pods.filter((p) => p.reason !== null); // the ones in trouble
 */
export async function listPods(
  client: KubernetesClient,
  target: DeploymentTarget,
  call: CallOptions = {},
): Promise<PodSummary[]> {
  const deployment = await readDeployment(client, target, call);
  return listPodsBySelector(client, target.namespace, selectorString(deployment.spec?.selector), call);
}

/** Pods in a namespace matching a label selector, summarised. */
export async function listPodsBySelector(
  client: KubernetesClient,
  namespace: string,
  labelSelector: string,
  call: CallOptions = {},
): Promise<PodSummary[]> {
  const pods = await podObjects(client, namespace, labelSelector, call);
  const now = client.clock.now();
  return pods.map((pod) => summarizePod(pod, now)).sort((a, b) => a.name.localeCompare(b.name));
}

async function podObjects(
  client: KubernetesClient,
  namespace: string,
  labelSelector: string,
  call: CallOptions,
): Promise<V1Pod[]> {
  const ns = client.namespace(namespace);
  if (labelSelector.trim() === '') {
    // An empty selector would list every pod in the namespace; a deployment always has one.
    throw badArgument('refusing to list pods with an empty label selector');
  }
  const list = await client.call(
    { verb: 'list', what: 'pods', resource: 'pods', namespace: ns },
    'read',
    call,
    (options) => client.core.listNamespacedPod({ namespace: ns, labelSelector }, options),
  );
  return list.items;
}

/**
 * The pod `kubectl logs deployment/NAME` would pick: assigned before unassigned, running before
 * pending, ready before not ready, more restarts first, then the oldest.
 */
export function pickPodForLogs(pods: V1Pod[]): V1Pod | undefined {
  const phaseRank: Record<string, number> = { Running: 0, Unknown: 1, Pending: 2 };
  const maxRestarts = (p: V1Pod) =>
    Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
  const created = (p: V1Pod) =>
    p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : Infinity;
  return [...pods].sort((a, b) => {
    const assigned = Number(Boolean(b.spec?.nodeName)) - Number(Boolean(a.spec?.nodeName));
    if (assigned !== 0) return assigned;
    const phase = (phaseRank[a.status?.phase ?? ''] ?? 3) - (phaseRank[b.status?.phase ?? ''] ?? 3);
    if (phase !== 0) return phase;
    const ready = Number(isReady(b)) - Number(isReady(a));
    if (ready !== 0) return ready;
    const restarts = maxRestarts(b) - maxRestarts(a);
    if (restarts !== 0) return restarts;
    return created(a) - created(b);
  })[0];
}

export interface LogRequest {
  namespace: string;
  /** The pod to read; when absent, the pod `kubectl logs deployment/NAME` would pick. */
  pod?: string;
  deployment?: string;
  container?: string;
  /** Lines from the end; default 100, at most MAX_LOG_LINES. */
  lines?: number;
  /** The previous (crashed) run of the container instead of the current one. */
  previous?: boolean;
}

export interface PodLogs {
  namespace: string;
  pod: string;
  container: string | null;
  previous: boolean;
  /** The log lines, oldest first, with anything that looks like a secret redacted. */
  lines: string[];
}

/**
 * The last lines of a container's log, bounded and redacted.
 *
 * @example
 * const { lines } = await tailLogs(cluster, { namespace: 'shop', deployment: 'checkout', lines: 50 });
 */
export async function tailLogs(
  client: KubernetesClient,
  request: LogRequest,
  call: CallOptions = {},
): Promise<PodLogs> {
  const namespace = client.namespace(request.namespace);
  const wanted = request.lines ?? 100;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_LOG_LINES) throw badLogLines(wanted);
  const container =
    request.container === undefined ? undefined : checkName(request.container, 'container', 'label');
  let pod: string;
  if (request.pod !== undefined) {
    pod = checkName(request.pod, 'pod', 'subdomain');
  } else if (request.deployment !== undefined) {
    const deployment = await readDeployment(client, { namespace, name: request.deployment }, call);
    const chosen = pickPodForLogs(
      await podObjects(client, namespace, selectorString(deployment.spec?.selector), call),
    );
    if (!chosen?.metadata?.name) {
      throw new MillwrightError(
        ErrorCode.NotFound,
        `deployment ${request.deployment} has no pods in namespace ${namespace}`,
        {
          hint: 'check its rollout status; it may be scaled to zero',
        },
      );
    }
    pod = chosen.metadata.name;
  } else {
    throw badArgument('logs need a pod or a deployment', 'give pod=NAME or deployment=NAME');
  }
  const previous = request.previous === true;
  const text = await client.call(
    { verb: 'get', what: 'pod', resource: 'pods/log', namespace, name: pod },
    'read',
    call,
    (options) =>
      client.core.readNamespacedPodLog(
        {
          name: pod,
          namespace,
          tailLines: wanted,
          limitBytes: MAX_LOG_BYTES,
          ...(container !== undefined ? { container } : {}),
          ...(previous ? { previous: true } : {}),
        },
        options,
      ),
  );
  const lines = String(text ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return {
    namespace,
    pod,
    container: container ?? null,
    previous,
    lines: lines.slice(-wanted).map(redactText),
  };
}
