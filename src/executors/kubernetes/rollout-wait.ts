// `rollout-status` as `kubectl rollout status` runs it: poll until the rollout is complete, and fail
// (naming pods and reasons) when it failed, cannot move, or did not finish in time.
import { setTimeout as sleepFor } from 'node:timers/promises';
import { formatDuration } from '../../core/duration.js';
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import type { CallOptions, KubernetesClient } from '../../upstreams/kubernetes/client.js';
import type { DeploymentTarget } from '../../upstreams/kubernetes/deployments.js';
import { type DeploymentDescription, describeDeployment } from '../../upstreams/kubernetes/describe.js';
import {
  describeServing,
  judgeRollout,
  type RolloutThresholds,
  type RolloutVerdict,
} from '../../upstreams/kubernetes/rollout-verdict.js';

/** How often a waiting `rollout-status` looks again, and how it sleeps (tests pass a fake). */
export interface RolloutPolling {
  intervalMs: number;
  sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export const DEFAULT_ROLLOUT_POLLING: RolloutPolling = {
  intervalMs: 2000,
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : {}),
};

export interface RolloutWait {
  /** Longest wait, measured on the client's clock; the caller's deadline bounds it too. */
  timeoutMs: number;
  thresholds: RolloutThresholds;
  polling: RolloutPolling;
}

export interface RolloutWaitResult {
  description: DeploymentDescription;
  verdict: RolloutVerdict;
  polls: number;
}

/**
 * Waits until the deployment's rollout is complete and returns the last look; throws
 * `millwright_rollout_failed` when it failed or is paused, `millwright_timeout` when time ran out.
 *
 * @example
 * await waitForRollout(cluster, { namespace: 'shop', name: 'checkout' }, wait, { signal, deadline });
 */
export async function waitForRollout(
  client: KubernetesClient,
  target: DeploymentTarget,
  wait: RolloutWait,
  call: CallOptions & { deadline?: Date } = {},
): Promise<RolloutWaitResult> {
  const started = client.clock.now().getTime();
  // The caller's deadline is wall-clock time, as the client reads it; leave a second of it to report
  // the last look instead of being cut off.
  const callerLeft = call.deadline ? call.deadline.getTime() - Date.now() - 1000 : Infinity;
  const budget = Math.max(0, Math.min(wait.timeoutMs, callerLeft));
  const where = `${target.namespace}/${target.name}`;
  for (let polls = 1; ; polls++) {
    const description = await describeDeployment(client, target, call);
    const verdict = judgeRollout(description, wait.thresholds);
    const serving = describeServing(verdict.serving);
    if (verdict.outcome === 'complete') return { description, verdict, polls };
    if (verdict.outcome === 'failed' || verdict.outcome === 'paused') {
      throw new MillwrightError(ErrorCode.RolloutFailed, `${where}: ${verdict.message}; serving ${serving}`, {
        hint: `look at the pods (kubernetes.list-pods, kubernetes.logs), then roll back or fix the image`,
      });
    }
    const elapsed = client.clock.now().getTime() - started;
    if (elapsed + wait.polling.intervalMs > budget) {
      throw new MillwrightError(
        ErrorCode.Timeout,
        `${where} did not finish rolling out within ${formatDuration(budget)}: ${verdict.message}; serving ${serving}`,
        { hint: 'the rollout may still finish; check again with deploys, or give the step a longer timeout' },
      );
    }
    await wait.polling.sleep(wait.polling.intervalMs, call.signal);
  }
}
