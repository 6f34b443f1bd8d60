// Whether a rollout is done, still going or has failed, judged like `kubectl rollout status` and then
// by its pods: a new ReplicaSet whose pods crash-loop, get OOMKilled or cannot pull has failed.

import { counted } from '../../core/counted.js';
import type { ContainerImage } from './deployments.js';
import type { DeploymentDescription } from './describe.js';
import type { PodSummary } from './pods.js';

/** When a new pod's trouble counts as the rollout failing rather than still starting. */
export interface RolloutThresholds {
  /** A new pod crash-looping (CrashLoopBackOff, OOMKilled) with at least this many restarts fails it. */
  maxRestarts: number;
  /** A new pod that cannot pull its image (or start its container) for this long fails it. */
  stuckAfterSeconds: number;
}

export const DEFAULT_ROLLOUT_THRESHOLDS: RolloutThresholds = { maxRestarts: 3, stuckAfterSeconds: 60 };

/** Reasons a container waits that retrying will not fix by itself. */
const STUCK_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
]);
const CRASH_REASONS = new Set(['CrashLoopBackOff', 'OOMKilled']);

/** A pod of the deployment that is not serving, and why. */
export interface PodTrouble {
  pod: string;
  revision: number | null;
  /** CrashLoopBackOff, OOMKilled, ImagePullBackOff, ... (OOMKilled wins when a crash loop was OOMKilled). */
  reason: string;
  restarts: number;
  message: string | null;
  /** Whether it belongs to the ReplicaSet of the deployment's current template. */
  isNew: boolean;
}

/** What one ReplicaSet's pods run and how many of them are ready. */
export interface ServingVersion {
  revision: number | null;
  images: ContainerImage[];
  ready: number;
  pods: number;
  /** The ReplicaSet of the deployment's current template. */
  isNew: boolean;
}

export type RolloutOutcome = 'complete' | 'waiting' | 'failed' | 'paused';

export interface RolloutVerdict {
  outcome: RolloutOutcome;
  /** One line naming the pods and reasons when it failed. */
  message: string;
  troubles: PodTrouble[];
  /** Per ReplicaSet with pods (or the new one): older ones newest first, then the new one. */
  serving: ServingVersion[];
}

/**
 * Judges a described deployment: `complete` only when `kubectl rollout status` would say
 * "successfully rolled out"; `failed` on ProgressDeadlineExceeded, ReplicaFailure, or new pods in
 * trouble beyond the thresholds; `paused` when it cannot move; else `waiting`.
 *
 * @example
 * judgeRollout(await describeDeployment(cluster, target), DEFAULT_ROLLOUT_THRESHOLDS).outcome // 'failed'
 */
