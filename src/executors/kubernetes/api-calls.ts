// The Kubernetes API calls each action of the kubernetes executor makes, in RBAC's terms: the table
// `millwright rbac` turns into Roles. The executor refuses to build when an action has no entry here.
import {
  type KubernetesApiCall,
  mergeApiCalls,
  KUBERNETES_READER_CALLS as READERS,
  RESOURCE_API_GROUPS,
} from '../../upstreams/kubernetes/api-calls.js';
import type { KubernetesActionName } from './inputs.js';

const patchDeployment: KubernetesApiCall = { apiGroup: 'apps', resource: 'deployments', verbs: ['patch'] };
const createDeployment: KubernetesApiCall = { apiGroup: 'apps', resource: 'deployments', verbs: ['create'] };
const deleteDeployment: KubernetesApiCall = { apiGroup: 'apps', resource: 'deployments', verbs: ['delete'] };
const scaleSubresource: KubernetesApiCall = {
  apiGroup: RESOURCE_API_GROUPS['deployments/scale'] ?? 'apps',
  resource: 'deployments/scale',
  verbs: ['get', 'patch'],
};
// rollout-status also reads the rollout's ReplicaSets and pods (issue 18); declared here ahead of the
// code so the Roles stay true once it lands.
const rolloutPodsAndReplicaSets: KubernetesApiCall[] = [
  { apiGroup: 'apps', resource: 'replicasets', verbs: ['get', 'list'] },
  { apiGroup: '', resource: 'pods', verbs: ['get', 'list'] },
];

// Argo Rollouts: the Rollout is read and merge-patched; promote and abort patch its status subresource.
const getRollout: KubernetesApiCall = {
  apiGroup: RESOURCE_API_GROUPS.rollouts ?? 'argoproj.io',
  resource: 'rollouts',
  verbs: ['get'],
};
const patchRollout: KubernetesApiCall = { ...getRollout, verbs: ['patch'] };
const patchRolloutStatus: KubernetesApiCall = {
  ...getRollout,
  resource: 'rollouts/status',
  verbs: ['patch'],
};

/**
 * Every API call each action may make: readers' declarations plus the action's own writes.
 *
 * @example
 * KUBERNETES_ACTION_CALLS.scale // [{ apiGroup: 'apps', resource: 'deployments/scale', verbs: ['get', 'patch'] }]
 */
export const KUBERNETES_ACTION_CALLS: { readonly [A in KubernetesActionName]: readonly KubernetesApiCall[] } =
  {
    'rollout-status': mergeApiCalls(READERS.getDeploymentStatus, rolloutPodsAndReplicaSets),
    'rollout-check': mergeApiCalls(READERS.describeDeployment),
    restart: mergeApiCalls(READERS.readDeployment, [patchDeployment]),
    scale: mergeApiCalls([scaleSubresource]),
    undo: mergeApiCalls(READERS.readDeployment, READERS.ownedReplicaSets, [patchDeployment]),
    'list-pods': mergeApiCalls(READERS.listPods),
    logs: mergeApiCalls(READERS.tailLogs),
    // The stable and its canary are both read; the canary is created or patched.
    'canary-set': mergeApiCalls(READERS.readDeployment, [createDeployment, patchDeployment]),
    'canary-remove': mergeApiCalls(READERS.readDeployment, [deleteDeployment]),
    'set-image': mergeApiCalls(READERS.readDeployment, [patchDeployment]),
    // The canary's pods are listed by Argo's rollouts-pod-template-hash label.
    'argo-status': mergeApiCalls([getRollout], READERS.listPodsBySelector),
    'argo-set-image': mergeApiCalls([getRollout, patchRollout]),
    // spec.paused is unpaused on the Rollout itself; the rest of a promotion is a status patch.
    'argo-promote': mergeApiCalls([getRollout, patchRollout, patchRolloutStatus]),
    'argo-abort': mergeApiCalls([getRollout, patchRolloutStatus]),
  };
