// A plain-Kubernetes canary next to a stable Deployment: `<name>-canary` is a copy of the stable's
// spec whose pods carry the track label's canary value and the new image, so a Service selecting both
// tracks spreads traffic by pod count. Promotion sets the stable's image (what `kubectl set image`
// sends); removal deletes the canary. Every call sets a target state, so repeating one is safe.
import { PatchStrategy, type V1Container, type V1Deployment } from '@kubernetes/client-node';
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import type { CallOptions, KubernetesClient } from '../../upstreams/kubernetes/client.js';
import { type DeploymentTarget, readDeployment } from '../../upstreams/kubernetes/deployments.js';
import { checkName } from '../../upstreams/kubernetes/names.js';
import { patchDeployment } from './rollouts.js';

/** The annotation naming the stable Deployment a canary belongs to; nothing else is ever touched. */
export const CANARY_OF_ANNOTATION = 'millwright.io/canary-of';
export const CANARY_TRACK = 'canary';

export interface CanaryOptions {
  /** The pod label that tells the tracks apart (`track`). */
  trackLabel: string;
  container?: string;
  dryRun?: boolean;
}

export interface CanaryResult {
  namespace: string;
  stable: string;
  canary: string;
  replicas: number;
  image: string;
  /** created, updated, unchanged (set), removed or absent (remove). */
  outcome: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';
  dryRun: boolean;
}

/** `checkout` → `checkout-canary`. */
export function canaryNameOf(stable: string): string {
  return checkName(`${stable}-canary`, 'deployment', 'subdomain');
}

/**
 * Creates or updates the canary of `target` with `replicas` pods running `image`.
 *
 * @example
 * await setCanary(cluster, { namespace: 'shop', name: 'checkout' }, { image: 'reg/checkout:v2', replicas: 1, trackLabel: 'track' });
 */
export async function setCanary(
  client: KubernetesClient,
  target: DeploymentTarget,
  wanted: CanaryOptions & { image: string; replicas: number },
  call: CallOptions = {},
): Promise<CanaryResult> {
  const stable = await readDeployment(client, target, call);
  const namespace = target.namespace;
  const selector = stable.spec?.selector?.matchLabels ?? {};
  const stableTrack = selector[wanted.trackLabel];
  if (stableTrack === undefined || stableTrack === CANARY_TRACK) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `deployment ${target.name} in namespace ${namespace} does not select its pods by the label "${wanted.trackLabel}" with a stable value, so canary pods would be counted as its own`,
      {
        hint: `give the stable Deployment ${wanted.trackLabel}: stable in spec.selector.matchLabels and in its pod labels (a selector cannot change in place: recreate the Deployment), and have the Service select without ${wanted.trackLabel}`,
      },
    );
  }
  const containers = stable.spec?.template?.spec?.containers ?? [];
  const chosen = pickContainer(containers, `deployment ${target.name}`, wanted.container);
  const name = canaryNameOf(target.name);
  const existing = await readCanary(client, { namespace, name }, target.name, call);
  const labels = (from: Record<string, string> | undefined) => ({
    ...from,
    [wanted.trackLabel]: CANARY_TRACK,
  });
  const template = stable.spec!.template;
  const desiredContainers = containers.map((container) =>
    container.name === chosen.name ? { ...container, image: wanted.image } : container,
  );
  const base = {
    namespace,
    stable: target.name,
    canary: name,
    replicas: wanted.replicas,
    image: wanted.image,
    dryRun: wanted.dryRun === true,
  };
  if (!existing) {
    const body: V1Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace,
        labels: labels(stable.metadata?.labels),
        annotations: { [CANARY_OF_ANNOTATION]: target.name },
      },
      spec: {
        replicas: wanted.replicas,
        selector: { matchLabels: labels(selector) },
        template: {
          ...template,
          metadata: { ...template.metadata, labels: labels(template.metadata?.labels) },
          spec: { ...template.spec!, containers: desiredContainers },
        },
        ...(stable.spec?.strategy ? { strategy: stable.spec.strategy } : {}),
        ...(stable.spec?.minReadySeconds !== undefined
          ? { minReadySeconds: stable.spec.minReadySeconds }
          : {}),
        ...(stable.spec?.progressDeadlineSeconds !== undefined
          ? { progressDeadlineSeconds: stable.spec.progressDeadlineSeconds }
          : {}),
      },
    };
    await client.call(
      { verb: 'create', what: 'deployment', resource: 'deployments', namespace, name },
      'write',
      call,
      (request) =>
        client.apps.createNamespacedDeployment(
          { namespace, body, fieldManager: 'millwright', ...(wanted.dryRun ? { dryRun: 'All' } : {}) },
          request,
        ),
    );
    return { ...base, outcome: 'created' };
  }
  const running = existing.spec?.template?.spec?.containers?.find((c) => c.name === chosen.name)?.image;
  if (existing.spec?.replicas === wanted.replicas && running === wanted.image) {
    return { ...base, outcome: 'unchanged' };
  }
  await patchTo(
    client,
    { namespace, name },
    { spec: { replicas: wanted.replicas, template: containerImage(chosen.name, wanted.image) } },
    wanted.dryRun,
    call,
  );
  return { ...base, outcome: 'updated' };
}

