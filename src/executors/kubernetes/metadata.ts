// What the kubernetes executor offers (action metadata and its config schema), kept apart from the
// client so Millwright can load runbooks without loading @kubernetes/client-node.

import { DNS1123_LABEL } from '../../upstreams/kubernetes/names.js';
import { MAX_LOG_LINES } from '../../upstreams/kubernetes/pods.js';
import { withInputSchema } from '../input-schema.js';
import type { ActionMetadata, JsonSchema } from '../types.js';
import {
  type KubernetesActionName,
  type KubernetesInputs,
  kubernetesInputs,
  type ScaleBounds,
} from './inputs.js';

/** Replica counts `scale` accepts unless the config says otherwise. */
export const DEFAULT_SCALE_BOUNDS: ScaleBounds = { min: 1, max: 20 };

/** Longest log tail `logs` returns. */
export { MAX_LOG_LINES };

function objectSchema(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** What set-image and argo-set-image answer. */
const SET_IMAGE_OUTPUT = objectSchema(
  {
    container: { type: 'string' },
    previousImage: { type: 'string' },
    image: { type: 'string' },
    changed: { type: 'boolean' },
  },
  ['image', 'changed'],
);

/**
 * Each action's metadata; its input schema is the JSON Schema of `inputs` (the schemas the executor
 * checks input with), derived on first read.
 *
 * @example
 * kubernetesActions(DEFAULT_SCALE_BOUNDS).scale.effect // 'write'
 */
export function kubernetesActions(
  bounds: ScaleBounds,
  inputs: KubernetesInputs = kubernetesInputs(bounds),
): Record<KubernetesActionName, ActionMetadata> {
  const offered: Record<KubernetesActionName, Omit<ActionMetadata, 'input'>> = {
    'rollout-status': {
      description:
        'Waits like `kubectl rollout status` until the rollout is complete; fails on ProgressDeadlineExceeded, new pods crash-looping, OOMKilled or unable to pull, a paused deployment or the timeout. With wait: false, one look at how it stands',
      effect: 'read',
      dryRun: 'native',
      output: objectSchema(
        {
          state: { type: 'string', enum: ['healthy', 'progressing', 'degraded', 'failed', 'paused'] },
          message: { type: 'string' },
          revision: { type: ['integer', 'null'] },
          generation: { type: 'integer' },
          observedGeneration: { type: 'integer' },
          replicas: { type: 'object' },
          conditions: { type: 'array' },
          images: { type: 'array' },
          serving: { type: 'array' },
          polls: { type: 'integer' },
        },
        ['state', 'message'],
      ),
    },
    'rollout-check': {
      description:
        'One look at a rollout, judged by the rules `rollout-status` waits with: complete, waiting, failed (ProgressDeadlineExceeded, new pods crash-looping, OOMKilled or unable to pull) or paused; never fails on the state itself',
      effect: 'read',
      dryRun: 'native',
      output: objectSchema(
        {
          outcome: { type: 'string', enum: ['complete', 'waiting', 'failed', 'paused'] },
          message: { type: 'string' },
          troubles: { type: 'array' },
          serving: { type: 'array' },
          state: { type: 'string' },
        },
        ['outcome', 'message'],
      ),
    },
    restart: {
      description: 'Rolling restart of a deployment, the same patch `kubectl rollout restart` sends',
      effect: 'write',
      dryRun: 'native',
      output: objectSchema(
        { restartedAt: { type: 'string' }, previousRevision: { type: ['integer', 'null'] } },
        [],
      ),
    },
    scale: {
      description: `Set a deployment's replicas (${bounds.min} to ${bounds.max}) through the scale subresource`,
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: objectSchema(
        {
          previousReplicas: { type: 'integer' },
          replicas: { type: 'integer' },
          changed: { type: 'boolean' },
        },
        [],
      ),
    },
    undo: {
      description:
        'Roll a deployment back like `kubectl rollout undo`: to a given revision, else the earlier one still fully available, else the newest earlier one whose pod template differs by more than a restart',
      effect: 'write',
      dryRun: 'native',
      output: objectSchema(
        {
          fromRevision: { type: ['integer', 'null'] },
          toRevision: { type: 'integer' },
          images: { type: 'array' },
          reason: { type: 'string' },
          skipped: { type: 'boolean' },
        },
        [],
      ),
    },
    'list-pods': {
      description:
        "A deployment's pods: phase, ready, restarts, reason (CrashLoopBackOff, ImagePullBackOff, OOMKilled) and age",
      effect: 'read',
      dryRun: 'native',
      output: objectSchema({ pods: { type: 'array' }, notReady: { type: 'integer' } }, ['pods']),
    },
    'canary-set': {
      description:
        "Create or update `<deployment>-canary`: a copy of the stable Deployment whose pods carry the track label's canary value and the new image, with the given pods (the stable must select its pods by the track label)",
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: objectSchema(
        {
          canary: { type: 'string' },
          replicas: { type: 'integer' },
          image: { type: 'string' },
          outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] },
        },
        ['canary', 'outcome'],
      ),
    },
    'canary-remove': {
      description:
        'Delete `<deployment>-canary` (only a canary Millwright made for that deployment); nothing to do when there is none',
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: objectSchema(
        { canary: { type: 'string' }, outcome: { type: 'string', enum: ['removed', 'absent'] } },
        ['canary', 'outcome'],
      ),
    },
    'set-image': {
      description: "Set a container's image on a deployment, the patch `kubectl set image` sends",
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: SET_IMAGE_OUTPUT,
    },
    'argo-status': {
      description:
        "One look at an Argo Rollout's canary: phase (Healthy, Progressing, Paused, Degraded), message, step, current setWeight, paused, aborted, stable and canary ReplicaSets, its steps and track labels; failed when the canary's pods crash-loop, are OOMKilled or cannot pull",
      effect: 'read',
      dryRun: 'native',
      output: objectSchema(
        {
          phase: { type: 'string', enum: ['Healthy', 'Progressing', 'Paused', 'Degraded', 'Unknown'] },
          outcome: { type: 'string', enum: ['healthy', 'progressing', 'paused', 'degraded', 'failed'] },
          message: { type: ['string', 'null'] },
          step: { type: ['integer', 'null'] },
          steps: { type: 'array' },
          weight: { type: 'number' },
          paused: { type: 'boolean' },
          aborted: { type: 'boolean' },
          updating: { type: 'boolean' },
          stableRS: { type: ['string', 'null'] },
          currentPodHash: { type: ['string', 'null'] },
          images: { type: 'array' },
          trackLabels: { type: 'object' },
          troubles: { type: 'array' },
        },
        ['phase', 'outcome', 'weight'],
      ),
    },
    'argo-set-image': {
      description:
        "Set a container's image in an Argo Rollout's pod template, what `kubectl argo rollouts set image` sends: a canary Rollout starts its steps",
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: SET_IMAGE_OUTPUT,
    },
    'argo-promote': {
      description:
        'Promote an Argo Rollout like `kubectl argo rollouts promote`: unpause, clear the pause condition or move to the next step (status subresource); full: true skips every remaining step',
      effect: 'write',
      dryRun: 'native',
      output: objectSchema(
        {
          outcome: { type: 'string', enum: ['promoted', 'unchanged'] },
          full: { type: 'boolean' },
          fromStep: { type: ['integer', 'null'] },
          patched: { type: 'array' },
        },
        ['outcome'],
      ),
    },
    'argo-abort': {
      description:
        'Abort an Argo Rollout like `kubectl argo rollouts abort` (status.abort): the canary scales away and the stable takes all traffic',
      effect: 'write',
      idempotent: true,
      dryRun: 'native',
      output: objectSchema({ outcome: { type: 'string', enum: ['aborted', 'unchanged'] } }, ['outcome']),
    },
    logs: {
      description: `The last lines (at most ${MAX_LOG_LINES}) of a pod's log, or of the deployment's first pod`,
      effect: 'read',
      dryRun: 'native',
      output: objectSchema(
        { pod: { type: 'string' }, container: { type: ['string', 'null'] }, lines: { type: 'array' } },
        ['lines'],
      ),
    },
  };
  const actions = {} as Record<KubernetesActionName, ActionMetadata>;
  for (const name of Object.keys(offered) as KubernetesActionName[]) {
    actions[name] = withInputSchema(offered[name], inputs[name]);
  }
  return actions;
}

export const KUBERNETES_CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    allowedNamespaces: { type: 'array', items: { type: 'string', pattern: DNS1123_LABEL } },
    scaleBounds: {
      type: 'object',
      properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 } },
      required: ['min', 'max'],
      additionalProperties: false,
    },
    rolloutPollInterval: { type: 'string', pattern: '^(?:\\d+(?:ms|s|m|h|d|w))+$' },
  },
  additionalProperties: false,
};