export function judgeRollout(
  description: DeploymentDescription,
  thresholds: RolloutThresholds = DEFAULT_ROLLOUT_THRESHOLDS,
): RolloutVerdict {
  const { status } = description;
  const serving = servingVersions(description);
  const troubles = podTroubles(description);
  const failing = troubles.filter((t) => t.isNew && beyond(t, description.pods, thresholds));
  const verdict = (outcome: RolloutOutcome, message: string): RolloutVerdict => ({
    outcome,
    message,
    troubles,
    serving,
  });
  if (status.state === 'paused') return verdict('paused', status.message);
  if (status.state === 'failed') {
    const why = failing.length > 0 ? failing : troubles.filter((t) => t.isNew);
    return verdict('failed', why.length > 0 ? `${status.message}: ${describeTroubles(why)}` : status.message);
  }
  if (failing.length > 0) {
    return verdict('failed', `deployment "${status.name}" rollout failed: ${describeTroubles(failing)}`);
  }
  if (status.state === 'healthy') return verdict('complete', status.message);
  if (status.state === 'degraded') {
    // kubectl keeps waiting while fewer updated replicas are available than desired.
    const { available, updated } = status.replicas;
    return verdict(
      'waiting',
      `Waiting for deployment "${status.name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  }
  return verdict('waiting', status.message);
}

/** "checkout-7b9c-q2w8e ImagePullBackOff, checkout-7b9c-z9x8c CrashLoopBackOff (5 restarts)" */
export function describeTroubles(troubles: readonly PodTrouble[]): string {
  return troubles
    .map((t) => `pod ${t.pod} ${t.reason}${t.restarts > 0 ? ` (${counted(t.restarts, 'restart')})` : ''}`)
    .join(', ');
}

/** "1.4.2 3/3 · 1.5.0 0/1 new", from images shortened to their tags. */
export function describeServing(serving: readonly ServingVersion[]): string {
  return serving
    .map(
      (s) =>
        `${s.images.map((i) => shortImage(i.image)).join('+') || '?'} ${s.ready}/${s.pods}${s.isNew ? ' new' : ''}`,
    )
    .join(' · ');
}

function shortImage(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : withoutDigest.slice(slash + 1);
}

function podTroubles(description: DeploymentDescription): PodTrouble[] {
  const current = description.replicaSets.find((rs) => rs.isCurrent);
  return description.pods
    .filter((pod) => pod.reason !== null)
    .map((pod) => troubleOf(pod, current !== undefined && pod.podTemplateHash === current.podTemplateHash));
}

function troubleOf(pod: PodSummary, isNew: boolean): PodTrouble {
  return {
    pod: pod.name,
    revision: pod.revision ?? null,
    reason: pod.reason ?? '',
    restarts: pod.restarts,
    message: pod.message,
    isNew,
  };
}

/**
 * The pods (all of one new version) whose trouble is beyond the thresholds: what fails a rollout.
 *
 * @example
 * failingPods(canaryPods, DEFAULT_ROLLOUT_THRESHOLDS) // [{ pod: 'checkout-7b9c-q2w8e', reason: 'CrashLoopBackOff', restarts: 5, ... }]
 */
export function failingPods(pods: readonly PodSummary[], thresholds: RolloutThresholds): PodTrouble[] {
  return pods
    .filter((pod) => pod.reason !== null)
    .map((pod) => troubleOf(pod, true))
    .filter((trouble) => beyond(trouble, pods, thresholds));
}

function beyond(trouble: PodTrouble, pods: readonly PodSummary[], thresholds: RolloutThresholds): boolean {
  // An init container in trouble reads `Init:CrashLoopBackOff` (as kubectl shows it): the pod never
  // gets past it, so it fails the rollout by the same rules as an app container.
  const reason = trouble.reason.startsWith('Init:') ? trouble.reason.slice('Init:'.length) : trouble.reason;
  if (CRASH_REASONS.has(reason)) return trouble.restarts >= thresholds.maxRestarts;
  if (!STUCK_REASONS.has(reason)) return false;
  const age = pods.find((p) => p.name === trouble.pod)?.ageSeconds ?? 0;
  return age >= thresholds.stuckAfterSeconds;
}

function servingVersions(description: DeploymentDescription): ServingVersion[] {
  const byHash = new Map<string | null, PodSummary[]>();
  for (const pod of description.pods) {
    if (pod.status === 'Terminating') continue;
    byHash.set(pod.podTemplateHash, [...(byHash.get(pod.podTemplateHash) ?? []), pod]);
  }
  return [...description.replicaSets]
    .sort((a, b) => Number(a.isCurrent) - Number(b.isCurrent))
    .filter((rs) => rs.isCurrent || byHash.has(rs.podTemplateHash))
    .map((rs) => {
      const pods = byHash.get(rs.podTemplateHash) ?? [];
      return {
        revision: rs.revision,
        // What the pods report running, else what the ReplicaSet asks for.
        images: imagesRun(pods) ?? rs.images,
        ready: pods.filter((p) => p.reason === null).length,
        pods: pods.length,
        isNew: rs.isCurrent,
      };
    });
}

function imagesRun(pods: readonly PodSummary[]): ContainerImage[] | undefined {
  const ready = pods.find((p) => p.reason === null && p.containers.length > 0);
  return ready?.containers.map((c) => ({ container: c.name, image: c.image }));
}
