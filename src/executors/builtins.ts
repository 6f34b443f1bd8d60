// The built-in executors (kubernetes, github, http), built from their config sections. An executor
// whose section is missing is still known, so runbooks load and lint, and a run says what to configure.

import type { MillwrightConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UpstreamResilience } from '../core/resilience.js';
import type { SecretSet } from '../core/secrets.js';
import type { GitHubClient } from '../upstreams/github/client.js';
import { createGitHubExecutor } from './github/executor.js';
import type { ExecutorHost } from './host.js';
import { createHttpExecutor } from './http/index.js';
import { DEFAULT_SCALE_BOUNDS, KUBERNETES_CONFIG_SCHEMA, kubernetesActions } from './kubernetes/metadata.js';
import { EXECUTOR_PROTOCOL_VERSION, type Executor } from './types.js';

/** The kubernetes executor's offer without loading its client (a large library) when no cluster is set. */
const UNCONFIGURED_KUBERNETES: Executor = {
  metadata: () => ({
    name: 'kubernetes',
    version: '1.0.0',
    protocolVersion: EXECUTOR_PROTOCOL_VERSION,
    description: 'Deployments through a kubeconfig context',
    configSchema: KUBERNETES_CONFIG_SCHEMA,
    actions: kubernetesActions(DEFAULT_SCALE_BOUNDS),
  }),
  execute: async () => ({ summary: '', output: {} }),
};

/** Keeps an executor's real metadata but answers every call with what to configure. */
function notConfigured(template: Executor, hint: string): Executor {
  const metadata = template.metadata();
  return {
    metadata: () => ({ ...metadata, description: `${metadata.description} (not configured)` }),
    execute: async () => {
      throw new MillwrightError(ErrorCode.NotConfigured, `${metadata.name} is not configured`, { hint });
    },
  } satisfies Executor;
}

export async function registerBuiltInExecutors(
  host: ExecutorHost,
  config: MillwrightConfig,
  options: {
    logger: Logger;
    clock: Clock;
    secrets: SecretSet;
    /** One GitHub client shared with `deploys`, so both respect one rate-limit gate. */
    github?: GitHubClient | undefined;
    /** The shared upstream policies (retries, one circuit per upstream); a private one when absent. */
    resilience?: UpstreamResilience | undefined;
  },
): Promise<void> {
  const { logger, clock } = options;
  const shared = options.resilience ? { resilience: options.resilience } : {};
  const kubernetes = config.kubernetes;
  if (kubernetes) {
    // Loaded only when a cluster is configured: the client library alone costs a quarter second.
    const { createKubernetesExecutor } = await import('./kubernetes/index.js');
    host.register(
      createKubernetesExecutor({
        ...(kubernetes.kubeconfig ? { kubeconfigPath: kubernetes.kubeconfig } : {}),
        ...(kubernetes.context ? { context: kubernetes.context } : {}),
        allowedNamespaces: kubernetes.allowedNamespaces,
        ...(kubernetes.scaleBounds ? { scaleBounds: kubernetes.scaleBounds } : {}),
        ...(kubernetes.rolloutPollInterval
          ? { rolloutPolling: { intervalMs: parseDuration(kubernetes.rolloutPollInterval) } }
          : {}),
        requestTimeoutMs: parseDuration(kubernetes.timeout),
        logger: logger.child({ executor: 'kubernetes' }),
        clock,
        ...shared,
      }),
    );
  } else {
    host.register(
      notConfigured(
        UNCONFIGURED_KUBERNETES,
        'set kubernetes.kubeconfig, kubernetes.context and kubernetes.allowedNamespaces in millwright.yml',
      ),
    );
  }
  const github = config.github;
  host.register(
    github
      ? createGitHubExecutor({
          baseUrl: github.baseUrl,
          token: github.token,
          ...(options.github ? { client: options.github } : {}),
          allowedRepos: github.allowedRepos,
          requestTimeoutMs: parseDuration(github.timeout),
          logger: logger.child({ executor: 'github' }),
          clock,
          ...shared,
        })
      : notConfigured(
          createGitHubExecutor({ logger }),
          'set github.token (and github.baseUrl for GitHub Enterprise) in millwright.yml',
        ),
  );
  const targets = config.http?.targets ?? {};
  host.register(
    Object.keys(targets).length > 0
      ? createHttpExecutor({
          targets,
          logger: logger.child({ executor: 'http' }),
          secrets: options.secrets,
          clock,
          ...shared,
        })
      : notConfigured(
          createHttpExecutor({ targets: {}, logger }),
          'add a target under http.targets in millwright.yml',
        ),
  );
}
