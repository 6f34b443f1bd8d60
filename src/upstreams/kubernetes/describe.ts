// One deployment in full for `deploys SERVICE`: its rollout, its ReplicaSet revisions and its pods,
// fetched with as few calls as possible (the deployment first, then the rest in parallel).
import type { V1Deployment } from '@kubernetes/client-node';
import type { CallOptions, KubernetesClient } from './client.js';
import {
  type DeploymentStatus,
  type DeploymentTarget,
  ownedReplicaSets,
  type ReplicaSetRevision,
  readDeployment,
  summarizeDeployment,
  summarizeReplicaSets,
} from './deployments.js';
import { listPodsBySelector, type PodSummary } from './pods.js';

export interface DeploymentDescription {
  status: DeploymentStatus;
  replicaSets: ReplicaSetRevision[];
  /** The deployment's pods, each with the revision of the ReplicaSet it belongs to. */
  pods: PodSummary[];
}

/**
 * Everything `deploys SERVICE` shows for one deployment, in three calls (the deployment, then its
 * ReplicaSets and pods in parallel).
 *
 * @example
 * const { status, replicaSets, pods } = await describeDeployment(cluster, { namespace: 'shop', name: 'checkout' });
 */
export async function describeDeployment(
  client: KubernetesClient,
  target: DeploymentTarget,
  call: CallOptions = {},
): Promise<DeploymentDescription> {
  return describeDeploymentObject(client, await readDeployment(client, target, call), call);
}

/** The same for a deployment already read (two calls: its ReplicaSets and pods, in parallel). */
export async function describeDeploymentObject(
  client: KubernetesClient,
  deployment: V1Deployment,
  call: CallOptions = {},
): Promise<DeploymentDescription> {
  const status = summarizeDeployment(deployment);
  const [replicaSetObjects, pods] = await Promise.all([
    ownedReplicaSets(client, deployment, call),
    listPodsBySelector(client, status.namespace, status.selector, call),
  ]);
  const replicaSets = summarizeReplicaSets(deployment, replicaSetObjects);
  const revisionByHash = new Map(replicaSets.map((rs) => [rs.podTemplateHash, rs.revision]));
  return {
    status,
    replicaSets,
    pods: pods.map((pod) => ({ ...pod, revision: revisionByHash.get(pod.podTemplateHash) ?? null })),
  };
}
