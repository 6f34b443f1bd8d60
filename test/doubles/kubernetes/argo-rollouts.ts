// Argo Rollouts in the Kubernetes API double: the `argoproj.io/v1alpha1` Rollout objects and a small
// controller doing what Argo's documents for a canary without traffic routing: a new template starts at
// step 0, `setWeight` scales the canary ReplicaSet to that share of the pods, `pause: {}` waits with a
// CanaryPauseStep pause condition until promoted, `status.abort` scales the canary away (Degraded), the
// end makes the new ReplicaSet stable (Healthy), and a template back on the stable's is fast-tracked.
import { randomUUID } from 'node:crypto';
import type {
  ClusterState,
  DeploymentObject,
  ObjectMeta,
  PodTemplateSpec,
  ReplicaSetObject,
} from './cluster-state.js';
import { templateHash } from './cluster-state.js';
import type { Labels } from './selectors.js';

export const ROLLOUTS_POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';

/** One canary step as Argo's spec has it; the double acts on setWeight and pause and skips the rest. */
export interface CanaryStep {
  setWeight?: number;
  pause?: { duration?: number | string };
  [key: string]: unknown;
}

export interface PauseCondition {
  reason: 'CanaryPauseStep' | 'BlueGreenPause' | 'AnalysisRunInconclusive' | 'InconclusiveExperiment';
  startTime: string;
}

export interface RolloutStatus {
  phase?: 'Healthy' | 'Progressing' | 'Paused' | 'Degraded';
  message?: string;
  currentStepIndex?: number;
  currentPodHash?: string;
  stableRS?: string;
  pauseConditions?: PauseCondition[];
  controllerPause?: boolean;
  abort?: boolean;
  abortedAt?: string;
  promoteFull?: boolean;
  canary?: { weights?: { canary: WeightOf; stable: WeightOf } };
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: string;
  conditions?: { type: string; status: 'True' | 'False'; reason: string; message: string }[];
  [key: string]: unknown;
}

interface WeightOf {
  podTemplateHash: string;
  weight: number;
}

export interface RolloutObject {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'Rollout';
  metadata: ObjectMeta;
  spec: DeploymentObject['spec'] & {
    strategy: {
      canary?: {
        steps?: CanaryStep[];
        canaryMetadata?: { labels?: Labels; annotations?: Labels };
        stableMetadata?: { labels?: Labels; annotations?: Labels };
        [key: string]: unknown;
      };
      blueGreen?: Record<string, unknown>;
    };
  };
  status?: RolloutStatus;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/**
 * The double's Rollouts and their controller; ReplicaSets and pods go into the shared `ClusterState`,
 * so `failingImages` makes a canary's pods crash-loop or fail to pull like a Deployment's.
 *
 * @example
 * double.rollouts.apply(rolloutFixture('checkout'));
 * double.rollouts.get('shop', 'checkout')?.status?.phase; // 'Healthy'
 */
export class ArgoRollouts {
  private readonly objects = new Map<string, RolloutObject>();
  private version = 1;
  /** When each rollout's current canary started waiting for its pods (its progress deadline counts from it). */
  private readonly waitingSince = new Map<string, number>();

  constructor(
    private readonly state: ClusterState,
    private readonly now: () => Date,
  ) {}

  /** Adds or replaces Rollouts as fixtures; the controller brings each to its first state at once. */
  apply(input: RolloutObject | RolloutObject[]): void {
    for (const rollout of Array.isArray(input) ? input : [input]) {
      const stored = this.store(structuredClone(rollout));
      this.reconcile(stored.metadata.namespace ?? 'default', stored.metadata.name);
    }
  }

