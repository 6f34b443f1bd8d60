// Reading a Deployment the way `kubectl rollout status` judges it, plus its ReplicaSet revisions:
// plain JSON summaries that the executor, `deploys` and digests all share.

import type { V1Deployment, V1LabelSelector, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { counted } from '../../core/counted.js';
import type { CallOptions, KubernetesClient } from './client.js';
import { checkName } from './names.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** How a rollout stands, worst last: healthy < paused < progressing < degraded < failed. */
export type RolloutState = 'healthy' | 'progressing' | 'degraded' | 'failed' | 'paused';

export interface ContainerImage {
  container: string;
  image: string;
}

export interface RolloutCondition {
  type: string;
  status: string;
  reason: string | null;
  message: string | null;
  lastUpdateTime: string | null;
  lastTransitionTime: string | null;
}

export interface DeploymentStatus {
  namespace: string;
  name: string;
  state: RolloutState;
  /** One line, in kubectl's words where kubectl has them ("2 of 3 updated replicas are available"). */
  message: string;
  generation: number;
  observedGeneration: number;
  replicas: {
    desired: number;
    current: number;
    updated: number;
    ready: number;
    available: number;
    unavailable: number;
  };
  conditions: RolloutCondition[];
  images: ContainerImage[];
  /** The deployment's current revision (`deployment.kubernetes.io/revision`), null before the first rollout. */
  revision: number | null;
  paused: boolean;
  /** The pod selector as a label selector string (`app=checkout`). */
  selector: string;
  createdAt: string | null;
}

export interface ReplicaSetRevision {
  name: string;
  revision: number | null;
  images: ContainerImage[];
  desired: number;
  current: number;
  ready: number;
  available: number;
  podTemplateHash: string | null;
  createdAt: string | null;
  /** Whether its template is the deployment's current template. */
  isCurrent: boolean;
}

export interface DeploymentTarget {
  namespace: string;
  name: string;
}

/**
 * Judges a Deployment like `kubectl rollout status`, then adds what kubectl leaves implicit:
 * `paused`, `failed` (ProgressDeadlineExceeded or ReplicaFailure) and `degraded` (rolled out, but
 * fewer replicas available than desired, e.g. pods crash-looping after the rollout finished).
 *
 * @example
 * summarizeDeployment(deployment).state // 'progressing'
 */
export function summarizeDeployment(deployment: V1Deployment): DeploymentStatus {
  const spec = deployment.spec;
  const status = deployment.status ?? {};
  const name = deployment.metadata?.name ?? '';
  const desired = spec?.replicas ?? 1;
  const replicas = {
    desired,
    current: status.replicas ?? 0,
    updated: status.updatedReplicas ?? 0,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    unavailable: status.unavailableReplicas ?? 0,
  };
  const generation = deployment.metadata?.generation ?? 0;
  const observedGeneration = status.observedGeneration ?? 0;
  const conditions: RolloutCondition[] = (status.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
    lastUpdateTime: iso(c.lastUpdateTime),
    lastTransitionTime: iso(c.lastTransitionTime),
  }));
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const replicaFailure = conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const revisionText = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  const { state, message } = judge();

  return {
    namespace: deployment.metadata?.namespace ?? '',
    name,
    state,
    message,
    generation,
    observedGeneration,
    replicas,
    conditions,
    images: imagesOf(spec?.template),
    revision: revisionText !== undefined && /^\d+$/.test(revisionText) ? Number(revisionText) : null,
    paused: spec?.paused === true,
    selector: selectorString(spec?.selector),
    createdAt: iso(deployment.metadata?.creationTimestamp),
  };

  function judge(): { state: RolloutState; message: string } {
    if (spec?.paused)
      return {
        state: 'paused',
        message: `deployment "${name}" is paused; rollouts wait until it is resumed`,
      };
    if (generation > observedGeneration) {
      return { state: 'progressing', message: 'Waiting for deployment spec update to be observed...' };
    }
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return { state: 'failed', message: `deployment "${name}" exceeded its progress deadline` };
    }
    if (replicaFailure) {
      return {
        state: 'failed',
        message: `deployment "${name}" cannot create pods: ${replicaFailure.message ?? replicaFailure.reason ?? 'ReplicaFailure'}`,
      };
    }
    if (replicas.updated < desired) {
      return {
        state: 'progressing',
        message: `Waiting for deployment "${name}" rollout to finish: ${replicas.updated} out of ${desired} new replicas have been updated...`,
      };
    }
    if (replicas.current > replicas.updated) {
      return {
        state: 'progressing',
        message: `Waiting for deployment "${name}" rollout to finish: ${counted(replicas.current - replicas.updated, 'old replica is', 'old replicas are')} pending termination...`,
      };
    }
    const rolledOut = progressing?.reason === 'NewReplicaSetAvailable';
    if (replicas.available < replicas.updated && !rolledOut) {
      return {
        state: 'progressing',
        message: `Waiting for deployment "${name}" rollout to finish: ${replicas.available} of ${replicas.updated} updated replicas are available...`,
      };
    }
    if (replicas.available < desired) {
      return {
        state: 'degraded',
        message: `deployment "${name}" rolled out, but only ${replicas.available} of ${desired} replicas are available`,
      };
    }
    return { state: 'healthy', message: `deployment "${name}" successfully rolled out` };
  }
}

/**
 * Reads one deployment and judges its rollout.
 *
 * @example
 * const status = await getDeploymentStatus(cluster, { namespace: 'shop', name: 'checkout' }, { signal });
 */
