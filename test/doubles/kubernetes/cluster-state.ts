// In-memory objects of the Kubernetes API double (Deployments, ReplicaSets, Pods, pod logs) and a
// small deployment controller, so restart, scale and undo leave the revisions a real cluster would.
import { createHash, randomUUID } from 'node:crypto';
import type { Json } from './patches.js';
import type { Labels } from './selectors.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Labels;
  annotations?: Labels;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  [key: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Labels; annotations?: Labels; [key: string]: unknown };
  spec: { containers: Container[]; [key: string]: unknown };
}

export interface LabelSelectorSpec {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface DeploymentObject {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: LabelSelectorSpec;
    template: PodTemplateSpec;
    paused?: boolean;
    progressDeadlineSeconds?: number;
    revisionHistoryLimit?: number;
    [key: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: Condition[];
    [key: string]: unknown;
  };
}

export interface ReplicaSetObject {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: ObjectMeta;
  spec: { replicas?: number; selector: LabelSelectorSpec; template: PodTemplateSpec; [key: string]: unknown };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    fullyLabeledReplicas?: number;
    observedGeneration?: number;
    [key: string]: unknown;
  };
}

export interface PodObject {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: { containers: Container[]; nodeName?: string; [key: string]: unknown };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: Condition[];
    containerStatuses?: Json[];
    initContainerStatuses?: Json[];
    startTime?: string;
    [key: string]: unknown;
  };
}

/** A fixture-only document carrying a container's log text; never served as an object. */
export interface PodLogFixture {
  apiVersion: 'double.millwright.test/v1';
  kind: 'PodLog';
  metadata: { name: string; namespace?: string };
  container: string;
  previous?: boolean;
  text: string;
}

export type KubeObject = DeploymentObject | ReplicaSetObject | PodObject;
export type ServedKind = KubeObject['kind'];
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** How the double's deployment controller behaves after a spec change. */
export type ControllerMode = 'instant' | 'manual';

/**
 * How new pods of an image fail, as the kubelet reports it: a registry that cannot serve the image
 * (`ImagePullBackOff`), a process that exits (`CrashLoopBackOff`), or one killed for memory (`OOMKilled`:
 * waiting in CrashLoopBackOff with the last run terminated OOMKilled, exit code 137).
 */
export interface PodFailure {
  reason: 'ImagePullBackOff' | 'CrashLoopBackOff' | 'OOMKilled';
  /** restartCount of the failing container (crash loops); default 5. */
  restarts?: number;
  /** Set by failureOf when the failing image is an init container's: the pod never gets past it. */
  initContainer?: string;
}

/** The controller's default progressDeadlineSeconds, as the API server defaults it. */
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

type Listener = (type: WatchEventType, object: KubeObject) => void;

const key = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/**
 * The double's store. Objects go in and come out as plain JSON copies; every change bumps the
 * resourceVersion and is pushed to open watches.
 *
 * @example
 * double.state.apply(loadKubernetesScenario('crashloop'));
 * double.state.get('Deployment', 'shop', 'checkout')?.status?.readyReplicas;
 */
export class ClusterState {
  private readonly objects = new Map<string, KubeObject>();
  private readonly logs = new Map<string, string>();
  private readonly listeners = new Set<Listener>();
  private version = 1000;
  /** Images whose new pods never become ready, and how they fail; pods already running keep running. */
  readonly failingImages = new Map<string, PodFailure>();
  /** Deployments whose rollout this controller started and saw stall (fixtures keep their own conditions). */
  private readonly stalled = new Set<string>();

  constructor(
    private readonly now: () => Date,
    /** `instant`: a spec change rolls out at once. `manual`: it waits for `reconcile()`. */
    public controller: ControllerMode = 'instant',
  ) {}