  get(namespace: string, name: string): RolloutObject | undefined {
    const found = this.objects.get(key(namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  list(namespace?: string): RolloutObject[] {
    return [...this.objects.values()]
      .filter((r) => namespace === undefined || r.metadata.namespace === namespace)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((r) => structuredClone(r));
  }

  remove(namespace: string, name: string): boolean {
    return this.objects.delete(key(namespace, name));
  }

  /** A write through the API (spec, or status with `status: true`); the controller acts on it at once. */
  write(next: RolloutObject, options: { dryRun?: boolean; status?: boolean } = {}): RolloutObject {
    const namespace = next.metadata.namespace ?? 'default';
    const previous = this.objects.get(key(namespace, next.metadata.name));
    const candidate = structuredClone(next);
    if (previous) {
      candidate.metadata.uid = previous.metadata.uid;
      candidate.metadata.creationTimestamp = previous.metadata.creationTimestamp;
      candidate.metadata.generation = previous.metadata.generation;
      // The status subresource: a write to the object keeps its status, one to /status keeps its spec.
      if (options.status) candidate.spec = structuredClone(previous.spec);
      else candidate.status = structuredClone(previous.status);
      if (JSON.stringify(candidate.spec) !== JSON.stringify(previous.spec))
        candidate.metadata.generation = (previous.metadata.generation ?? 1) + 1;
    }
    if (options.dryRun) return this.withDefaults(candidate, previous?.metadata.resourceVersion);
    const stored = this.store(candidate);
    this.reconcile(namespace, stored.metadata.name);
    return this.get(namespace, stored.metadata.name) ?? stored;
  }

  /** What the controller notices on its own schedule (a timed pause ending, a progress deadline); run before each request. */
  tick(): void {
    for (const rollout of this.objects.values()) {
      this.reconcile(rollout.metadata.namespace ?? 'default', rollout.metadata.name);
    }
  }

  /** One pass of the controller over one Rollout. */
  reconcile(namespace: string, name: string): void {
    const rollout = this.get(namespace, name);
    if (!rollout?.spec.strategy.canary) return;
    const canary = rollout.spec.strategy.canary;
    const steps = canary.steps ?? [];
    const replicas = rollout.spec.replicas ?? 1;
    const hash = templateHash(rollout.spec.template);
    const status: RolloutStatus = { ...rollout.status };
    const id = key(namespace, name);
    const at = this.timestamp();
    // A first Rollout goes straight to 100%: there was nothing to update from.
    if (!status.stableRS) {
      status.stableRS = hash;
      status.currentPodHash = hash;
      status.currentStepIndex = steps.length;
    }
    if (status.currentPodHash !== hash) {
      // A new template: a canary starts at step 0, or one back on the stable's is fast-tracked.
      status.currentPodHash = hash;
      status.currentStepIndex = hash === status.stableRS ? steps.length : 0;
      for (const field of ['abort', 'abortedAt', 'pauseConditions', 'controllerPause', 'promoteFull'])
        delete status[field];
      this.waitingSince.delete(id);
    }
    const failure = hash === status.stableRS ? undefined : this.state.failureOf(rollout.spec.template);
    let index = status.currentStepIndex ?? 0;
    let weight = 0;
    let paused = false;
    let blocked = false;
    if (status.promoteFull) index = steps.length;
    if (!status.abort && !rollout.spec.paused) {
      while (index < steps.length) {
        const step = steps[index]!;
        if (step.setWeight !== undefined) {
          weight = step.setWeight;
          // A step is done once the canary's pods for it are available; failing pods never are.
          if (failure) {
            blocked = true;
            break;
          }
          index++;
          continue;
        }
        if (step.pause) {
          const condition = status.pauseConditions?.find((c) => c.reason === 'CanaryPauseStep');
          const seconds = durationSeconds(step.pause.duration);
          if (!condition && status.controllerPause) {
            // Someone cleared the pause condition (a promotion): the step is over.
            delete status.controllerPause;
            index++;
            continue;
          }
          if (
            condition &&
            seconds !== undefined &&
            Date.parse(condition.startTime) + seconds * 1000 <= this.now().getTime()
          ) {
            delete status.pauseConditions;
            delete status.controllerPause;
            index++;
            continue;
          }
          if (!condition) {
            status.pauseConditions = [{ reason: 'CanaryPauseStep', startTime: at }];
            status.controllerPause = true;
          }
          paused = true;
          break;
        }
        index++;
      }
      // The weight a step index stands for: the last setWeight before it.
      if (!blocked) weight = index >= steps.length ? 100 : lastWeightBefore(steps, index);
    } else if (!status.abort) {
      weight = lastWeightBefore(steps, index);
    }
    status.currentStepIndex = index;
    const done = !status.abort && index >= steps.length && !failure;
    if (done) {
      status.stableRS = hash;
      for (const field of ['pauseConditions', 'controllerPause', 'promoteFull']) delete status[field];
    }
    const canaryPods = done || status.abort ? 0 : Math.ceil((weight * replicas) / 100);
    const stablePods = done ? replicas : failure || status.abort ? replicas : replicas - canaryPods;
    this.scale(rollout, status.stableRS!, done ? replicas : stablePods, 'stable');
    if (hash !== status.stableRS) this.scale(rollout, hash, canaryPods, 'canary', failure);
    // Every other ReplicaSet of the Rollout (an old stable, an aborted or replaced canary) has no pods.
    for (const rs of this.state.list('ReplicaSet', namespace)) {
      const owned = (rs.metadata.ownerReferences ?? []).some((ref) => ref.uid === rollout.metadata.uid);
      const its = rs.metadata.labels?.[ROLLOUTS_POD_TEMPLATE_HASH];
      if (!owned || its === status.stableRS || (its === hash && !done)) continue;
      if ((rs.spec.replicas ?? 0) === 0) continue;
      this.state.apply({ ...rs, spec: { ...rs.spec, replicas: 0 }, status: { replicas: 0 } });
      this.state.syncPods(this.state.get('ReplicaSet', namespace, rs.metadata.name)!, 0);
    }
    const readyCanary = failure ? 0 : canaryPods;
    status.replicas = (hash === status.stableRS ? 0 : canaryPods) + (done ? replicas : stablePods);
    status.updatedReplicas = done ? replicas : canaryPods;
    status.readyReplicas = (done ? replicas : stablePods) + (hash === status.stableRS ? 0 : readyCanary);
    status.availableReplicas = status.readyReplicas;
    status.observedGeneration = String(rollout.metadata.generation ?? 1);
    status.canary = {
      weights: {
        canary: { podTemplateHash: hash, weight: done ? 0 : status.abort ? 0 : weight },
        stable: { podTemplateHash: status.stableRS!, weight: done ? 100 : status.abort ? 100 : 100 - weight },
      },
    };
    if (failure && !this.waitingSince.has(id)) this.waitingSince.set(id, this.now().getTime());
    const deadline = (rollout.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
    const since = this.waitingSince.get(id);
    if (status.abort) {
      status.abortedAt ??= at;
      delete status.pauseConditions;
      delete status.controllerPause;
      this.set(
        status,
        'Degraded',
        `RolloutAborted: Rollout aborted update to revision ${rollout.metadata.generation ?? 1}`,
      );
    } else if (failure && since !== undefined && since + deadline <= this.now().getTime()) {
      this.set(
        status,
        'Degraded',
        `ProgressDeadlineExceeded: ReplicaSet "${name}-${hash}" has timed out progressing.`,
      );
    } else if (blocked) {
      this.set(status, 'Progressing', 'more replicas need to be updated');
    } else if (rollout.spec.paused) {
      this.set(status, 'Paused', 'manually paused');
    } else if (paused) {
      this.set(status, 'Paused', 'CanaryPauseStep');
    } else {
      this.set(status, 'Healthy', undefined);
      this.waitingSince.delete(id);
    }
    if (JSON.stringify(status) === JSON.stringify(rollout.status)) return;
    this.store({ ...rollout, status });
  }

  private set(
    status: RolloutStatus,
    phase: NonNullable<RolloutStatus['phase']>,
    message: string | undefined,
  ) {
    status.phase = phase;
    if (message === undefined) delete status.message;
    else status.message = message;
    const reason =
      phase === 'Healthy'
        ? 'NewReplicaSetAvailable'
        : phase === 'Paused'
          ? 'RolloutPaused'
          : (message?.split(':')[0] ?? 'ReplicaSetUpdated');
    status.conditions = [
      {
        type: 'Progressing',
        status: phase === 'Degraded' ? 'False' : 'True',
        reason: reason === 'more replicas need to be updated' ? 'ReplicaSetUpdated' : reason,
        message: message ?? 'Rollout is healthy',
      },
    ];
  }

  /** Scales the ReplicaSet of one template hash, labelled with its track's ephemeral metadata. */
  private scale(
    rollout: RolloutObject,
    hash: string,
    wanted: number,
    track: 'canary' | 'stable',
    failure?: ReturnType<ClusterState['failureOf']>,
  ): void {
    const namespace = rollout.metadata.namespace ?? 'default';
    const name = `${rollout.metadata.name}-${hash}`;
    const metadata =
      track === 'canary'
        ? rollout.spec.strategy.canary?.canaryMetadata
        : rollout.spec.strategy.canary?.stableMetadata;
    const existing = this.state.get('ReplicaSet', namespace, name);
    const template: PodTemplateSpec = existing
      ? structuredClone(existing.spec.template)
      : structuredClone(rollout.spec.template);
    const labels: Labels = {
      ...template.metadata?.labels,
      ...metadata?.labels,
      [ROLLOUTS_POD_TEMPLATE_HASH]: hash,
    };
    const other =
      track === 'canary'
        ? rollout.spec.strategy.canary?.stableMetadata
        : rollout.spec.strategy.canary?.canaryMetadata;
    // A canary that became stable trades its canary labels for the stable's.
    for (const label of Object.keys(other?.labels ?? {}))
      if (!metadata?.labels?.[label]) delete labels[label];
    template.metadata = { ...template.metadata, labels };
    const rs: ReplicaSetObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        ...(existing?.metadata ?? {}),
        name,
        namespace,
        labels,
        ownerReferences: [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Rollout',
            name: rollout.metadata.name,
            uid: rollout.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: wanted,
        selector: {
          matchLabels: { ...rollout.spec.selector.matchLabels, [ROLLOUTS_POD_TEMPLATE_HASH]: hash },
        },
        template,
      },
      status: {
        replicas: wanted,
        readyReplicas: failure ? 0 : wanted,
        availableReplicas: failure ? 0 : wanted,
      },
    };
    this.state.apply(rs);
    const stored = this.state.get('ReplicaSet', namespace, name)!;
    // Pods already running take the track's labels in place, as Argo updates ephemeral metadata.
    for (const pod of this.state.list('Pod', namespace)) {
      if (!(pod.metadata.ownerReferences ?? []).some((ref) => ref.uid === stored.metadata.uid)) continue;
      if (JSON.stringify(pod.metadata.labels) === JSON.stringify(labels)) continue;
      this.state.apply({ ...pod, metadata: { ...pod.metadata, labels: { ...labels } } });
    }
    this.state.syncPods(stored, wanted, failure);
  }

  private store(rollout: RolloutObject): RolloutObject {
    const namespace = rollout.metadata.namespace ?? 'default';
    const previous = this.objects.get(key(namespace, rollout.metadata.name));
    if (previous) {
      rollout.metadata.uid ??= previous.metadata.uid;
      rollout.metadata.creationTimestamp ??= previous.metadata.creationTimestamp;
    }
    this.version++;
    this.withDefaults(rollout, String(this.version));
    this.objects.set(key(namespace, rollout.metadata.name), rollout);
    return structuredClone(rollout);
  }

  private withDefaults(rollout: RolloutObject, resourceVersion?: string): RolloutObject {
    rollout.apiVersion = 'argoproj.io/v1alpha1';
    rollout.kind = 'Rollout';
    const meta = rollout.metadata;
    meta.namespace ??= 'default';
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= this.timestamp();
    meta.generation ??= 1;
    meta.resourceVersion = resourceVersion ?? `r${this.version}`;
    return rollout;
  }

  private timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }
}

function lastWeightBefore(steps: readonly CanaryStep[], index: number): number {
  for (let i = Math.min(index, steps.length) - 1; i >= 0; i--) {
    const weight = steps[i]?.setWeight;
    if (weight !== undefined) return weight;
  }
  return 0;
}

/** A pause's duration in seconds (`30`, `30s`, `5m`, `1h`); undefined for an indefinite pause. */
function durationSeconds(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+)(s|m|h)?$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'] ?? 1);
}

/**
 * A Rollout for `name` in namespace shop: the healthy scenario's pod template, a canary strategy of
 * `setWeight` + indefinite `pause` pairs, and canary/stable pods labelled by the track label.
 *
 * @example
 * double.rollouts.apply(rolloutFixture('checkout', { replicas: 10, weights: [5, 25, 50] }));
 */
export function rolloutFixture(
  name = 'checkout',
  options: {
    namespace?: string;
    replicas?: number;
    image?: string;
    weights?: number[];
    steps?: CanaryStep[];
    trackLabel?: string | null;
  } = {},
): RolloutObject {
  const trackLabel = options.trackLabel === undefined ? 'track' : options.trackLabel;
  const steps =
    options.steps ?? (options.weights ?? [5, 25, 50]).flatMap((setWeight) => [{ setWeight }, { pause: {} }]);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: options.namespace ?? 'shop', labels: { app: name } },
    spec: {
      replicas: options.replicas ?? 10,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name,
              image: options.image ?? `registry.example.com/shop/${name}:1.4.2`,
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      },
      strategy: {
        canary: {
          steps,
          ...(trackLabel === null
            ? {}
            : {
                canaryMetadata: { labels: { [trackLabel]: 'canary' } },
                stableMetadata: { labels: { [trackLabel]: 'stable' } },
              }),
        },
      },
    },
  };
}
