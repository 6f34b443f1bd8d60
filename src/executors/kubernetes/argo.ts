// Argo Rollouts' canary driven through the Kubernetes API the way `kubectl argo rollouts` drives it:
// set image changes the Rollout's pod template, promote and abort are JSON merge patches on the
// `rollouts/status` subresource (argoproj.io/v1alpha1), and one look says where the canary stands,
// its pods judged by the same rollout rules as a Deployment's. No HTTP of our own: CustomObjectsApi.
import { PatchStrategy, setHeaderOptions, type V1Container } from '@kubernetes/client-node';
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import type { CallOptions, KubernetesClient } from '../../upstreams/kubernetes/client.js';
import type { ContainerImage } from '../../upstreams/kubernetes/deployments.js';
import { listPodsBySelector } from '../../upstreams/kubernetes/pods.js';
import {
  failingPods,
  type PodTrouble,
  type RolloutThresholds,
} from '../../upstreams/kubernetes/rollout-verdict.js';
import { imageChange, type SetImageResult } from './canary.js';

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';
const PLURAL = 'rollouts';
/** The label Argo puts on every pod of a Rollout's ReplicaSet: the canary's pods carry `status.currentPodHash`. */
export const ROLLOUTS_POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';

export interface RolloutTarget {
  namespace: string;
  name: string;
}

type Labels = Record<string, string>;

/** One canary step, as much of it as Millwright reads; anything else is named by `other`. */
export interface CanaryStepView {
  setWeight?: number;
  /** A pause step; `duration` null when it waits until promoted. */
  pause?: { duration: string | number | null };
  /** The kind of any other step (analysis, experiment, setCanaryScale, ...). */
  other?: string;
}

/** The parts of a Rollout Millwright reads (the API answers with the whole object). */
interface Rollout {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number };
  spec?: {
    replicas?: number;
    paused?: boolean;
    template?: { spec?: { containers?: V1Container[] } };
    strategy?: {
      canary?: {
        steps?: Record<string, unknown>[];
        canaryMetadata?: { labels?: Labels };
        stableMetadata?: { labels?: Labels };
      };
      blueGreen?: unknown;
    };
  };
  status?: {
    phase?: string;
    message?: string;
    currentStepIndex?: number;
    currentPodHash?: string;
    stableRS?: string;
    pauseConditions?: { reason?: string; startTime?: string }[];
    abort?: boolean;
    canary?: { weights?: { canary?: { weight?: number } } };
  };
}

/** Where a Rollout's canary stands: what `kubectl argo rollouts get rollout` shows, plus its pods judged. */
export interface ArgoRolloutStatus {
  namespace: string;
  name: string;
  phase: 'Healthy' | 'Progressing' | 'Paused' | 'Degraded' | 'Unknown';
  message: string | null;
  /** healthy, progressing, paused, degraded; failed when the canary's pods crash-loop or cannot start. */
  outcome: 'healthy' | 'progressing' | 'paused' | 'degraded' | 'failed';
  strategy: 'canary' | 'blueGreen' | 'none';
  /** `status.currentStepIndex`; null before the controller set it. */
  step: number | null;
  steps: CanaryStepView[];
  /** The canary's current setWeight (Argo's GetCurrentSetWeight): 0 aborted, 100 when no step is left. */
  weight: number;
  /** Waiting for a promotion: a pause condition is set, or `spec.paused`. */
  paused: boolean;
  aborted: boolean;
  /** An update is under way: the template's ReplicaSet is not the stable one. */
  updating: boolean;
  stableRS: string | null;
  currentPodHash: string | null;
  replicas: number;
  /** The template's images: the canary's while updating, the stable's otherwise. */
  images: ContainerImage[];
  /** `canaryMetadata.labels` and `stableMetadata.labels`: how the tracks' pods are told apart. */
  trackLabels: { canary: Labels; stable: Labels };
  canaryPods: { total: number; ready: number };
  /** Canary pods failing beyond the thresholds. */
  troubles: PodTrouble[];
}

/**
 * The Rollout as the API has it.
 *
 * @example
 * const rollout = await readRollout(cluster, { namespace: 'shop', name: 'checkout' });
 */
async function readRollout(
  client: KubernetesClient,
  target: RolloutTarget,
  call: CallOptions,
): Promise<Rollout> {
  const namespace = client.namespace(target.namespace);
  const { name } = target;
  return (await client.call(
    { verb: 'get', what: 'rollout', resource: PLURAL, namespace, name },
    'read',
    call,
    (request) =>
      client.custom.getNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name },
        request,
      ),
  )) as Rollout;
}

/** A JSON merge patch on the Rollout or its status subresource, as the plugin sends them. */
async function patchRollout(
  client: KubernetesClient,
  target: RolloutTarget,
  body: object,
  options: { status: boolean; dryRun: boolean; effect: 'write' | 'idempotent-write' },
  call: CallOptions,
): Promise<void> {
  const namespace = client.namespace(target.namespace);
  const { name } = target;
  const request = {
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
    body,
    fieldManager: 'millwright',
    ...(options.dryRun ? { dryRun: 'All' } : {}),
  };
  await client.call(
    {
      verb: 'patch',
      what: options.status ? 'rollout status' : 'rollout',
      resource: options.status ? 'rollouts/status' : PLURAL,
      namespace,
      name,
    },
    options.effect,
    call,
    (configuration) => {
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, configuration);
      return options.status
        ? client.custom.patchNamespacedCustomObjectStatus(request, merge)
        : client.custom.patchNamespacedCustomObject(request, merge);
    },
  );
}

