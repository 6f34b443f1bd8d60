// The Kubernetes side of a service: one client per kubeconfig context (made once, reused), and the
// service's deployments read by name or by label selector, with what commit each one runs.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  type CallOptions,
  checkName,
  connectKubernetes,
  type DeploymentStatus,
  type KubernetesClient,
  type RetryPolicy,
  summarizeDeployment,
} from '../executors/kubernetes/index.js';
import { ConnectionPool } from './connection-pool.js';
import { type RunningRevision, runningRevision, SOURCE_REVISION_ANNOTATION } from './image-revision.js';
import type { ServiceKubernetes } from './types.js';

/** One deployment of a service as `deploys` needs it. */
export interface DeploymentReading {
  status: DeploymentStatus;
  /** The container whose image is the service's version (named after the deployment, else the first). */
  container: string | null;
  image: string | null;
  running: RunningRevision | null;
}

export interface ClusterConnectionsOptions {
  /** kubeconfig path (config `kubernetes.kubeconfig`); the default loading rules when absent. */
  kubeconfigPath?: string | undefined;
  /** kubeconfig text, for tests and for embedding; wins over the path. */
  kubeconfigYaml?: string | undefined;
  /** Context for services that name none (config `kubernetes.context`). */
  defaultContext?: string | undefined;
  logger: Logger;
  clock: Clock;
  retries?: RetryPolicy | undefined;
  /** Deadline of one API call; default 10 s. */
  callTimeoutMs?: number | undefined;
}

/**
 * Clients per kubeconfig context, made on first use, sharing kept-open connections. A context that
 * cannot be loaded is not kept, so a kubeconfig mounted later is picked up on the next read.
 *
 * @example
 * const clusters = new ClusterConnections({ kubeconfigPath: '~/.kube/config', logger, clock });
 * const cluster = clusters.client('prod');
 */
export class ClusterConnections {
  readonly #clients = new Map<string, KubernetesClient>();
  readonly #pool = new ConnectionPool();

  constructor(private readonly options: ClusterConnectionsOptions) {}

  /** The client for `context` (or the default one); throws `millwright_not_configured` when it cannot load. */
  client(context?: string): KubernetesClient {
    const wanted = context ?? this.options.defaultContext;
    const key = wanted ?? '';
    const known = this.#clients.get(key);
    if (known) return known;
    const client = connectKubernetes({
      ...(this.options.kubeconfigYaml !== undefined
        ? { kubeconfigYaml: this.options.kubeconfigYaml }
        : this.options.kubeconfigPath !== undefined
          ? { kubeconfigPath: this.options.kubeconfigPath }
          : {}),
      ...(wanted !== undefined ? { context: wanted } : {}),
      logger: this.options.logger,
      clock: this.options.clock,
      ...(this.options.retries ? { retries: this.options.retries } : {}),
      defaultTimeoutMs: this.options.callTimeoutMs ?? 10_000,
    });
    const pooled = this.#pool.wrap(client);
    this.#clients.set(key, pooled);
    return pooled;
  }

  /** Closes the connections kept open between reads. */
  close(): void {
    this.#pool.close();
    this.#clients.clear();
  }
}

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

/** The deployment names a catalog entry reads one by one; undefined when it finds them by selector. */
export function namedDeployments(service: string, spec: ServiceKubernetes): string[] | undefined {
  if (spec.deployments.length === 0 && spec.selector) return undefined;
  return spec.deployments.length > 0 ? spec.deployments : [service];
}

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
 * Judges a raw deployment and reads what its main container runs.
 *
 * @example
 * readingOf(deployment, 'checkout').running // { kind: 'version', version: '1.4.2', ... }
 */
export function readingOf(deployment: V1Deployment, service: string): DeploymentReading {
  const status = summarizeDeployment(deployment);
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const main =
    containers.find((c) => c.name === status.name) ??
    containers.find((c) => c.name === service) ??
    containers[0];
  const annotation =
    deployment.spec?.template?.metadata?.annotations?.[SOURCE_REVISION_ANNOTATION] ??
    deployment.metadata?.annotations?.[SOURCE_REVISION_ANNOTATION] ??
    null;
  return {
    status,
    container: main?.name ?? null,
    image: main?.image ?? null,
    running: main?.image ? runningRevision(main.image, annotation) : null,
  };
}
