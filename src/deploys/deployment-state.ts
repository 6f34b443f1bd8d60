// A deployment's state as `deploys` shows it: Kubernetes' own word, except that new pods failing by
// the rules `rollout-status` fails a step by make it `failing` (or `failed` once Kubernetes gave up).
import type { DeploymentReading, ServiceState } from './types.js';

/**
 * The state and one-line message of one deployment.
 *
 * @example
 * deploymentState(reading) // { state: 'failing', message: 'deployment "cart" rollout failed: pod ... CrashLoopBackOff (9 restarts)' }
 */
export function deploymentState(reading: DeploymentReading): { state: ServiceState; message: string } {
  if (reading.outcome !== 'failed' || !reading.failure) {
    return { state: reading.status.state, message: reading.status.message };
  }
  return { state: reading.status.state === 'failed' ? 'failed' : 'failing', message: reading.failure };
}