/**
 * Deletes the canary of `target`; nothing to do when there is none.
 *
 * @example
 * await removeCanary(cluster, { namespace: 'shop', name: 'checkout' }, { trackLabel: 'track' });
 */
export async function removeCanary(
  client: KubernetesClient,
  target: DeploymentTarget,
  options: { dryRun?: boolean } = {},
  call: CallOptions = {},
): Promise<CanaryResult> {
  const namespace = client.namespace(target.namespace);
  const name = canaryNameOf(target.name);
  const existing = await readCanary(client, { namespace, name }, target.name, call);
  const image = existing?.spec?.template?.spec?.containers?.[0]?.image ?? '';
  const base = {
    namespace,
    stable: target.name,
    canary: name,
    replicas: 0,
    image,
    dryRun: options.dryRun === true,
  };
  if (!existing) return { ...base, outcome: 'absent' };
  await client.call(
    { verb: 'delete', what: 'deployment', resource: 'deployments', namespace, name },
    'idempotent-write',
    call,
    (request) =>
      client.apps.deleteNamespacedDeployment(
        { name, namespace, propagationPolicy: 'Background', ...(options.dryRun ? { dryRun: 'All' } : {}) },
        request,
      ),
  );
  return { ...base, outcome: 'removed' };
}

export interface SetImageResult {
  namespace: string;
  name: string;
  container: string;
  previousImage: string;
  image: string;
  changed: boolean;
  dryRun: boolean;
}

/**
 * Sets one container's image on a Deployment, as `kubectl set image` does (a strategic-merge patch by
 * container name); nothing is sent when it already runs that image.
 *
 * @example
 * await setImage(cluster, { namespace: 'shop', name: 'checkout' }, { image: 'reg/checkout:v2' });
 */
export async function setImage(
  client: KubernetesClient,
  target: DeploymentTarget,
  wanted: { image: string; container?: string; dryRun?: boolean },
  call: CallOptions = {},
): Promise<SetImageResult> {
  const deployment = await readDeployment(client, target, call);
  const { chosen, result } = imageChange(
    deployment.spec?.template?.spec?.containers ?? [],
    target,
    `deployment ${target.name}`,
    wanted,
  );
  if (!result.changed) return result;
  const { namespace, name } = target;
  await patchTo(
    client,
    { namespace, name },
    { spec: { template: containerImage(chosen.name, wanted.image) } },
    wanted.dryRun,
    call,
  );
  return result;
}

/**
 * The container an image change is for (`of`: `deployment checkout`, `rollout checkout`) and what the
 * change reports, before anything is sent: `changed` false when it already runs the image.
 */
export function imageChange(
  containers: V1Container[],
  target: { namespace: string; name: string },
  of: string,
  wanted: { image: string; container?: string; dryRun?: boolean },
): { chosen: V1Container; result: SetImageResult } {
  const chosen = pickContainer(containers, of, wanted.container);
  return {
    chosen,
    result: {
      namespace: target.namespace,
      name: target.name,
      container: chosen.name,
      previousImage: chosen.image ?? '',
      image: wanted.image,
      changed: chosen.image !== wanted.image,
      dryRun: wanted.dryRun === true,
    },
  };
}

/** A pod template change setting one container's image; strategic merge matches containers by name. */
function containerImage(container: string, image: string) {
  return { spec: { containers: [{ name: container, image }] } };
}

/** The strategic-merge patch kubectl sends, retried safely: it sets a target state. */
function patchTo(
  client: KubernetesClient,
  target: DeploymentTarget,
  body: object,
  dryRun: boolean | undefined,
  call: CallOptions,
): Promise<void> {
  return patchDeployment(
    client,
    call,
    target,
    body,
    PatchStrategy.StrategicMergePatch,
    dryRun,
    'idempotent-write',
  );
}

/** The canary Deployment when there is one; refuses one Millwright did not make for this stable. */
async function readCanary(
  client: KubernetesClient,
  target: DeploymentTarget,
  stable: string,
  call: CallOptions,
): Promise<V1Deployment | undefined> {
  let found: V1Deployment;
  try {
    found = await readDeployment(client, target, call);
  } catch (error) {
    if ((error as { details?: { status?: number } }).details?.status === 404) return undefined;
    throw error;
  }
  if (found.metadata?.annotations?.[CANARY_OF_ANNOTATION] !== stable) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `deployment ${target.name} in namespace ${target.namespace} exists and is not a canary Millwright made for ${stable}`,
      { hint: `rename or remove it, or release ${stable} another way` },
    );
  }
  return found;
}

/** The container a change of image is for: the named one, else the only one (`of`: `deployment checkout`). */
export function pickContainer(containers: V1Container[], of: string, named: string | undefined): V1Container {
  const names = containers.map((container) => container.name);
  if (named !== undefined) {
    const found = containers.find((container) => container.name === named);
    if (!found) {
      throw new MillwrightError(ErrorCode.BadArgument, `${of} has no container "${named}"`, {
        hint: `its containers: ${names.join(', ')}`,
      });
    }
    return found;
  }
  if (containers.length !== 1) {
    throw new MillwrightError(
      ErrorCode.BadArgument,
      `${of} has ${containers.length} containers (${names.join(', ')}); name the one to change with container=`,
    );
  }
  return containers[0]!;
}
