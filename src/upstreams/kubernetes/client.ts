// One connection to a cluster (a kubeconfig context) through @kubernetes/client-node: every call
// gets the caller's signal and deadline, bounded retries when safe, and errors a person can act on.

import os from 'node:os';
import path from 'node:path';
import {
  ApiException,
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { type Clock, systemClock } from '../../core/clock.js';
import { formatDuration } from '../../core/duration.js';
import { ErrorCode, isMillwrightError, MillwrightError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { parseRetryAfter, UpstreamResilience } from '../../core/resilience.js';
import { isConnectionError, isRetryableStatus } from '../../core/retry.js';
import { checkNamespace } from './names.js';

export interface RetryPolicy {
  /** Attempts for a read (or an idempotent write), including the first; default 3. */
  attempts?: number;
  /** First backoff in ms, doubled each retry; default 200. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface KubernetesClientOptions {
  /** Path of a kubeconfig file; `kubeconfigYaml` wins when both are given. */
  kubeconfigPath?: string;
  /** kubeconfig text. When neither is given, the default loading rules apply (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfigYaml?: string;
  /** Context to use instead of the kubeconfig's current-context. */
  context?: string;
  /** When given, every call refuses other namespaces before any request. */
  allowedNamespaces?: readonly string[];
  logger?: Logger;
  retries?: RetryPolicy;
  /** Deadline for a call whose caller gave none; default 10s. */
  defaultTimeoutMs?: number;
  /**
   * One request without an answer by then is cut (kubernetes.timeout, default 10 s): a read is
   * retried within the call's deadline, and the hang counts against the API server's circuit.
   */
  requestTimeoutMs?: number;
  clock?: Clock;
  /** The shared upstream policies (one circuit per API server); a private one when absent. */
  resilience?: UpstreamResilience;
}

/** What a call may carry from its caller. */
export interface CallOptions {
  signal?: AbortSignal;
  deadline?: Date;
}

/** What a call does, in the SRE's words, for messages and hints. */
export interface Operation {
  verb: 'get' | 'list' | 'patch' | 'update' | 'create' | 'delete';
  /** What a person calls it: `deployment`, `replicasets`, `pods`, `pod`, `rollout` */
  what: string;
  /** The RBAC resource the call needs (`deployments`, `deployments/scale`, `pods/log`). */
  resource: string;
  namespace: string;
  name?: string;
}

type Effect = 'read' | 'write' | 'idempotent-write';

/** A kubeconfig context made ready for calls. Create with `connectKubernetes`. */
export interface KubernetesClient {
  readonly context: string;
  readonly server: string;
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  /** Custom resources (Argo Rollouts' `argoproj.io/v1alpha1` rollouts). */
  readonly custom: CustomObjectsApi;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Checks a namespace against the allow-list (when one is configured). */
  namespace(value: unknown): string;
  /**
   * Runs one API call with the deadline and signal wired in, retried when `effect` allows it.
   * `send` gets the per-call options to hand to the client-node method.
   */
  call<T>(
    operation: Operation,
    effect: Effect,
    options: CallOptions,
    send: (request: ConfigurationOptions) => Promise<T>,
  ): Promise<T>;
}

class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

/** One request that had no answer within kubernetes.timeout; the call may still retry it. */
class RequestTimedOut extends Error {
  override readonly name = 'RequestTimedOut';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs}ms`);
  }
}

/**
 * Loads a kubeconfig and returns a client for one of its contexts.
 *
 * @example
 * const cluster = connectKubernetes({ kubeconfigPath: '~/.kube/config', context: 'prod', allowedNamespaces: ['shop'] });
 * const status = await getDeploymentStatus(cluster, { namespace: 'shop', name: 'checkout' });
 */
export function connectKubernetes(options: KubernetesClientOptions = {}): KubernetesClient {
  const kubeconfig = new KubeConfig();
  try {
    if (options.kubeconfigYaml !== undefined) kubeconfig.loadFromString(options.kubeconfigYaml);
    else if (options.kubeconfigPath !== undefined)
      kubeconfig.loadFromFile(expandHome(options.kubeconfigPath));
    else kubeconfig.loadFromDefault();
    if (options.context !== undefined) kubeconfig.setCurrentContext(options.context);
  } catch (error) {
    throw new MillwrightError(ErrorCode.NotConfigured, `cannot load the kubeconfig: ${firstLine(error)}`, {
      hint: 'check kubernetes.kubeconfig and kubernetes.context in millwright.yml',
      cause: error,
    });
  }
  const cluster = kubeconfig.getCurrentCluster();
  if (!cluster || !kubeconfig.getContextObject(kubeconfig.getCurrentContext())) {
    const contexts = kubeconfig.getContexts().map((c) => c.name);
    throw new MillwrightError(
      ErrorCode.NotConfigured,
      `kubeconfig context ${JSON.stringify(options.context ?? kubeconfig.getCurrentContext())} has no cluster`,
      {
        hint:
          contexts.length > 0
            ? `contexts in this kubeconfig: ${contexts.join(', ')}`
            : 'the kubeconfig lists no contexts',
      },
    );
  }
  const apps = kubeconfig.makeApiClient(AppsV1Api);
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const custom = kubeconfig.makeApiClient(CustomObjectsApi);
  const logger = options.logger ?? silentLogger();
  const clock = options.clock ?? systemClock;
  const retries = options.retries ?? {};
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const context = kubeconfig.getCurrentContext();
  const resilience =
    options.resilience ??
    new UpstreamResilience({ clock, ...(retries.sleep ? { sleep: retries.sleep } : {}) });
  const policy = resilience.policy({
    kind: 'kubernetes',
    target: cluster.server,
    name: `the Kubernetes API at ${cluster.server}`,
    limits: {
      ...(retries.attempts !== undefined ? { attempts: retries.attempts } : {}),
      ...(retries.baseDelayMs !== undefined ? { baseDelayMs: retries.baseDelayMs } : {}),
      ...(retries.maxDelayMs !== undefined ? { maxDelayMs: retries.maxDelayMs } : {}),
    },
  });

  return {
    context,
    server: cluster.server,
    apps,
    core,
    custom,
    clock,
    logger,
    namespace: (value) =>
      options.allowedNamespaces
        ? checkNamespace(value, options.allowedNamespaces)
        : checkNamespaceShape(value),
    call: async (operation, effect, callOptions, send) => {
      const deadline = callOptions.deadline ?? new Date(Date.now() + defaultTimeoutMs);
      const budgetMs = deadline.getTime() - Date.now();
      const controller = new AbortController();
      const onCallerAbort = () => controller.abort(callOptions.signal?.reason);
      if (callOptions.signal?.aborted) onCallerAbort();
      else callOptions.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const timer = setTimeout(() => controller.abort(new DeadlineReached()), Math.max(0, budgetMs));
      let attempts = 0;
      try {
        return await policy.call(
          async (attempt) => {
            attempts = attempt;
            if (controller.signal.aborted) throw controller.signal.reason;
            const cut = AbortSignal.timeout(requestTimeoutMs);
            try {
              return await send(withSignal(AbortSignal.any([controller.signal, cut])));
            } catch (error) {
              if (cut.aborted && !controller.signal.aborted) throw new RequestTimedOut(requestTimeoutMs);
              throw error;
            }
          },
          {
            idempotent: effect !== 'write',
            signal: controller.signal,
            transient: isTransient,
            // A hang that ran out the deadline counts against the API server; a cancel does not.
            counts: (error) =>
              controller.signal.reason instanceof DeadlineReached ||
              (!controller.signal.aborted && isTransient(error)),
            retryAfterMs: (error) => parseRetryAfter(retryAfterOf(error), clock.now()),
            onRetry: (error, attempt, delayMs) =>
              logger.warn(
                { context, operation, attempt, delayMs: Math.round(delayMs), status: statusOf(error) },
                'kubernetes call failed, retrying',
              ),
          },
        );
      } catch (error) {
        const reason = controller.signal.aborted ? controller.signal.reason : undefined;
        throw translateError(error, {
          operation,
          attempts,
          context,
          server: cluster.server,
          timedOut: reason instanceof DeadlineReached,
          timeoutMs: budgetMs,
          cancelled: controller.signal.aborted && !(reason instanceof DeadlineReached),
        });
      } finally {
        clearTimeout(timer);
        callOptions.signal?.removeEventListener('abort', onCallerAbort);
      }
    },
  };
}

function checkNamespaceShape(value: unknown): string {
  return checkNamespace(value, typeof value === 'string' ? [value] : []);
}

/** Per-call options that hand the abort signal to the request (client-node 1.x middleware). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (request: RequestContext) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** 5xx, 429 and dropped connections are worth another try; anything else is an answer. */
function isTransient(error: unknown): boolean {
  if (error instanceof DeadlineReached) return false;
  if (error instanceof RequestTimedOut) return true;
  const status = statusOf(error);
  if (status !== undefined) return isRetryableStatus(status);
  return isConnectionError(error);
}

function retryAfterOf(error: unknown): string | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const headers = (error.headers ?? {}) as Record<string, string | undefined>;
  return headers['retry-after'] ?? headers['Retry-After'];
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException && typeof error.code === 'number' ? error.code : undefined;
}

interface Failure {
  operation: Operation;
  attempts: number;
  context: string;
  server: string;
  timedOut: boolean;
  timeoutMs: number;
  cancelled: boolean;
}

interface UpstreamStatus {
  message?: string;
  reason?: string;
}

/** The `Status` object the API server sends with a failure, when the body holds one. */
export function upstreamStatus(error: ApiException<unknown>): UpstreamStatus {
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return { message: text.slice(0, 300) }; // not JSON: a proxy's HTML page or plain text
    }
  }
  if (body && typeof body === 'object') {
    const status = body as { kind?: unknown; message?: unknown; reason?: unknown };
    return {
      ...(typeof status.message === 'string' ? { message: status.message } : {}),
      ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
    };
  }
  return {};
}

function subject(op: Operation): string {
  return op.name === undefined
    ? `${op.what} in namespace ${op.namespace}`
    : `${op.what} ${op.namespace}/${op.name}`;
}

/** Turns whatever a call threw into a MillwrightError with the upstream status and a hint. */
function translateError(error: unknown, failure: Failure): MillwrightError {
  if (isMillwrightError(error)) return error;
  const { operation: op } = failure;
  if (error instanceof RequestTimedOut && !failure.timedOut && !failure.cancelled) {
    return new MillwrightError(
      ErrorCode.Timeout,
      `the Kubernetes API at ${failure.server} did not answer within ${formatDuration(error.timeoutMs)}${failure.attempts > 1 ? ` after ${failure.attempts} attempts` : ''} (${op.verb} ${subject(op)})`,
      {
        hint: `the API server behind context ${failure.context} may be overloaded or unreachable; kubernetes.timeout sets how long one request may take`,
        cause: error,
        details: { upstream: 'kubernetes', operation: op, attempts: failure.attempts },
      },
    );
  }
  if (failure.timedOut) {
    return new MillwrightError(
      ErrorCode.Timeout,
      `the Kubernetes API at ${failure.server} did not answer within ${formatDuration(Math.ceil(failure.timeoutMs / 100) * 100)} (${op.verb} ${subject(op)})`,
      {
        hint: `the API server behind context ${failure.context} may be overloaded or unreachable; try again, or give the step a longer timeout`,
        cause: error,
        details: { upstream: 'kubernetes', operation: op, attempts: failure.attempts },
      },
    );
  }
  if (failure.cancelled) {
    return new MillwrightError(
      ErrorCode.Cancelled,
      `cancelled while waiting for the Kubernetes API (${op.verb} ${subject(op)})`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof ApiException) {
    const status = error.code;
    const upstream = upstreamStatus(error);
    const details = {
      upstream: 'kubernetes',
      status,
      reason: upstream.reason,
      operation: op,
      attempts: failure.attempts,
    };
    const said = upstream.message ? `: ${upstream.message}` : '';
    const tries = failure.attempts > 1 ? ` after ${failure.attempts} attempts` : '';
    const make = (message: string, hint: string, code: ErrorCode = ErrorCode.UpstreamError) =>
      new MillwrightError(code, message, { hint, cause: error, details });
    switch (status) {
      case 404:
        return make(
          op.name === undefined
            ? `${op.what} not found in namespace ${op.namespace} (Kubernetes API 404)`
            : `${op.what} ${op.name} not found in namespace ${op.namespace}`,
          `check the name and namespace: kubectl get ${op.resource.split('/')[0]} -n ${op.namespace} --context ${failure.context}`,
        );
      case 409:
        return make(
          `conflict on ${subject(op)} (Kubernetes API 409 ${upstream.reason ?? 'Conflict'})${said}`,
          'someone or something changed it at the same time; look at its rollout status, then try again',
        );
      case 403:
        return make(
          `the Kubernetes API refused to ${op.verb} ${subject(op)} (403 Forbidden, RBAC)${said}`,
          `grant the bot's identity in context ${failure.context} "${op.verb}" on ${op.resource} in namespace ${op.namespace} (a Role and RoleBinding)`,
        );
      case 401:
        return make(
          `the Kubernetes API did not accept the bot's credentials (401 Unauthorized) for context ${failure.context}`,
          'check the token or client certificate of that kubeconfig user; it may have expired or been rotated',
        );
      case 422:
        return make(
          `the Kubernetes API rejected the change to ${subject(op)} (422 Invalid)${said}`,
          'fix the value the message names and run it again',
        );
      case 429:
        return make(
          `the Kubernetes API is throttling requests (429)${tries} while trying to ${op.verb} ${subject(op)}`,
          'wait a minute and try again; the cluster is under load',
          ErrorCode.RateLimited,
        );
      case 400:
        return make(
          `the Kubernetes API refused to ${op.verb} ${subject(op)} (400 BadRequest)${said}`,
          op.resource === 'pods/log'
            ? 'the container has not started (or never ran before); list-pods shows why'
            : 'check the request; the message says what the API server objected to',
        );
      default:
        return make(
          `the Kubernetes API failed to ${op.verb} ${subject(op)} (${status} ${upstream.reason ?? 'error'})${tries}${said}`,
          status >= 500
            ? `the API server or etcd behind context ${failure.context} may be unhealthy; try again shortly`
            : 'check the request; the message says what the API server objected to',
        );
    }
  }
  if (isConnectionError(error)) {
    return new MillwrightError(
      ErrorCode.DependencyUnavailable,
      `cannot reach the Kubernetes API at ${failure.server}${failure.attempts > 1 ? ` after ${failure.attempts} attempts` : ''} (${codeOf(error) ?? 'connection failed'})`,
      {
        hint: `check the server address of context ${failure.context} in the kubeconfig and the network path to it`,
        cause: error,
        details: { upstream: 'kubernetes', operation: op, attempts: failure.attempts },
      },
    );
  }
  const code = codeOf(error);
  if (code && /CERT|SELF_SIGNED|TLS|ALTNAME|SSL/.test(code)) {
    return new MillwrightError(
      ErrorCode.DependencyUnavailable,
      `the Kubernetes API at ${failure.server} presented a certificate the bot does not trust (${code})`,
      {
        hint: `check certificate-authority-data of the cluster in context ${failure.context}`,
        cause: error,
        details: { upstream: 'kubernetes', operation: op },
      },
    );
  }
  return new MillwrightError(
    ErrorCode.UpstreamError,
    `the Kubernetes call failed (${op.verb} ${subject(op)}): ${firstLine(error)}`,
    {
      hint: 'see the log line with this reference for the cause',
      cause: error,
      details: { upstream: 'kubernetes', operation: op, attempts: failure.attempts },
    },
  );
}

function codeOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, 200);
}

function expandHome(file: string): string {
  return file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file;
}