  /** The current resourceVersion of the whole store (what a list answers with). */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** Adds or replaces objects (and PodLog fixtures), filling uid, timestamps and resourceVersion. */
  apply(input: KubeObject | PodLogFixture | (KubeObject | PodLogFixture)[]): void {
    for (const item of Array.isArray(input) ? input : [input]) {
      if (item.kind === 'PodLog') {
        const log = item as PodLogFixture;
        this.setLogs(log.metadata.namespace ?? 'default', log.metadata.name, log.container, log.text, {
          previous: log.previous === true,
        });
        continue;
      }
      this.store(structuredClone(item as KubeObject));
    }
  }

  get<K extends ServedKind>(
    kind: K,
    namespace: string,
    name: string,
  ): Extract<KubeObject, { kind: K }> | undefined {
    const found = this.objects.get(key(kind, namespace, name));
    return found ? (structuredClone(found) as Extract<KubeObject, { kind: K }>) : undefined;
  }

  /** Objects of a kind, in one namespace or all, optionally filtered, sorted by name like the server's list. */
  list<K extends ServedKind>(
    kind: K,
    namespace?: string,
    where: (object: KubeObject) => boolean = () => true,
  ): Extract<KubeObject, { kind: K }>[] {
    // Filter before copying: a bench may hold thousands of pods.
    return [...this.objects.values()]
      .filter(
        (o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace) && where(o),
      )
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o) as Extract<KubeObject, { kind: K }>);
  }

  namespaces(): string[] {
    return [
      ...new Set(['default', ...[...this.objects.values()].map((o) => o.metadata.namespace ?? 'default')]),
    ].sort();
  }

  remove(kind: ServedKind, namespace: string, name: string): boolean {
    const existing = this.objects.get(key(kind, namespace, name));
    if (!existing) return false;
    this.objects.delete(key(kind, namespace, name));
    this.version++;
    this.emit('DELETED', existing);
    return true;
  }

  /** Sets what `GET .../pods/{name}/log?container=` answers (previous: the last terminated run). */
  setLogs(
    namespace: string,
    pod: string,
    container: string,
    text: string,
    options: { previous?: boolean } = {},
  ): void {
    this.logs.set(`${namespace}/${pod}/${container}/${options.previous === true}`, text);
  }

  getLogs(namespace: string, pod: string, container: string, previous: boolean): string | undefined {
    return this.logs.get(`${namespace}/${pod}/${container}/${previous}`);
  }

  /** Observes every change (used by watches). Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stores a write that came through the API: bumps generation when the spec changed, and runs the
   * controller for deployments. With `dryRun` nothing is stored and the would-be object is returned.
   */
  write(next: KubeObject, options: { dryRun?: boolean } = {}): KubeObject {
    const namespace = next.metadata.namespace ?? 'default';
    const previous = this.objects.get(key(next.kind, namespace, next.metadata.name));
    const candidate = structuredClone(next);
    if (previous) {
      candidate.metadata.uid = previous.metadata.uid;
      candidate.metadata.creationTimestamp = previous.metadata.creationTimestamp;
      candidate.metadata.generation = previous.metadata.generation;
      if (candidate.kind !== 'Pod' && JSON.stringify(candidate.spec) !== JSON.stringify(previous.spec)) {
        candidate.metadata.generation = (previous.metadata.generation ?? 1) + 1;
      }
    }
    if (options.dryRun) {
      return this.withDefaults(candidate, previous?.metadata.resourceVersion);
    }
    const stored = this.store(candidate);
    const specChanged = !previous || JSON.stringify(previous.spec) !== JSON.stringify(stored.spec);
    if (stored.kind === 'Deployment' && this.controller === 'instant' && specChanged) {
      this.reconcile(namespace, stored.metadata.name);
    }
    // The API server answers with the object as written; the controller acts on it afterwards.
    return stored;
  }

  /**
   * Runs the deployment controller for one deployment (or all): picks or creates the ReplicaSet
   * for the current template, gives it the newest revision, scales it to `spec.replicas` with
   * ready pods, scales the old ones to zero and marks the rollout complete.
   */
  reconcile(namespace?: string, name?: string): void {
    for (const deployment of this.list('Deployment', namespace)) {
      if (name !== undefined && deployment.metadata.name !== name) continue;
      if (deployment.spec.paused) continue;
      const current = this.syncRevision(deployment);
      const replicas = deployment.spec.replicas ?? 1;
      const failure = this.failureOf(current.spec.template);
      const owned = this.ownedReplicaSets(deployment);
      // A rolling update whose new pods never become ready stops at maxSurge (25%, at least one) new
      // pods, and the old ReplicaSets that still serve keep serving (maxUnavailable rounds down to 0).
      const serving = failure
        ? owned.filter(
            (rs) => rs.metadata.name !== current.metadata.name && (rs.status?.availableReplicas ?? 0) > 0,
          )
        : [];
      const updated =
        failure && serving.length > 0 ? Math.min(replicas, Math.max(1, Math.ceil(replicas / 4))) : replicas;
      let total = 0;
      let available = 0;
      let newReady = 0;
      for (const rs of owned) {
        const isCurrent = rs.metadata.name === current.metadata.name;
        const wanted = isCurrent ? updated : serving.includes(rs) ? (rs.spec.replicas ?? 0) : 0;
        const readyPods = this.syncPods(rs, wanted, isCurrent ? failure : undefined);
        // Without a failing image the controller's rollout succeeds, whatever the fixture's pods said.
        const ready = failure ? readyPods : wanted;
        if (isCurrent) newReady = ready;
        total += wanted;
        available += ready;
        rs.spec.replicas = wanted;
        rs.status = {
          ...rs.status,
          replicas: wanted,
          fullyLabeledReplicas: wanted,
          readyReplicas: ready,
          availableReplicas: ready,
          observedGeneration: rs.metadata.generation ?? 1,
        };
        rs.metadata.annotations = {
          ...rs.metadata.annotations,
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + Math.ceil(replicas / 4)),
        };
        this.store(rs);
      }
      const stuck = newReady < replicas;
      const fresh = this.get(
        'Deployment',
        deployment.metadata.namespace ?? 'default',
        deployment.metadata.name,
      );
      if (!fresh) continue;
      const at = this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const minimum = replicas - Math.floor(replicas / 4);
      fresh.status = {
        observedGeneration: fresh.metadata.generation ?? 1,
        replicas: total,
        updatedReplicas: updated,
        readyReplicas: available,
        availableReplicas: available,
        ...(total > available ? { unavailableReplicas: total - available } : {}),
        conditions: [
          available >= minimum
            ? {
                type: 'Available',
                status: 'True',
                lastUpdateTime: at,
                lastTransitionTime: at,
                reason: 'MinimumReplicasAvailable',
                message: 'Deployment has minimum availability.',
              }
            : {
                type: 'Available',
                status: 'False',
                lastUpdateTime: at,
                lastTransitionTime: at,
                reason: 'MinimumReplicasUnavailable',
                message: 'Deployment does not have minimum availability.',
              },
          stuck
            ? {
                type: 'Progressing',
                status: 'True',
                lastUpdateTime: at,
                lastTransitionTime: at,
                reason: 'ReplicaSetUpdated',
                message: `ReplicaSet "${current.metadata.name}" is progressing.`,
              }
            : {
                type: 'Progressing',
                status: 'True',
                lastUpdateTime: at,
                lastTransitionTime: at,
                reason: 'NewReplicaSetAvailable',
                message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
              },
        ],
      };
      const id = key('Deployment', fresh.metadata.namespace ?? 'default', fresh.metadata.name);
      if (stuck) this.stalled.add(id);
      else this.stalled.delete(id);
      if (available === 0) {
        delete fresh.status.readyReplicas;
        delete fresh.status.availableReplicas;
      }
      this.store(fresh);
    }
  }

  /**
   * What the controller does once a rollout made no progress for `progressDeadlineSeconds`: the
   * Progressing condition turns False with reason ProgressDeadlineExceeded. The double runs it before
   * answering each request, for rollouts its own controller started, so a test moves its clock
   * forward instead of waiting.
   */
  expireProgressDeadlines(): void {
    const now = this.now().getTime();
    for (const id of this.stalled) {
      const object = this.objects.get(id);
      if (object?.kind !== 'Deployment') continue;
      const progressing = object.status?.conditions?.find((c) => c.type === 'Progressing');
      if (progressing?.reason !== 'ReplicaSetUpdated' || !progressing.lastUpdateTime) continue;
      const limit = (object.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
      if (Date.parse(progressing.lastUpdateTime) + limit > now) continue;
      const replicaSet = /ReplicaSet "([^"]+)"/.exec(progressing.message ?? '')?.[1] ?? object.metadata.name;
      const at = this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const expired = structuredClone(object);
      const condition = expired.status?.conditions?.find((c) => c.type === 'Progressing');
      if (!condition) continue;
      Object.assign(condition, {
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${replicaSet}" has timed out progressing.`,
        lastUpdateTime: at,
        lastTransitionTime: at,
      });
      this.store(expired);
    }
  }

  failureOf(template: PodTemplateSpec): PodFailure | undefined {
    // Init containers run first: one that fails keeps the pod from ever starting the others.
    for (const container of initContainersOf(template)) {
      const failure = this.failingImages.get(container.image);
      if (failure) return { ...failure, initContainer: container.name };
    }
    for (const container of template.spec.containers) {
      const failure = this.failingImages.get(container.image);
      if (failure) return failure;
    }
    return undefined;
  }

  /** ReplicaSets whose controller owner is this deployment. */
  ownedReplicaSets(deployment: DeploymentObject): ReplicaSetObject[] {
    return this.list('ReplicaSet', deployment.metadata.namespace).filter((rs) =>
      (rs.metadata.ownerReferences ?? []).some(
        (ref) => ref.controller && ref.uid === deployment.metadata.uid,
      ),
    );
  }

  /** Makes sure the current template has a ReplicaSet with the newest revision; returns it. */
  private syncRevision(deployment: DeploymentObject): ReplicaSetObject {
    const owned = this.ownedReplicaSets(deployment);
    const maxRevision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
    let current = owned.find((rs) => sameTemplate(rs.spec.template, deployment.spec.template));
    const namespace = deployment.metadata.namespace ?? 'default';
    if (!current) {
      const hash = templateHash(deployment.spec.template);
      const template = structuredClone(deployment.spec.template);
      template.metadata = {
        ...template.metadata,
        labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH]: hash },
      };
      current = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${deployment.metadata.name}-${hash}`,
          namespace,
          labels: { ...deployment.spec.template.metadata?.labels, [POD_TEMPLATE_HASH]: hash },
          annotations: { [REVISION]: String(maxRevision + 1) },
          ownerReferences: [controllerRef('apps/v1', 'Deployment', deployment.metadata)],
          generation: 1,
        },
        spec: {
          replicas: 0,
          selector: {
            ...deployment.spec.selector,
            matchLabels: { ...deployment.spec.selector.matchLabels, [POD_TEMPLATE_HASH]: hash },
          },
          template,
        },
        status: { replicas: 0, observedGeneration: 1 },
      };
      current = this.store(current) as ReplicaSetObject;
    } else {
      const revision = Number(current.metadata.annotations?.[REVISION] ?? 0);
      const newest = owned.every(
        (rs) => rs === current || Number(rs.metadata.annotations?.[REVISION] ?? 0) < revision,
      );
      if (!newest) {
        // A rollback: the old ReplicaSet becomes the newest revision and remembers its old number.
        const history = current.metadata.annotations?.[REVISION_HISTORY];
        current.metadata.annotations = {
          ...current.metadata.annotations,
          [REVISION]: String(maxRevision + 1),
          [REVISION_HISTORY]: history ? `${history},${revision}` : String(revision),
        };
        current = this.store(current) as ReplicaSetObject;
      }
    }
    const revision = current.metadata.annotations?.[REVISION] ?? '1';
    const stored = this.objects.get(
      key('Deployment', namespace, deployment.metadata.name),
    ) as DeploymentObject;
    if (stored && stored.metadata.annotations?.[REVISION] !== revision) {
      stored.metadata.annotations = { ...stored.metadata.annotations, [REVISION]: revision };
      this.store(structuredClone(stored));
    }
    return current;
  }

  /**
   * Deletes the pods of a ReplicaSet beyond `wanted` and creates ready (or failing) ones up to it;
   * returns how many of its pods are ready.
   */
  syncPods(rs: ReplicaSetObject, wanted: number, failure?: PodFailure): number {
    const namespace = rs.metadata.namespace ?? 'default';
    const pods = this.list('Pod', namespace).filter((pod) =>
      (pod.metadata.ownerReferences ?? []).some((ref) => ref.uid === rs.metadata.uid),
    );
    for (const pod of pods.slice(wanted)) this.remove('Pod', namespace, pod.metadata.name);
    const at = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    for (let i = pods.length; i < wanted; i++) {
      const template = rs.spec.template;
      const name = `${rs.metadata.name}-${randomSuffix()}`;
      this.store({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace,
          labels: { ...template.metadata?.labels },
          ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
          ownerReferences: [controllerRef('apps/v1', 'ReplicaSet', rs.metadata)],
        },
        spec: { ...structuredClone(template.spec), nodeName: 'node-1' },
        status: failure
          ? failingPodStatus(template, failure, at, i)
          : {
              phase: 'Running',
              conditions: [
                { type: 'Initialized', status: 'True', lastTransitionTime: at },
                { type: 'Ready', status: 'True', lastTransitionTime: at },
                { type: 'ContainersReady', status: 'True', lastTransitionTime: at },
                { type: 'PodScheduled', status: 'True', lastTransitionTime: at },
              ],
              hostIP: '10.0.0.10',
              podIP: `10.244.0.${10 + i}`,
              startTime: at,
              containerStatuses: template.spec.containers.map((c) => ({
                name: c.name,
                image: c.image,
                imageID: imageId(c.image),
                ready: true,
                started: true,
                restartCount: 0,
                state: { running: { startedAt: at } },
                lastState: {},
              })),
            },
      });
    }
    return this.list('Pod', namespace).filter(
      (pod) =>
        (pod.metadata.ownerReferences ?? []).some((ref) => ref.uid === rs.metadata.uid) &&
        (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
  }

  private withDefaults(object: KubeObject, resourceVersion?: string): KubeObject {
    const meta = object.metadata;
    meta.namespace ??= 'default';
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    if (object.kind !== 'Pod') meta.generation ??= 1;
    meta.resourceVersion = resourceVersion ?? String(this.version);
    return object;
  }

  private store(object: KubeObject): KubeObject {
    const namespace = object.metadata.namespace ?? 'default';
    const id = key(object.kind, namespace, object.metadata.name);
    const existed = this.objects.has(id);
    const previous = this.objects.get(id);
    if (previous) {
      object.metadata.uid ??= previous.metadata.uid;
      object.metadata.creationTimestamp ??= previous.metadata.creationTimestamp;
    }
    this.version++;
    this.withDefaults(object, String(this.version));
    this.objects.set(id, object);
    this.emit(existed ? 'MODIFIED' : 'ADDED', object);
    return structuredClone(object);
  }

  private emit(type: WatchEventType, object: KubeObject): void {
    for (const listener of this.listeners) listener(type, structuredClone(object));
  }
}

function imageId(image: string): string {
  return `${image}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function initContainersOf(template: PodTemplateSpec): Container[] {
  return (template.spec.initContainers as Container[] | undefined) ?? [];
}

