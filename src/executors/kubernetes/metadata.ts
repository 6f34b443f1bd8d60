// What the kubernetes executor offers (action schemas and its config schema), kept apart from the
// client so Millwright can load runbooks without loading @kubernetes/client-node.

import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from '../../upstreams/kubernetes/names.js';
import { MAX_LOG_LINES } from '../../upstreams/kubernetes/pods.js';
import type { ActionMetadata, JsonSchema } from '../types.js';
import type { ScaleBounds } from './rollouts.js';

/** Replica counts `scale` accepts unless the config says otherwise. */
export const DEFAULT_SCALE_BOUNDS: ScaleBounds = { min: 1, max: 20 };

/** Longest log tail `logs` returns. */
export { MAX_LOG_LINES };

const namespaceSchema = {
  type: 'string',
  pattern: DNS1123_LABEL,
  maxLength: 63,
  description: 'Kubernetes namespace (must be in kubernetes.allowedNamespaces)',
};
const deploymentSchema = {
  type: 'string',
  pattern: DNS1123_SUBDOMAIN,
  maxLength: 253,
  description: 'Deployment name (DNS-1123)',
};

function objectSchema(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

const target = { namespace: namespaceSchema, deployment: deploymentSchema };

export function kubernetesActions(bounds: ScaleBounds): Record<string, ActionMetadata> {
  return {
    'rollout-status': {
      description:
        'How a deployment rollout stands: healthy, progressing, degraded, failed or paused, with replicas, conditions, images and revision',
      effect: 'read',
      dryRun: 'native',
      input: objectSchema(target, ['namespace', 'deployment']),
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
        },
        ['state', 'message'],
      ),
    },
    restart: {
      description: 'Rolling restart of a deployment, the same patch `kubectl rollout restart` sends',
      effect: 'write',
      dryRun: 'native',
      input: objectSchema(target, ['namespace', 'deployment']),
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
      input: objectSchema(
        {
          ...target,
          replicas: {
            type: 'integer',
            minimum: bounds.min,
            maximum: bounds.max,
            description: 'Wanted replicas',
          },
        },
        ['namespace', 'deployment', 'replicas'],
      ),
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
        'Roll a deployment back to its previous ReplicaSet revision (or a given one), like `kubectl rollout undo`',
      effect: 'write',
      dryRun: 'native',
      input: objectSchema(
        {
          ...target,
          toRevision: {
            type: 'integer',
            minimum: 1,
            description: 'Revision to restore; the previous one when absent',
          },
        },
        ['namespace', 'deployment'],
      ),
      output: objectSchema(
        {
          fromRevision: { type: ['integer', 'null'] },
          toRevision: { type: 'integer' },
          images: { type: 'array' },
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
      input: objectSchema(target, ['namespace', 'deployment']),
      output: objectSchema({ pods: { type: 'array' }, notReady: { type: 'integer' } }, ['pods']),
    },
    logs: {
      description: `The last lines (at most ${MAX_LOG_LINES}) of a pod's log, or of the deployment's first pod`,
      effect: 'read',
      dryRun: 'native',
      input: objectSchema(
        {
          namespace: namespaceSchema,
          deployment: deploymentSchema,
          pod: {
            type: 'string',
            pattern: DNS1123_SUBDOMAIN,
            maxLength: 253,
            description: "Pod name; the deployment's first pod when absent",
          },
          container: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63, description: 'Container name' },
          lines: {
            type: 'integer',
            minimum: 1,
            maximum: MAX_LOG_LINES,
            default: 100,
            description: 'Lines from the end',
          },
          previous: {
            type: 'boolean',
            default: false,
            description: 'The previous (crashed) run of the container',
          },
        },
        ['namespace'],
      ),
      output: objectSchema(
        { pod: { type: 'string' }, container: { type: ['string', 'null'] }, lines: { type: 'array' } },
        ['lines'],
      ),
    },
  };
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
  },
  additionalProperties: false,
};
