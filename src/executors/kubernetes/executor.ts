// The built-in `kubernetes` executor: rollout status, restart, scale, undo, pods and logs for
// Deployments in allowed namespaces, behind exactly the contract a third-party plugin implements.
import type { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { UpstreamResilience } from '../../core/resilience.js';
import {
  type CallOptions,
  connectKubernetes,
  type KubernetesClient,
  type RetryPolicy,
} from '../../upstreams/kubernetes/client.js';
import { type DeploymentStatus, getDeploymentStatus } from '../../upstreams/kubernetes/deployments.js';
import { describeDeployment } from '../../upstreams/kubernetes/describe.js';
import { quoteInput } from '../../upstreams/kubernetes/names.js';
import { listPods, tailLogs } from '../../upstreams/kubernetes/pods.js';
import {
  describeServing,
  describeTroubles,
  judgeRollout,
} from '../../upstreams/kubernetes/rollout-verdict.js';
import { checkActionHandlers } from '../action-handlers.js';
import {
  EXECUTOR_PROTOCOL_VERSION,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
} from '../types.js';
import { argoAbort, argoPromote, argoSetImage, argoStatus } from './argo.js';
import { removeCanary, type SetImageResult, setCanary, setImage } from './canary.js';
import {
  type KubernetesActionName,
  type KubernetesInputs,
  kubernetesInputs,
  parseKubernetesInput,
  type ScaleBounds,
} from './inputs.js';
import { DEFAULT_SCALE_BOUNDS, KUBERNETES_CONFIG_SCHEMA, kubernetesActions } from './metadata.js';
import { DEFAULT_ROLLOUT_POLLING, type RolloutPolling, waitForRollout } from './rollout-wait.js';
import { restartDeployment, scaleDeployment, undoDeployment } from './rollouts.js';

export interface KubernetesExecutorOptions {
  kubeconfigPath?: string;
  kubeconfigYaml?: string;
  context?: string;
  /** Namespaces the executor may touch; every other one is refused before any request. */
  allowedNamespaces: string[];
  /** Replica counts `scale` accepts; default 1..20. */
  scaleBounds?: ScaleBounds;
  logger: Logger;
  retries?: RetryPolicy;
  /** How long one API request may go unanswered (kubernetes.timeout); default 10 s. */
  requestTimeoutMs?: number;
  clock?: Clock;
  /** How a waiting `rollout-status` polls; every 2 s by default. Tests pass a fake sleep. */
  rolloutPolling?: Partial<RolloutPolling>;
  /** The shared upstream policies (retries, one circuit per upstream); a private one when absent. */
  resilience?: UpstreamResilience | undefined;
}

export { DEFAULT_SCALE_BOUNDS };

/**
 * Creates the `kubernetes` executor for one kubeconfig context.
 *
 * @example
 * const kubernetes = createKubernetesExecutor({ kubeconfigPath: '~/.kube/config', context: 'prod',
 *   allowedNamespaces: ['shop'], scaleBounds: { min: 2, max: 10 }, logger });
 * await kubernetes.execute(ctx, { action: 'restart', input: { namespace: 'shop', deployment: 'checkout' } });
 */
export function createKubernetesExecutor(options: KubernetesExecutorOptions) {
  const bounds = options.scaleBounds ?? DEFAULT_SCALE_BOUNDS;
  if (
    !Number.isInteger(bounds.min) ||
    !Number.isInteger(bounds.max) ||
    bounds.min < 0 ||
    bounds.min > bounds.max
  ) {
    throw new MillwrightError(
      ErrorCode.ConfigInvalid,
      `kubernetes scaleBounds ${bounds.min}..${bounds.max} is not a range of whole numbers`,
      {
        hint: 'set min and max as whole numbers with 0 <= min <= max',
      },
    );
  }
  const allowed = [...options.allowedNamespaces];
  const cluster = connectKubernetes({
    ...(options.kubeconfigPath !== undefined ? { kubeconfigPath: options.kubeconfigPath } : {}),
    ...(options.kubeconfigYaml !== undefined ? { kubeconfigYaml: options.kubeconfigYaml } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.resilience ? { resilience: options.resilience } : {}),
    allowedNamespaces: allowed,
    logger: options.logger,
  });
  const polling: RolloutPolling = { ...DEFAULT_ROLLOUT_POLLING, ...options.rolloutPolling };
  const inputs = kubernetesInputs(bounds);
  const actionMetadata = kubernetesActions(bounds, inputs);
  checkActionHandlers('kubernetes', actionMetadata, KUBERNETES_ACTION_HANDLERS);

  return {
    metadata: () => ({
      name: 'kubernetes',
      version: '1.0.0',
      protocolVersion: EXECUTOR_PROTOCOL_VERSION,
      description: `Deployments in ${allowed.join(', ') || 'no namespace yet'} through kubeconfig context ${cluster.context}`,
      configSchema: KUBERNETES_CONFIG_SCHEMA,
      actions: actionMetadata,
    }),

    execute: async (ctx: ExecutionContext, request): Promise<ExecutionResult> => {
      const action = request.action;
      if (!Object.hasOwn(actionMetadata, action)) {
        throw badArgument(
          `the kubernetes executor has no action ${quoteInput(action)}`,
          `actions: ${Object.keys(actionMetadata).join(', ')}`,
        );
      }
      const name = action as KubernetesActionName;
      const input: { namespace: string; deployment?: string; pod?: string; rollout?: string } =
        parseKubernetesInput(action, inputs[name], request.input, { bounds, allowedNamespaces: allowed });
      const dryRun = ctx.dryRun;
      const where = `${input.namespace}/${input.deployment ?? input.rollout ?? input.pod}`;
      ctx.logger.info(
        { executor: 'kubernetes', action, namespace: input.namespace, target: where, dryRun, ref: ctx.ref },
        'kubernetes call',
      );
      const run: ActionRun = {
        cluster,
        polling,
        call: { signal: ctx.signal, deadline: ctx.deadline },
        dryRun,
        where,
        bounds,
        deployment: { namespace: input.namespace, name: input.deployment ?? '' },
        rollout: { namespace: input.namespace, name: input.rollout ?? '' },
      };
      // The input was parsed with inputs[name]; TypeScript cannot tie that to the handler's type by itself.
      const handler = KUBERNETES_ACTION_HANDLERS[name] as ActionHandler<KubernetesActionName>;
      return handler(input as never, run);
    },
  } satisfies Executor;
}

/** What a handler gets besides its input: the cluster, the caller's deadline and the checked target. */
interface ActionRun {
  cluster: KubernetesClient;
  polling: RolloutPolling;
  call: CallOptions;
  dryRun: boolean;
  /** `namespace/deployment` (or `namespace/pod`), for summaries. */
  where: string;
  bounds: ScaleBounds;
  deployment: { namespace: string; name: string };
  rollout: { namespace: string; name: string };
}

type ActionHandler<A extends KubernetesActionName> = (
  input: z.infer<KubernetesInputs[A]>,
  run: ActionRun,
) => Promise<ExecutionResult>;

/**
 * One handler per action, keyed like the metadata; `createKubernetesExecutor` refuses to build when
 * the two disagree, so an action cannot be offered without code behind it.
 */
export const KUBERNETES_ACTION_HANDLERS: { [A in KubernetesActionName]: ActionHandler<A> } = {
  'rollout-status': async (input, { cluster, deployment, call, polling }) => {
    if (!input.wait) {
      const status = await getDeploymentStatus(cluster, deployment, call);
      return { summary: statusLine(status), output: { ...status } };
    }
    const { description, verdict, polls } = await waitForRollout(
      cluster,
      deployment,
      {
        timeoutMs: parseDuration(input.timeout),
        thresholds: {
          maxRestarts: input.maxRestarts,
          stuckAfterSeconds: parseDuration(input.stuckAfter) / 1000,
        },
        polling,
      },
      call,
    );
    return {
      summary: `${statusLine(description.status)}; serving ${describeServing(verdict.serving)}`,
      output: { ...description.status, serving: verdict.serving, polls },
    };
  },
  'rollout-check': async (input, { cluster, deployment, call }) => {
    const description = await describeDeployment(cluster, deployment, call);
    const verdict = judgeRollout(description, {
      maxRestarts: input.maxRestarts,
      stuckAfterSeconds: parseDuration(input.stuckAfter) / 1000,
    });
    return {
      summary: `${verdict.outcome}: ${verdict.message}; serving ${describeServing(verdict.serving)}`,
      output: {
        outcome: verdict.outcome,
        message: verdict.message,
        troubles: verdict.troubles,
        serving: verdict.serving,
        state: description.status.state,
      },
    };
  },
  restart: async (_input, { cluster, deployment, call, dryRun, where }) => {
    const result = await restartDeployment(cluster, deployment, { dryRun }, call);
    return {
      summary: dryRun
        ? `dry run: the API server accepted a restart of deployment ${where}; nothing changed`
        : `restarted deployment ${where} (restartedAt ${result.restartedAt})`,
      output: { ...result },
    };
  },
  scale: async (input, { cluster, deployment, call, dryRun, where, bounds }) => {
    const result = await scaleDeployment(cluster, deployment, input.replicas, bounds, { dryRun }, call);
    const summary = !result.changed
      ? `deployment ${where} already runs ${result.replicas} replicas; nothing to change`
      : dryRun
        ? `dry run: the API server accepted scaling deployment ${where} from ${result.previousReplicas} to ${result.replicas} replicas; nothing changed`
        : `scaled deployment ${where} from ${result.previousReplicas} to ${result.replicas} replicas`;
    return { summary, output: { ...result } };
  },
  undo: async (input, { cluster, deployment, call, dryRun, where }) => {
    const result = await undoDeployment(
      cluster,
      deployment,
      { dryRun, ...(input.toRevision !== undefined ? { toRevision: input.toRevision } : {}) },
      call,
    );
    const images = result.images.map((i) => i.image).join(', ');
    const summary = result.skipped
      ? `deployment ${where} already runs the template of revision ${result.toRevision}; nothing to roll back`
      : dryRun
        ? `dry run: the API server accepted rolling deployment ${where} back to revision ${result.toRevision} (${images}); nothing changed`
        : `rolled deployment ${where} back from revision ${result.fromRevision ?? '?'} to revision ${result.toRevision} (${images}): ${result.reason}`;
    return { summary, output: { ...result } };
  },
  'list-pods': async (_input, { cluster, deployment, call, where }) => {
    const pods = await listPods(cluster, deployment, call);
    const troubled = pods.filter((p) => p.reason !== null);
    const reasons = countBy(troubled.map((p) => p.reason ?? ''));
    const summary =
      troubled.length === 0
        ? `${pods.length} pods of ${where}, all ready`
        : `${pods.length} pods of ${where}, ${troubled.length} not ready (${reasons})`;
    return { summary, output: { pods, notReady: troubled.length } };
  },
  'canary-set': async (input, { cluster, deployment, call, dryRun }) => {
    const result = await setCanary(
      cluster,
      deployment,
      {
        image: input.image,
        replicas: input.replicas,
        trackLabel: input.trackLabel,
        dryRun,
        ...(input.container !== undefined ? { container: input.container } : {}),
      },
      call,
    );
    const where = `${result.namespace}/${result.canary}`;
    const summary =
      result.outcome === 'unchanged'
        ? `canary ${where} already runs ${result.replicas} pods of ${result.image}; nothing to change`
        : `${dryRun ? 'dry run: the API server accepted: ' : ''}${result.outcome} canary ${where}: ${result.replicas} pods of ${result.image} next to ${result.stable}`;
    return { summary, output: { ...result } };
  },
  'canary-remove': async (_input, { cluster, deployment, call, dryRun }) => {
    const result = await removeCanary(cluster, deployment, { dryRun }, call);
    const where = `${result.namespace}/${result.canary}`;
    return {
      summary:
        result.outcome === 'absent'
          ? `no canary ${where}; nothing to remove`
          : `${dryRun ? 'dry run: the API server accepted: ' : ''}removed canary ${where}; ${result.stable} keeps serving`,
      output: { ...result },
    };
  },
  'set-image': async (input, { cluster, deployment, call, dryRun, where }) => {
    const result = await setImage(cluster, deployment, imageWanted(input, dryRun), call);
    return { summary: imageSummary('deployment', where, result), output: { ...result } };
  },
  'argo-status': async (input, { cluster, rollout, call, where }) => {
    const status = await argoStatus(
      cluster,
      rollout,
      { maxRestarts: input.maxRestarts, stuckAfterSeconds: parseDuration(input.stuckAfter) / 1000 },
      call,
    );
    const step = status.step === null ? '' : `, step ${status.step}/${status.steps.length}`;
    const troubles =
      status.troubles.length > 0 ? `; canary pods failing: ${describeTroubles(status.troubles)}` : '';
    return {
      summary: `rollout ${where} is ${status.phase}${status.message ? ` (${status.message})` : ''}${step}, canary weight ${status.weight}%${status.aborted ? ', aborted' : ''}${troubles}`,
      output: { ...status },
    };
  },
  'argo-set-image': async (input, { cluster, rollout, call, dryRun, where }) => {
    const result = await argoSetImage(cluster, rollout, imageWanted(input, dryRun), call);
    return { summary: imageSummary('rollout', where, result), output: { ...result } };
  },
  'argo-promote': async (input, { cluster, rollout, call, dryRun, where }) => {
    const result = await argoPromote(cluster, rollout, { full: input.full, dryRun }, call);
    return {
      summary:
        result.outcome === 'unchanged'
          ? `rollout ${where} has no update to promote; nothing sent`
          : `${dryRun ? 'dry run: the API server accepted: ' : ''}promoted rollout ${where}${result.full ? ' fully' : ''} from step ${result.fromStep ?? 0}`,
      output: { ...result },
    };
  },
  'argo-abort': async (_input, { cluster, rollout, call, dryRun, where }) => {
    const result = await argoAbort(cluster, rollout, { dryRun }, call);
    return {
      summary:
        result.outcome === 'unchanged'
          ? `rollout ${where} has no update under way or is already aborted; nothing sent`
          : `${dryRun ? 'dry run: the API server accepted: ' : ''}aborted rollout ${where}; the stable takes all traffic`,
      output: { ...result },
    };
  },
  logs: async (input, { cluster, call }) => {
    const logs = await tailLogs(
      cluster,
      {
        namespace: input.namespace,
        ...(input.pod !== undefined ? { pod: input.pod } : {}),
        ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
        ...(input.container !== undefined ? { container: input.container } : {}),
        lines: input.lines,
        previous: input.previous,
      },
      call,
    );
    const container = logs.container ? ` (container ${logs.container})` : '';
    return {
      summary: `last ${logs.lines.length} lines${logs.previous ? ' of the previous run' : ''} of pod ${logs.namespace}/${logs.pod}${container}`,
      output: { ...logs },
    };
  },
};

/** What set-image and argo-set-image are asked for. */
function imageWanted(input: { image: string; container?: string | undefined }, dryRun: boolean) {
  return {
    image: input.image,
    dryRun,
    ...(input.container !== undefined ? { container: input.container } : {}),
  };
}

function imageSummary(kind: 'deployment' | 'rollout', where: string, result: SetImageResult): string {
  return !result.changed
    ? `${kind} ${where} container ${result.container} already runs ${result.image}; nothing to change`
    : `${result.dryRun ? 'dry run: the API server accepted: ' : ''}set ${kind} ${where} container ${result.container} from ${result.previousImage} to ${result.image}`;
}

function statusLine(status: DeploymentStatus): string {
  const images = status.images.map((i) => i.image).join(', ');
  const { ready, desired } = status.replicas;
  return `${status.namespace}/${status.name} is ${status.state}: ${ready}/${desired} ready, revision ${status.revision ?? '?'} (${images}); ${status.message}`;
}

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, n]) => (n > 1 ? `${value} x${n}` : value)).join(', ');
}