/** A container that never started, waiting for `waiting.reason`. */
function waitingStatus(c: Container, waiting: { reason: string; message?: string }): Json {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting },
    lastState: {},
  };
}

/** A failing container's status in the kubelet's words: backing off a pull, or a crash loop. */
function failingContainerStatus(c: Container, failure: PodFailure, at: string): Json {
  return failure.reason === 'ImagePullBackOff'
    ? waitingStatus(c, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` })
    : {
        name: c.name,
        image: c.image,
        imageID: imageId(c.image),
        ready: false,
        started: false,
        restartCount: failure.restarts ?? 5,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off 5m0s restarting failed container=${c.name}`,
          },
        },
        lastState: {
          terminated:
            failure.reason === 'OOMKilled'
              ? { exitCode: 137, reason: 'OOMKilled', startedAt: at, finishedAt: at }
              : { exitCode: 1, reason: 'Error', startedAt: at, finishedAt: at },
        },
      };
}

/**
 * A pod stuck in its init containers, as the kubelet reports it: the ones before the failing one
 * completed, the failing one backs off, the rest and every app container wait on PodInitializing.
 */
function failingInitPodStatus(
  template: PodTemplateSpec,
  failure: PodFailure & { initContainer: string },
  at: string,
  index: number,
): NonNullable<PodObject['status']> {
  const inits = initContainersOf(template);
  const failing = inits.findIndex((c) => c.name === failure.initContainer);
  const waitingOn = (c: Container) => waitingStatus(c, { reason: 'PodInitializing' });
  return {
    ...unreadyPod(template, at, index, {
      type: 'Initialized',
      status: 'False' as const,
      lastTransitionTime: at,
      reason: 'ContainersNotInitialized',
      message: `containers with incomplete status: [${failure.initContainer}]`,
    }),
    phase: 'Pending',
    initContainerStatuses: inits.map((c, i): Json => {
      if (i < failing)
        return {
          name: c.name,
          image: c.image,
          imageID: imageId(c.image),
          ready: true,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at } },
          lastState: {},
        };
      return i === failing ? failingContainerStatus(c, failure, at) : waitingOn(c);
    }),
    containerStatuses: template.spec.containers.map(waitingOn),
  };
}

