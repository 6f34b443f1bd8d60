// One client per kubeconfig context, made once and reused, all sharing kept-open connections: what a
// reader of many services (`deploys`) needs instead of a new client and a TLS handshake per read.
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { UpstreamResilience } from '../../core/resilience.js';
import { connectKubernetes, type KubernetesClient, type RetryPolicy } from './client.js';
import { ConnectionPool } from './connection-pool.js';

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
  /** How long one request may go unanswered (kubernetes.timeout); default 10 s. */
  requestTimeoutMs?: number | undefined;
  /** The shared upstream policies (retries, one circuit per upstream); a private one when absent. */
  resilience?: UpstreamResilience | undefined;
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
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      ...(this.options.resilience ? { resilience: this.options.resilience } : {}),
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
