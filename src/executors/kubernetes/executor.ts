// The built-in `kubernetes` executor: rollout status, restart, scale, undo, pods and logs for
// Deployments in allowed namespaces, behind exactly the contract a third-party plugin implements.
import type { Clock } from '../../core/clock.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { type CallOptions, connectKubernetes, type RetryPolicy } from '../../upstreams/kubernetes/client.js';
import { type DeploymentStatus, getDeploymentStatus } from '../../upstreams/kubernetes/deployments.js';
import { checkName, checkNamespace, quoteInput } from '../../upstreams/kubernetes/names.js';
import { listPods, tailLogs } from '../../upstreams/kubernetes/pods.js';
import {
  EXECUTOR_PROTOCOL_VERSION,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
} from '../types.js';
import { DEFAULT_SCALE_BOUNDS, KUBERNETES_CONFIG_SCHEMA, kubernetesActions } from './metadata.js';
import { restartDeployment, type ScaleBounds, scaleDeployment, undoDeployment } from './rollouts.js';

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
  clock?: Clock;
}

export { DEFAULT_SCALE_BOUNDS };

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  'rollout-status': ['namespace', 'deployment'],
  restart: ['namespace', 'deployment'],
  scale: ['namespace', 'deployment', 'replicas'],
  undo: ['namespace', 'deployment', 'toRevision'],
  'list-pods': ['namespace', 'deployment'],
  logs: ['namespace', 'deployment', 'pod', 'container', 'lines', 'previous'],
};

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
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    allowedNamespaces: allowed,
    logger: options.logger,
  });
  const actionMetadata = kubernetesActions(bounds);

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
      const input = checkInput(action, request.input, allowed);
      const call: CallOptions = { signal: ctx.signal, deadline: ctx.deadline };
      const dryRun = ctx.dryRun;
      const where = `${input.namespace}/${input.deployment ?? input.pod}`;
      ctx.logger.info(
        { executor: 'kubernetes', action, namespace: input.namespace, target: where, dryRun, ref: ctx.ref },
        'kubernetes call',
      );
      const deployment = { namespace: input.namespace, name: input.deployment ?? '' };

      switch (action) {
        case 'rollout-status': {
          const status = await getDeploymentStatus(cluster, deployment, call);
          return { summary: statusLine(status), output: { ...status } };
        }
        case 'restart': {
          const result = await restartDeployment(cluster, deployment, { dryRun }, call);
          return {
            summary: dryRun
              ? `dry run: the API server accepted a restart of deployment ${where}; nothing changed`
              : `restarted deployment ${where} (restartedAt ${result.restartedAt})`,
            output: { ...result },
          };
        }
        case 'scale': {
          const result = await scaleDeployment(
            cluster,
            deployment,
            input.replicas ?? Number.NaN,
            bounds,
            { dryRun },
            call,
          );
          const summary = !result.changed
            ? `deployment ${where} already runs ${result.replicas} replicas; nothing to change`
            : dryRun
              ? `dry run: the API server accepted scaling deployment ${where} from ${result.previousReplicas} to ${result.replicas} replicas; nothing changed`
              : `scaled deployment ${where} from ${result.previousReplicas} to ${result.replicas} replicas`;
          return { summary, output: { ...result } };
        }
        case 'undo': {
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
              : `rolled deployment ${where} back from revision ${result.fromRevision ?? '?'} to revision ${result.toRevision} (${images})`;
          return { summary, output: { ...result } };
        }
        case 'list-pods': {
          const pods = await listPods(cluster, deployment, call);
          const troubled = pods.filter((p) => p.reason !== null);
          const reasons = countBy(troubled.map((p) => p.reason ?? ''));
          const summary =
            troubled.length === 0
              ? `${pods.length} pods of ${where}, all ready`
              : `${pods.length} pods of ${where}, ${troubled.length} not ready (${reasons})`;
          return { summary, output: { pods, notReady: troubled.length } };
        }
        default: {
          const logs = await tailLogs(
            cluster,
            {
              namespace: input.namespace,
              ...(input.pod !== undefined ? { pod: input.pod } : {}),
              ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
              ...(input.container !== undefined ? { container: input.container } : {}),
              ...(input.lines !== undefined ? { lines: input.lines } : {}),
              ...(input.previous !== undefined ? { previous: input.previous } : {}),
            },
            call,
          );
          const container = logs.container ? ` (container ${logs.container})` : '';
          return {
            summary: `last ${logs.lines.length} lines${logs.previous ? ' of the previous run' : ''} of pod ${logs.namespace}/${logs.pod}${container}`,
            output: { ...logs },
          };
        }
      }
    },
  } satisfies Executor;
}

interface CheckedInput {
  namespace: string;
  deployment?: string;
  pod?: string;
  container?: string;
  replicas?: number;
  toRevision?: number;
  lines?: number;
  previous?: boolean;
}

/** The input checked again in code (the host validated it against the schema already). */
function checkInput(action: string, raw: Record<string, unknown>, allowed: readonly string[]): CheckedInput {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw badArgument(`${action} needs an object of inputs`);
  const known = ALLOWED_KEYS[action] ?? [];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw badArgument(
        `kubernetes.${action} does not take ${quoteInput(key)}`,
        `inputs: ${known.join(', ')}`,
      );
    }
  }
  const input: CheckedInput = { namespace: checkNamespace(raw.namespace, allowed) };
  if (action !== 'logs' || raw.deployment !== undefined)
    input.deployment = checkName(raw.deployment, 'deployment', 'subdomain');
  if (raw.pod !== undefined) input.pod = checkName(raw.pod, 'pod', 'subdomain');
  if (raw.container !== undefined) input.container = checkName(raw.container, 'container', 'label');
  if (action === 'logs' && input.pod === undefined && input.deployment === undefined) {
    throw badArgument('logs need a pod or a deployment', 'give pod=NAME or deployment=NAME');
  }
  if (action === 'scale') input.replicas = wholeNumber(raw.replicas, 'replicas');
  if (raw.toRevision !== undefined) input.toRevision = wholeNumber(raw.toRevision, 'toRevision');
  if (raw.lines !== undefined) input.lines = wholeNumber(raw.lines, 'lines');
  if (raw.previous !== undefined) {
    if (typeof raw.previous !== 'boolean')
      throw badArgument(`previous must be true or false, got ${quoteInput(raw.previous)}`);
    input.previous = raw.previous;
  }
  return input;
}

function wholeNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw badArgument(`${field} must be a whole number, got ${quoteInput(value)}`);
  }
  return value;
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