export async function getDeploymentStatus(
  client: KubernetesClient,
  target: DeploymentTarget,
  call: CallOptions = {},
): Promise<DeploymentStatus> {
  return summarizeDeployment(await readDeployment(client, target, call));
}

/**
 * Deployments in a namespace, optionally by label selector (`app.kubernetes.io/part-of=shop`).
 *
 * @example
 * const all = await listDeployments(cluster, { namespace: 'shop', labelSelector: 'team=payments' });
 */
export async function listDeployments(
  client: KubernetesClient,
  query: { namespace: string; labelSelector?: string },
  call: CallOptions = {},
): Promise<DeploymentStatus[]> {
  const namespace = client.namespace(query.namespace);
  const list = await client.call(
    { verb: 'list', what: 'deployments', resource: 'deployments', namespace },
    'read',
    call,
    (options) =>
      client.apps.listNamespacedDeployment(
        { namespace, ...(query.labelSelector ? { labelSelector: query.labelSelector } : {}) },
        options,
      ),
  );
  return list.items.map(summarizeDeployment);
}

/** The raw Deployment object (client-node model), for callers that need more than the summary. */
export async function readDeployment(
  client: KubernetesClient,
  target: DeploymentTarget,
  call: CallOptions = {},
): Promise<V1Deployment> {
  const namespace = client.namespace(target.namespace);
  const name = checkName(target.name, 'deployment', 'subdomain');
  return client.call(
    { verb: 'get', what: 'deployment', resource: 'deployments', namespace, name },
    'read',
    call,
    (options) => client.apps.readNamespacedDeployment({ name, namespace }, options),
  );
}

/** ReplicaSets whose controller is this deployment (what `kubectl rollout history` lists). */
export async function ownedReplicaSets(
  client: KubernetesClient,
  deployment: V1Deployment,
  call: CallOptions = {},
): Promise<V1ReplicaSet[]> {
  const namespace = client.namespace(deployment.metadata?.namespace);
  const uid = deployment.metadata?.uid;
  const list = await client.call(
    { verb: 'list', what: 'replicasets', resource: 'replicasets', namespace },
    'read',
    call,
    (options) =>
      client.apps.listNamespacedReplicaSet(
        { namespace, labelSelector: selectorString(deployment.spec?.selector) },
        options,
      ),
  );
  return list.items.filter((rs) =>
    (rs.metadata?.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === uid),
  );
}

/** Summaries of the deployment's ReplicaSets, newest revision first. */
export function summarizeReplicaSets(
  deployment: V1Deployment,
  replicaSets: V1ReplicaSet[],
): ReplicaSetRevision[] {
  return replicaSets
    .map((rs) => {
      const revisionText = rs.metadata?.annotations?.[REVISION_ANNOTATION];
      return {
        name: rs.metadata?.name ?? '',
        revision: revisionText !== undefined && /^\d+$/.test(revisionText) ? Number(revisionText) : null,
        images: imagesOf(rs.spec?.template),
        desired: rs.spec?.replicas ?? 0,
        current: rs.status?.replicas ?? 0,
        ready: rs.status?.readyReplicas ?? 0,
        available: rs.status?.availableReplicas ?? 0,
        podTemplateHash: rs.metadata?.labels?.[POD_TEMPLATE_HASH] ?? null,
        createdAt: iso(rs.metadata?.creationTimestamp),
        isCurrent: equalIgnoringHash(rs.spec?.template, deployment.spec?.template),
      };
    })
    .sort((a, b) => (b.revision ?? -1) - (a.revision ?? -1));
}

/**
 * The deployment's ReplicaSet revisions, newest first (two calls: the deployment, its ReplicaSets).
 *
 * @example
 * const [current, previous] = await listReplicaSets(cluster, { namespace: 'shop', name: 'checkout' });
 */
export async function listReplicaSets(
  client: KubernetesClient,
  target: DeploymentTarget,
  call: CallOptions = {},
): Promise<ReplicaSetRevision[]> {
  const deployment = await readDeployment(client, target, call);
  return summarizeReplicaSets(deployment, await ownedReplicaSets(client, deployment, call));
}

export function imagesOf(template: V1PodTemplateSpec | undefined): ContainerImage[] {
  return (template?.spec?.containers ?? []).map((c) => ({ container: c.name, image: c.image ?? '' }));
}

/** `matchLabels` and `matchExpressions` as the label selector string the API takes. */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const expr of selector?.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    if (expr.operator === 'In') parts.push(`${expr.key} in (${values})`);
    else if (expr.operator === 'NotIn') parts.push(`${expr.key} notin (${values})`);
    else if (expr.operator === 'Exists') parts.push(expr.key);
    else if (expr.operator === 'DoesNotExist') parts.push(`!${expr.key}`);
  }
  return parts.join(',');
}

/** Whether two pod templates match once the pod-template-hash label is ignored (kubectl's equalIgnoreHash). */
export function equalIgnoringHash(
  a: V1PodTemplateSpec | undefined,
  b: V1PodTemplateSpec | undefined,
): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

function withoutHash(template: V1PodTemplateSpec | undefined): unknown {
  if (!template) return undefined;
  const labels = { ...template.metadata?.labels };
  delete labels[POD_TEMPLATE_HASH];
  return { ...template, metadata: { ...template.metadata, labels } };
}

function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null && !(isPlainObject(v) && Object.keys(v).length === 0))
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function iso(value: Date | string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
