// Shared set-up for the Kubernetes executor tests: a double with a scenario, an executor pointed at
// it through a kubeconfig, an execution context with a deadline, and a kubectl runner.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMillwrightError, type MillwrightError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import {
  createKubernetesExecutor,
  type KubernetesExecutorOptions,
} from '../../../src/executors/kubernetes/index.js';
import type { ExecutionContext } from '../../../src/executors/types.js';
import {
  type KubernetesApiDouble,
  type KubernetesScenario,
  loadKubernetesScenario,
  type StartKubernetesApiOptions,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';

export const CHECKOUT = '/apis/apps/v1/namespaces/shop/deployments/checkout';

export async function startCluster(
  scenario: KubernetesScenario = 'healthy',
  options: StartKubernetesApiOptions = {},
): Promise<KubernetesApiDouble> {
  return startKubernetesApi({ objects: loadKubernetesScenario(scenario), ...options });
}

export function executorFor(double: KubernetesApiDouble, options: Partial<KubernetesExecutorOptions> = {}) {
  return createKubernetesExecutor({
    kubeconfigPath: double.kubeconfigPath,
    allowedNamespaces: ['shop'],
    logger: silentLogger(),
    // Real backoff shape, tiny delays: the tests count attempts, never time them.
    retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

export function context(options: Partial<ExecutionContext> & { timeoutMs?: number } = {}): ExecutionContext {
  // Generous by default so a loaded CI machine never trips it; deadline tests pass their own.
  const { timeoutMs = 20_000, ...rest } = options;
  return {
    signal: new AbortController().signal,
    deadline: new Date(Date.now() + timeoutMs),
    dryRun: false,
    actor: 'ana',
    ref: 'test-ref',
    logger: silentLogger(),
    ...rest,
  };
}

/** The MillwrightError a promise rejects with (fails the test when it resolves or throws something else). */
export async function failureOf(promise: Promise<unknown>): Promise<MillwrightError> {
  try {
    await promise;
  } catch (error) {
    if (isMillwrightError(error)) return error;
    throw new Error(`expected a MillwrightError, got ${String(error)}`);
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Requests that reached the double's API paths (discovery and /version excluded). */
export function apiCalls(double: KubernetesApiDouble) {
  return double.requests.filter((r) =>
    /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/(namespaces\/[^/]+\/|[a-z]+$)/.test(r.path),
  );
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The kubectl binary the tests drive; MILLWRIGHT_TEST_KUBECTL picks another one (e.g. an older release). */
export const KUBECTL = process.env.MILLWRIGHT_TEST_KUBECTL ?? 'kubectl';

/**
 * Runs kubectl against the double with a private HOME and discovery cache, asynchronously (the
 * double lives in this process and must keep answering).
 */
export async function kubectl(
  double: KubernetesApiDouble,
  args: string[],
  timeoutMs = 30_000,
): Promise<KubectlResult> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'millwright-kubectl-'));
  try {
    return await new Promise<KubectlResult>((resolve, reject) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', double.kubeconfigPath, '--cache-dir', path.join(home, 'cache'), ...args],
        { env: { PATH: process.env.PATH ?? '', HOME: home }, timeout: timeoutMs, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(
              new Error(
                `${KUBECTL} is not installed: run apt-get install -y kubernetes-client (CI does, in .ci/run)`,
              ),
            );
            return;
          }
          resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
