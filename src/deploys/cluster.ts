// The Kubernetes side of a service: its deployments read by name or by label selector, and what
// commit each one runs. Clients per context come from src/upstreams/kubernetes.

import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { V1Deployment } from '../upstreams/kubernetes/index.js';
import {
  type CallOptions,
  checkName,
  type DeploymentDescription,
  type DeploymentStatus,
  describeDeploymentObject,
  judgeRollout,
  type KubernetesClient,
  summarizeDeployment,
} from '../upstreams/kubernetes/index.js';
import { imageVersion, runningRevision, SOURCE_REVISION_ANNOTATION } from './image-revision.js';
import type { DeploymentReading, ServiceKubernetes, ServingGroup } from './types.js';

/**
 * The deployments behind a service: the ones it names, else those its label selector matches, else
 * the one named like the service. Raw objects, so the pod template's annotations are at hand.
 *
 * @example
 * const objects = await readDeploymentObjects(cluster, 'checkout', { namespace: 'shop', deployments: [] }, { signal });
 */
export async function readDeploymentObjects(
  client: KubernetesClient,
  service: string,
  spec: ServiceKubernetes,
  call: CallOptions,
): Promise<V1Deployment[]> {
  const namespace = client.namespace(spec.namespace);
  if (spec.deployments.length === 0 && spec.selector) {
    const selector = spec.selector;
    const list = await client.call(
      { verb: 'list', what: 'deployments', resource: 'deployments', namespace },
      'read',
      call,
      (options) => client.apps.listNamespacedDeployment({ namespace, labelSelector: selector }, options),
    );
    if (list.items.length === 0) {
      throw new MillwrightError(
        ErrorCode.NotFound,
        `no deployment in namespace ${namespace} matches selector ${selector}`,
        {
          hint: `check services.${service}.kubernetes.selector: kubectl get deployments -n ${namespace} -l '${selector}' --context ${client.context}`,
        },
      );
    }
    return [...list.items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }
  const names = spec.deployments.length > 0 ? spec.deployments : [service];
  return Promise.all(
    names.map((name) => {
      const checked = checkName(name, 'deployment', 'subdomain');
      return client.call(
        { verb: 'get', what: 'deployment', resource: 'deployments', namespace, name: checked },
        'read',
        call,
        (options) => client.apps.readNamespacedDeployment({ name: checked, namespace }, options),
      );
    }),
  );
}

export { namedDeployments } from './api-calls.js';

/** Deployments per list page, as kubectl asks for them. */
const LIST_PAGE = 500;

/**
 * Every deployment in a namespace by name, read in pages of 500 (one request for most namespaces).
 * `deploys` uses it when several services live in one namespace: one list instead of a get each.
 *
 * @example
 * const byName = await listNamespaceDeployments(cluster, 'shop', { signal });
 */
export async function listNamespaceDeployments(
  client: KubernetesClient,
  namespace: string,
  call: CallOptions,
): Promise<Map<string, V1Deployment>> {
  const checked = client.namespace(namespace);
  const byName = new Map<string, V1Deployment>();
  let next: string | undefined;
  do {
    const token = next;
    const page = await client.call(
      { verb: 'list', what: 'deployments', resource: 'deployments', namespace: checked },
      'read',
      call,
      (options) =>
        client.apps.listNamespacedDeployment(
          { namespace: checked, limit: LIST_PAGE, ...(token ? { _continue: token } : {}) },
          options,
        ),
    );
    for (const item of page.items) byName.set(item.metadata?.name ?? '', item);
    next = page.metadata?._continue || undefined;
  } while (next);
  return byName;
}

/** The named deployments out of a namespace listing; a missing one fails like a get would (not found). */
export function pickDeployments(
  byName: Map<string, V1Deployment>,
  names: readonly string[],
  namespace: string,
  context: string,
): V1Deployment[] {
  return names.map((name) => {
    const found = byName.get(name);
    if (found) return found;
    throw new MillwrightError(ErrorCode.NotFound, `deployment ${name} not found in namespace ${namespace}`, {
      hint: `check the name and namespace: kubectl get deployments -n ${namespace} --context ${context}`,
    });
  });
}

/**
 * Reads what a deployment's pods serve. A healthy rollout (every replica updated and available, no
 * old ones left) serves its template, so only the others cost the two calls for ReplicaSets and pods.
 *
 * @example
 * const reading = await readServing(cluster, deployment, 'checkout', { signal });
 * reading.serving // [{ version: '1.4.2', ready: 3, pods: 3, isNew: false }, { version: '1.5.0', ready: 0, pods: 1, isNew: true }]
 */
export async function readServing(
  client: KubernetesClient,
  deployment: V1Deployment,
  service: string,
  call: CallOptions,
): Promise<DeploymentReading> {
  const status = summarizeDeployment(deployment);
  if (status.state === 'healthy') return readingOf(deployment, service);
  return readingOf(deployment, service, await describeDeploymentObject(client, deployment, call));
}

/**
 * Judges a deployment and what its main container serves: from the pods when `description` is
 * given, else from the template (right only for a healthy rollout; `readServing` decides).
 *
 * @example
 * readingOf(deployment, 'checkout').running // { kind: 'version', version: '1.4.2', ... }
 */
export function readingOf(
  deployment: V1Deployment,
  service: string,
  description?: DeploymentDescription,
): DeploymentReading {
  const status = description?.status ?? summarizeDeployment(deployment);
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const mainContainer =
    containers.find((c) => c.name === status.name) ??
    containers.find((c) => c.name === service) ??
    containers[0];
  const main = mainContainer?.name;
  const annotation =
    deployment.spec?.template?.metadata?.annotations?.[SOURCE_REVISION_ANNOTATION] ??
    deployment.metadata?.annotations?.[SOURCE_REVISION_ANNOTATION] ??
    null;
  const verdict = description ? judgeRollout(description) : undefined;
  const serving: ServingGroup[] = verdict
    ? verdict.serving.map((group) => {
        const image = group.images.find((i) => i.container === main)?.image ?? null;
        return { ...group, image, version: image ? imageVersion(image) : '-' };
      })
    : [templateGroup(status, main)];
  // What serves is what most ready pods run; the annotation speaks for the template's image only.
  const top = [...serving].sort((a, b) => b.ready - a.ready || Number(b.isNew) - Number(a.isNew))[0];
  const image = top?.image ?? null;
  const running = !image
    ? null
    : top && top.ready === 0
      ? { kind: 'none' as const, why: `no pod of ${status.name} is ready, so nothing serves`, label: '-' }
      : runningRevision(image, image === mainContainer?.image ? annotation : null);
  return {
    status,
    container: main ?? null,
    image,
    running,
    serving,
    troubles: verdict?.troubles ?? [],
    outcome: verdict?.outcome ?? OUTCOME_OF_STATE[status.state],
    failure: verdict?.outcome === 'failed' ? verdict.message : undefined,
  };
}

/** Without the pods, the deployment's own word (kubectl's): only a healthy one is complete. */
const OUTCOME_OF_STATE = {
  healthy: 'complete',
  progressing: 'waiting',
  degraded: 'waiting',
  failed: 'failed',
  paused: 'paused',
} as const;

function templateGroup(status: DeploymentStatus, main: string | undefined): ServingGroup {
  const image = status.images.find((i) => i.container === main)?.image ?? null;
  return {
    revision: status.revision,
    image,
    version: image ? imageVersion(image) : '-',
    ready: status.replicas.ready,
    pods: status.replicas.current,
    isNew: true,
  };
}