/** What every pod that is not ready shows: its conditions (after `initialized`) and its addresses. */
function unreadyPod(template: PodTemplateSpec, at: string, index: number, initialized: Condition) {
  const notReady = { status: 'False' as const, lastTransitionTime: at, reason: 'ContainersNotReady' };
  const names = template.spec.containers.map((c) => c.name).join(' ');
  return {
    conditions: [
      initialized,
      { type: 'Ready', ...notReady, message: `containers with unready status: [${names}]` },
      { type: 'ContainersReady', ...notReady, message: `containers with unready status: [${names}]` },
      { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: at },
    ],
    hostIP: '10.0.0.10',
    podIP: `10.244.1.${10 + index}`,
    startTime: at,
  };
}

/** A pod whose containers never became ready, in the words the kubelet uses for each failure. */
function failingPodStatus(
  template: PodTemplateSpec,
  failure: PodFailure,
  at: string,
  index: number,
): NonNullable<PodObject['status']> {
  if (failure.initContainer !== undefined)
    return failingInitPodStatus(template, { ...failure, initContainer: failure.initContainer }, at, index);
  return {
    ...unreadyPod(template, at, index, {
      type: 'Initialized',
      status: 'True' as const,
      lastTransitionTime: at,
    }),
    phase: failure.reason === 'ImagePullBackOff' ? 'Pending' : 'Running',
    containerStatuses: template.spec.containers.map((c) => failingContainerStatus(c, failure, at)),
  };
}

function controllerRef(apiVersion: string, kind: string, meta: ObjectMeta): OwnerReference {
  return {
    apiVersion,
    kind,
    name: meta.name,
    uid: meta.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether two pod templates are the same once the pod-template-hash label is ignored. */
export function sameTemplate(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

function withoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const copy = structuredClone(template);
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  if (copy.metadata && Object.keys(copy.metadata).length === 0) delete copy.metadata;
  return copy;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// The controller's "safe" alphabet (no vowels, no look-alikes), as in k8s.io/apimachinery rand.
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

function safeEncode(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE[(bytes[i] ?? 0) % SAFE.length];
  return out;
}

/** A stable 10-character pod-template-hash for a template. */
export function templateHash(template: PodTemplateSpec): string {
  return safeEncode(
    createHash('sha256')
      .update(canonical(withoutHash(template)))
      .digest(),
    10,
  );
}

function randomSuffix(): string {
  return safeEncode(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'), 5);
}
