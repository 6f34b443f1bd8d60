// The three changes the executor makes to a Deployment, each sending what kubectl sends:
// rollout restart (strategic-merge patch), scale (merge patch on /scale), rollout undo (JSON patch).
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import type { CallOptions, KubernetesClient } from '../../upstreams/kubernetes/client.js';
import {
  type ContainerImage,
  type DeploymentTarget,
  equalIgnoringHash,
  imagesOf,
  ownedReplicaSets,
  POD_TEMPLATE_HASH,
  REVISION_ANNOTATION,
  readDeployment,
} from '../../upstreams/kubernetes/deployments.js';
import { checkName } from '../../upstreams/kubernetes/names.js';
import { badRevision, replicasOutsideBounds, type ScaleBounds } from './inputs.js';

/** The annotation `kubectl rollout restart` stamps on the pod template. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Annotations kept from the deployment, never copied from the ReplicaSet, on undo (as kubectl). */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export interface WriteOptions {
  /** Use the API server's dry run (`dryRun=All`): validated and answered, nothing changes. */
  dryRun?: boolean;
}

/**
 * The body `kubectl rollout restart` sends, for a given time (RFC 3339, whole seconds).
 *
 * @example
 * restartPatch(new Date('2025-01-01T12:00:00Z'))
 * // { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T12:00:00Z' } } } } }
 */
export function restartPatch(at: Date) {
  const restartedAt = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } };
}

export interface RestartResult {
  namespace: string;
  name: string;
  restartedAt: string;
  dryRun: boolean;
  /** The revision before the restart; the restart rolls out the next one. */
  previousRevision: number | null;
}

/**
 * Restarts a deployment's pods the way `kubectl rollout restart` does: a strategic-merge patch of
 * the pod template's `restartedAt` annotation. Never retried: a repeated restart is a second restart.
 *
 * @example
 * await restartDeployment(cluster, { namespace: 'shop', name: 'checkout' }, { dryRun: true });
 */
export async function restartDeployment(
  client: KubernetesClient,
  target: DeploymentTarget,
  options: WriteOptions = {},
  call: CallOptions = {},
): Promise<RestartResult> {
  const deployment = await readDeployment(client, target, call);
  const namespace = target.namespace;
  const name = target.name;
  if (deployment.spec?.paused) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `deployment ${name} in namespace ${namespace} is paused; a restart would not roll out`,
      {
        hint: `resume it first (kubectl rollout resume deployment/${name} -n ${namespace}), then restart`,
      },
    );
  }
  const patch = restartPatch(client.clock.now());
  await patchDeployment(
    client,
    call,
    { namespace, name },
    patch,
    PatchStrategy.StrategicMergePatch,
    options.dryRun,
  );
  return {
    namespace,
    name,
    restartedAt: patch.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION],
    dryRun: options.dryRun === true,
    previousRevision: revisionOf(deployment),
  };
}

export interface ScaleResult {
  namespace: string;
  name: string;
  previousReplicas: number;
  replicas: number;
  /** False when it already ran that many replicas (nothing was sent). */
  changed: boolean;
  dryRun: boolean;
}

/**
 * Sets a deployment's replicas through the scale subresource (the merge patch `kubectl scale`
 * sends). Refuses numbers outside `bounds` before any request. Idempotent, so retried on 5xx.
 *
 * @example
 * await scaleDeployment(cluster, { namespace: 'shop', name: 'checkout' }, 5, { min: 2, max: 10 });
 */
export async function scaleDeployment(
  client: KubernetesClient,
  target: DeploymentTarget,
  replicas: number,
  bounds: ScaleBounds,
  options: WriteOptions = {},
  call: CallOptions = {},
): Promise<ScaleResult> {
  if (!Number.isInteger(replicas) || replicas < bounds.min || replicas > bounds.max) {
    throw replicasOutsideBounds(replicas, bounds);
  }
  const namespace = client.namespace(target.namespace);
  const name = checkName(target.name, 'deployment', 'subdomain');
  const current = await client.call(
    { verb: 'get', what: 'deployment', resource: 'deployments/scale', namespace, name },
    'read',
    call,
    (request) => client.apps.readNamespacedDeploymentScale({ name, namespace }, request),
  );
  const previousReplicas = current.spec?.replicas ?? 0;
  const base = { namespace, name, previousReplicas, replicas, dryRun: options.dryRun === true };
  if (previousReplicas === replicas) return { ...base, changed: false };
  await client.call(
    { verb: 'patch', what: 'deployment', resource: 'deployments/scale', namespace, name },
    'idempotent-write',
    call,
    (request) =>
      client.apps.patchNamespacedDeploymentScale(
        {
          name,
          namespace,
          body: { spec: { replicas } },
          fieldManager: 'millwright',
          ...(options.dryRun ? { dryRun: 'All' } : {}),
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, request),
      ),
  );
  return { ...base, changed: true };
}

export interface UndoResult {
  namespace: string;
  name: string;
  fromRevision: number | null;
  toRevision: number;
  /** Images of the revision rolled back to. */
  images: ContainerImage[];
  /** Why this revision: asked for, the one still serving, or the newest with a different template. */
  reason: string;
  /** True when the current template already matches that revision (nothing was sent, as kubectl). */
  skipped: boolean;
  dryRun: boolean;
}

/**
 * Rolls a deployment back like `kubectl rollout undo [--to-revision=N]`: copies that ReplicaSet's
 * pod template (minus its pod-template-hash label) into the deployment with a JSON patch.
 * Never retried.
 *
 * @example
 * const { toRevision } = await undoDeployment(cluster, { namespace: 'shop', name: 'checkout' });
 */