function canaryOf(rollout: Rollout, target: RolloutTarget) {
  const canary = rollout.spec?.strategy?.canary;
  if (!canary) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `rollout ${target.name} in namespace ${target.namespace} has no canary strategy (spec.strategy.canary)`,
      {
        hint: 'Millwright drives canary Rollouts; a blue-green Rollout is promoted with kubectl argo rollouts promote',
      },
    );
  }
  return canary;
}

function stepsOf(rollout: Rollout): CanaryStepView[] {
  return (rollout.spec?.strategy?.canary?.steps ?? []).map((step): CanaryStepView => {
    if (typeof step.setWeight === 'number') return { setWeight: step.setWeight };
    if (step.pause && typeof step.pause === 'object') {
      const duration = (step.pause as { duration?: unknown }).duration;
      return {
        pause: { duration: typeof duration === 'string' || typeof duration === 'number' ? duration : null },
      };
    }
    return { other: Object.keys(step)[0] ?? 'unknown' };
  });
}

/** Argo's GetCurrentSetWeight: 0 when aborted, 100 past the last step, else the last setWeight up to the current step. */
function currentWeight(rollout: Rollout, steps: readonly CanaryStepView[]): number {
  if (rollout.status?.abort) return 0;
  const index = rollout.status?.currentStepIndex ?? 0;
  if (index >= steps.length) return 100;
  for (let i = index; i >= 0; i--) {
    const weight = steps[i]?.setWeight;
    if (weight !== undefined) return weight;
  }
  return 0;
}

const PHASES = new Set(['Healthy', 'Progressing', 'Paused', 'Degraded']);

/**
 * One look at a Rollout's canary, its pods judged by `thresholds` (crash loops, images that cannot be pulled).
 *
 * @example
 * const status = await argoStatus(cluster, { namespace: 'shop', name: 'checkout' }, DEFAULT_ROLLOUT_THRESHOLDS);
 * status.paused && status.weight // 25
 */
export async function argoStatus(
  client: KubernetesClient,
  target: RolloutTarget,
  thresholds: RolloutThresholds,
  call: CallOptions = {},
): Promise<ArgoRolloutStatus> {
  const rollout = await readRollout(client, target, call);
  const steps = stepsOf(rollout);
  const status = rollout.status ?? {};
  const canary = rollout.spec?.strategy?.canary;
  const updating = Boolean(
    status.currentPodHash && status.stableRS && status.currentPodHash !== status.stableRS,
  );
  const pods =
    updating && status.currentPodHash
      ? await listPodsBySelector(
          client,
          target.namespace,
          `${ROLLOUTS_POD_TEMPLATE_HASH}=${status.currentPodHash}`,
          call,
        )
      : [];
  const troubles = failingPods(pods, thresholds);
  const phase = PHASES.has(status.phase ?? '') ? (status.phase as ArgoRolloutStatus['phase']) : 'Unknown';
  const outcome: ArgoRolloutStatus['outcome'] =
    troubles.length > 0
      ? 'failed'
      : phase === 'Degraded'
        ? 'degraded'
        : phase === 'Paused'
          ? 'paused'
          : phase === 'Healthy'
            ? 'healthy'
            : 'progressing';
  return {
    namespace: target.namespace,
    name: target.name,
    phase,
    message: status.message ?? null,
    outcome,
    strategy: canary ? 'canary' : rollout.spec?.strategy?.blueGreen ? 'blueGreen' : 'none',
    step: status.currentStepIndex ?? null,
    steps,
    weight: currentWeight(rollout, steps),
    paused: (status.pauseConditions ?? []).length > 0 || rollout.spec?.paused === true,
    aborted: status.abort === true,
    updating,
    stableRS: status.stableRS ?? null,
    currentPodHash: status.currentPodHash ?? null,
    replicas: rollout.spec?.replicas ?? 1,
    images: (rollout.spec?.template?.spec?.containers ?? []).map((c) => ({
      container: c.name,
      image: c.image ?? '',
    })),
    trackLabels: {
      canary: { ...canary?.canaryMetadata?.labels },
      stable: { ...canary?.stableMetadata?.labels },
    },
    canaryPods: { total: pods.length, ready: pods.filter((pod) => pod.reason === null).length },
    troubles,
  };
}

/**
 * Sets one container's image in the Rollout's pod template, as `kubectl argo rollouts set image` does;
 * a canary Rollout starts its steps from it. A merge patch replaces the container list whole, so it is
 * sent with the resourceVersion read: a concurrent change is a 409, never overwritten.
 *
 * @example
 * await argoSetImage(cluster, { namespace: 'shop', name: 'checkout' }, { image: 'reg/checkout:2.4.0' });
 */
