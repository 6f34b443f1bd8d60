// Keeps connections to an API server open between reads. @kubernetes/client-node 1.x makes a new
// https.Agent per request, so every read pays a TLS handshake; `deploys` over many services reuses one.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { KubernetesClient } from './client.js';

/** TLS settings that decide whether two agents may share connections. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/**
 * Swaps the per-request agent for a pooled keep-alive agent with the same TLS settings (CA, client
 * certificate, server name), so credentials that rotate get their own pool. Proxy agents are left alone.
 *
 * @example
 * const pool = new ConnectionPool();
 * await client.apps.readNamespacedDeployment({ name, namespace }, pool.withPooling(options));
 * pool.close();
 */
export class ConnectionPool {
  readonly #agents = new Map<string, http.Agent>();
  readonly #middleware: ObservableMiddleware = {
    pre: (request: RequestContext) => {
      const agent = request.getAgent();
      const pooled = agent ? this.#pooled(agent) : undefined;
      if (pooled) request.setAgent(pooled);
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };

  /**
   * The client with every call pooled, whatever read it serves (the executor's readers included).
   *
   * @example
   * const pooled = pool.wrap(connectKubernetes({ kubeconfigPath }));
   */
  wrap(client: KubernetesClient): KubernetesClient {
    return {
      ...client,
      namespace: (value) => client.namespace(value),
      call: (operation, effect, options, send) =>
        client.call(operation, effect, options, (request) => send(this.withPooling(request))),
    };
  }

  /** The per-call options with pooling added to whatever middleware they carry. */
  withPooling(options: ConfigurationOptions | undefined): ConfigurationOptions {
    return {
      ...options,
      middleware: [...(options?.middleware ?? []), this.#middleware],
      middlewareMergeStrategy: options?.middlewareMergeStrategy ?? 'append',
    };
  }

  /** Closes every pooled connection. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  #pooled(agent: http.Agent): http.Agent | undefined {
    const secure = agent.constructor === https.Agent;
    if (!secure && agent.constructor !== http.Agent) return undefined;
    const options = (agent as http.Agent & { options?: Record<string, unknown> }).options ?? {};
    const fingerprint = createHash('sha256');
    fingerprint.update(secure ? 'https' : 'http');
    const feed = (value: unknown): void => {
      if (Array.isArray(value)) for (const item of value) feed(item);
      else if (Buffer.isBuffer(value)) fingerprint.update(value);
      else if (value !== undefined) fingerprint.update(String(value));
    };
    for (const key of TLS_KEYS) {
      fingerprint.update(`\0${key}=`);
      feed(options[key]);
    }
    const id = fingerprint.digest('hex');
    let pooled = this.#agents.get(id);
    if (!pooled) {
      const tls = Object.fromEntries(
        TLS_KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
      );
      pooled = secure
        ? new https.Agent({ ...tls, keepAlive: true, maxSockets: 32 })
        : new http.Agent({ keepAlive: true, maxSockets: 32 });
      this.#agents.set(id, pooled);
    }
    return pooled;
  }
}