export async function undoDeployment(
  client: KubernetesClient,
  target: DeploymentTarget,
  options: WriteOptions & { toRevision?: number } = {},
  call: CallOptions = {},
): Promise<UndoResult> {
  const wanted = options.toRevision ?? 0;
  if (!Number.isInteger(wanted) || wanted < 0) {
    throw badRevision(options.toRevision);
  }
  const deployment = await readDeployment(client, target, call);
  const namespace = target.namespace;
  const name = target.name;
  const replicaSets = await ownedReplicaSets(client, deployment, call);
  const { chosen, reason } = revisionToRestore(deployment, replicaSets, wanted);
  const toRevision = revisionOf(chosen) ?? 0;
  const base = {
    namespace,
    name,
    fromRevision: revisionOf(deployment),
    toRevision,
    reason,
    images: imagesOf(chosen.spec?.template),
    dryRun: options.dryRun === true,
  };
  if (deployment.spec?.paused) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `deployment ${name} in namespace ${namespace} is paused; it cannot be rolled back`,
      {
        hint: `resume it first (kubectl rollout resume deployment/${name} -n ${namespace}), then undo`,
      },
    );
  }
  if (equalIgnoringHash(chosen.spec?.template, deployment.spec?.template)) return { ...base, skipped: true };

  const template = ObjectSerializer.serialize(chosen.spec?.template, 'V1PodTemplateSpec', '') as {
    metadata?: { labels?: Record<string, string> };
  };
  if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(chosen.metadata?.annotations ?? {})) {
    if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }
  const patch = [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
  await patchDeployment(client, call, { namespace, name }, patch, PatchStrategy.JsonPatch, options.dryRun);
  return { ...base, skipped: false };
}

/**
 * The revision to go back to: the given one; else the newest earlier ReplicaSet that is fully
 * available right now (a stuck rollout leaves it serving); else the newest earlier one whose pod
 * template differs from the current one by more than a restart. kubectl takes the second-newest,
 * which after a restart of a broken rollout is the same broken template.
 */
function revisionToRestore(
  deployment: V1Deployment,
  replicaSets: V1ReplicaSet[],
  wanted: number,
): { chosen: V1ReplicaSet; reason: string } {
  const namespace = deployment.metadata?.namespace ?? '';
  const name = deployment.metadata?.name ?? '';
  const withRevision = replicaSets
    .map((rs) => ({ rs, revision: revisionOf(rs) }))
    .filter((entry): entry is { rs: V1ReplicaSet; revision: number } => entry.revision !== null)
    .sort((a, b) => b.revision - a.revision);
  const known = withRevision.map((e) => e.revision).join(', ') || 'none';
  if (wanted > 0) {
    const found = withRevision.find((e) => e.revision === wanted);
    if (!found) {
      throw badArgument(
        `revision ${wanted} of deployment ${name} in namespace ${namespace} not found`,
        `revisions on record: ${known}`,
      );
    }
    return { chosen: found.rs, reason: `revision ${wanted} was asked for` };
  }
  const current = deployment.spec?.template;
  const earlier = withRevision.filter((e) => !equalIgnoringHash(e.rs.spec?.template, current));
  const serving = earlier.find((e) => {
    const desired = e.rs.spec?.replicas ?? 0;
    return desired > 0 && (e.rs.status?.availableReplicas ?? 0) >= desired;
  });
  if (serving) {
    const { availableReplicas = 0 } = serving.rs.status ?? {};
    return {
      chosen: serving.rs,
      reason: `revision ${serving.revision} is fully available (${availableReplicas}/${serving.rs.spec?.replicas} ready)`,
    };
  }
  const different = earlier.find((e) => !sameButRestarted(e.rs.spec?.template, current));
  if (!different) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `deployment ${name} in namespace ${namespace} has no earlier revision with a different pod template to roll back to`,
      {
        hint: `revisions on record: ${known}; the earlier ones differ from the current one only by a restart, so rolling back would run the same pods`,
      },
    );
  }
  const skipped = earlier.filter((e) => e.revision > different.revision).map((e) => e.revision);
  return {
    chosen: different.rs,
    reason:
      skipped.length > 0
        ? `revision ${different.revision} is the newest whose pod template differs; ${skipped.join(', ')} run the same template`
        : `revision ${different.revision} is the previous pod template`,
  };
}

/** Whether two templates differ only by the annotation `kubectl rollout restart` stamps. */
function sameButRestarted(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return equalIgnoringHash(withoutRestart(a), withoutRestart(b));
}

function withoutRestart(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec | undefined {
  const annotations = { ...template?.metadata?.annotations };
  delete annotations[RESTARTED_AT_ANNOTATION];
  return template && { ...template, metadata: { ...template.metadata, annotations } };
}

function revisionOf(object: V1Deployment | V1ReplicaSet): number | null {
  const text = object.metadata?.annotations?.[REVISION_ANNOTATION];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

/**
 * One PATCH of a deployment with the given patch type, dry run on request: a write (never retried)
 * unless the patch sets a target state (`idempotent-write`, retried on 5xx).
 */
export async function patchDeployment(
  client: KubernetesClient,
  call: CallOptions,
  target: { namespace: string; name: string },
  patch: object,
  strategy: PatchStrategy,
  dryRun: boolean | undefined,
  effect: 'write' | 'idempotent-write' = 'write',
): Promise<void> {
  const { namespace, name } = target;
  await client.call(
    { verb: 'patch', what: 'deployment', resource: 'deployments', namespace, name },
    effect,
    call,
    (request) =>
      client.apps.patchNamespacedDeployment(
        { name, namespace, body: patch, fieldManager: 'millwright', ...(dryRun ? { dryRun: 'All' } : {}) },
        setHeaderOptions('Content-Type', strategy, request),
      ),
  );
}