export async function argoSetImage(
  client: KubernetesClient,
  target: RolloutTarget,
  wanted: { image: string; container?: string; dryRun?: boolean },
  call: CallOptions = {},
): Promise<SetImageResult> {
  const rollout = await readRollout(client, target, call);
  const containers = rollout.spec?.template?.spec?.containers ?? [];
  const { chosen, result } = imageChange(containers, target, `rollout ${target.name}`, wanted);
  if (!result.changed) return result;
  const replaced = containers.map((c) => (c.name === chosen.name ? { ...c, image: wanted.image } : c));
  await patchRollout(
    client,
    target,
    {
      metadata: { resourceVersion: rollout.metadata?.resourceVersion },
      spec: { template: { spec: { containers: replaced } } },
    },
    { status: false, dryRun: wanted.dryRun === true, effect: 'idempotent-write' },
    call,
  );
  return result;
}

export interface ArgoPromoteResult {
  namespace: string;
  name: string;
  /** promoted: patches sent; unchanged: nothing to promote (no update under way). */
  outcome: 'promoted' | 'unchanged';
  full: boolean;
  /** The step it was at, and what was patched (spec: unpaused; status: pause cleared, step or promoteFull). */
  fromStep: number | null;
  patched: Array<'spec' | 'status'>;
  dryRun: boolean;
}

/**
 * Promotes like `kubectl argo rollouts promote`: unpauses `spec.paused`, then clears the pause
 * conditions, or when there are none moves `status.currentStepIndex` on by one; with `full`, sets
 * `status.promoteFull` (every remaining step skipped). Status goes through the status subresource.
 *
 * @example
 * await argoPromote(cluster, { namespace: 'shop', name: 'checkout' }, {});
 */
export async function argoPromote(
  client: KubernetesClient,
  target: RolloutTarget,
  options: { full?: boolean; dryRun?: boolean },
  call: CallOptions = {},
): Promise<ArgoPromoteResult> {
  const rollout = await readRollout(client, target, call);
  canaryOf(rollout, target);
  const status = rollout.status ?? {};
  const steps = rollout.spec?.strategy?.canary?.steps ?? [];
  const full = options.full === true;
  const dryRun = options.dryRun === true;
  const updating = status.currentPodHash !== undefined && status.currentPodHash !== status.stableRS;
  const base = {
    namespace: target.namespace,
    name: target.name,
    full,
    fromStep: status.currentStepIndex ?? null,
    dryRun,
  };
  if (status.abort) {
    throw new MillwrightError(
      ErrorCode.PreconditionFailed,
      `rollout ${target.name} in namespace ${target.namespace} is aborted; promoting it would start the aborted update again`,
      {
        hint: `set its image back to the stable one, or retry it on purpose with kubectl argo rollouts retry rollout ${target.name}`,
      },
    );
  }
  const patches: Array<{ body: object; status: boolean }> = [];
  if (full) {
    if (updating) patches.push({ body: { status: { promoteFull: true } }, status: true });
  } else {
    if (rollout.spec?.paused) patches.push({ body: { spec: { paused: false } }, status: false });
    if ((status.pauseConditions ?? []).length > 0)
      patches.push({ body: { status: { pauseConditions: null } }, status: true });
    else if (updating) {
      const index = status.currentStepIndex ?? 0;
      patches.push({
        body: { status: { currentStepIndex: Math.min(index + 1, steps.length) } },
        status: true,
      });
    }
  }
  // Sent once each: a promotion moves the canary on, and a second one would skip a step.
  for (const patch of patches)
    await patchRollout(client, target, patch.body, { status: patch.status, dryRun, effect: 'write' }, call);
  return {
    ...base,
    outcome: patches.length > 0 ? 'promoted' : 'unchanged',
    patched: patches.map((p) => (p.status ? 'status' : 'spec')),
  };
}

export interface ArgoAbortResult {
  namespace: string;
  name: string;
  /** aborted: `status.abort` set; unchanged: already aborted, or no update under way. */
  outcome: 'aborted' | 'unchanged';
  dryRun: boolean;
}

/**
 * Aborts like `kubectl argo rollouts abort`: `status.abort: true`, so the canary scales away and the
 * stable ReplicaSet takes all traffic again. The template still names the new version until it is set back.
 *
 * @example
 * await argoAbort(cluster, { namespace: 'shop', name: 'checkout' });
 */
export async function argoAbort(
  client: KubernetesClient,
  target: RolloutTarget,
  options: { dryRun?: boolean } = {},
  call: CallOptions = {},
): Promise<ArgoAbortResult> {
  const rollout = await readRollout(client, target, call);
  const status = rollout.status ?? {};
  const base = { namespace: target.namespace, name: target.name, dryRun: options.dryRun === true };
  const updating = status.currentPodHash !== undefined && status.currentPodHash !== status.stableRS;
  if (status.abort || !updating) return { ...base, outcome: 'unchanged' };
  await patchRollout(
    client,
    target,
    { status: { abort: true } },
    { status: true, dryRun: options.dryRun === true, effect: 'idempotent-write' },
    call,
  );
  return { ...base, outcome: 'aborted' };
}
