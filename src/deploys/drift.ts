// Drift: whether the cluster runs what GitHub last deployed successfully to the service's
// environment, and in plain words why not (or why Millwright cannot tell).
import type { GitHubDeployment } from '../upstreams/github/index.js';
import {
  compareRevision,
  type RunningRevision,
  SOURCE_REVISION_ANNOTATION,
  shortSha,
} from './image-revision.js';

/** `in-sync` and `rolling-out` are fine; `drift` is a flag; `unknown` says what is missing. */
export type DriftStatus = 'in-sync' | 'drift' | 'rolling-out' | 'unknown';

export interface DriftVerdict {
  status: DriftStatus;
  /** One sentence an SRE can act on. */
  reason: string;
}

/** What drift is judged from, for one deployment. */
export interface DriftEvidence {
  running: RunningRevision;
  environment: string;
  /** The newest GitHub deployment to the environment, whatever its state. */
  latest?: GitHubDeployment | undefined;
  /** The newest successful one among the `searched` newest. */
  lastSuccess?: GitHubDeployment | undefined;
  searched: number;
}

const IN_FLIGHT = new Set(['created', 'queued', 'pending', 'in_progress', 'waiting']);
const HOW_TO_TELL = `tag images with the commit sha (sha-COMMIT works too), or set the ${SOURCE_REVISION_ANNOTATION} annotation on the pod template`;

const named = (deployment: GitHubDeployment) => `${deployment.ref} (${shortSha(deployment.sha)})`;

/**
 * Compares the running image with the last successful GitHub deployment. A newer deployment still
 * in flight that matches the image is `rolling-out`, not drift.
 *
 * @example
 * judgeDrift({ running: runningRevision('acme/checkout:1.4.2'), environment: 'production', lastSuccess, latest: lastSuccess, searched: 1 })
 * // { status: 'in-sync', reason: 'runs 1.4.2, the last successful production deployment v1.4.2 (0c1d2e3)' }
 */
export function judgeDrift(evidence: DriftEvidence): DriftVerdict {
  const { running, environment, latest, lastSuccess } = evidence;
  if (running.kind === 'none') {
    return { status: 'unknown', reason: `${running.why}; ${HOW_TO_TELL}` };
  }
  if (latest && latest !== lastSuccess && IN_FLIGHT.has(latest.state)) {
    const toLatest = compareRevision(running, latest);
    if (toLatest === 'same' && (!lastSuccess || compareRevision(running, lastSuccess) !== 'same')) {
      return {
        status: 'rolling-out',
        reason: `runs ${running.label}, which ${environment} deployment ${named(latest)} is still rolling out (${latest.state.replace('_', ' ')})`,
      };
    }
  }
  if (!lastSuccess) {
    return {
      status: 'unknown',
      reason:
        evidence.searched === 0
          ? `GitHub lists no ${environment} deployments to compare ${running.label} with`
          : `no successful ${environment} deployment among the last ${evidence.searched} on GitHub to compare ${running.label} with`,
    };
  }
  const match = compareRevision(running, lastSuccess);
  if (match === 'same') {
    return {
      status: 'in-sync',
      reason: `runs ${running.label}, the last successful ${environment} deployment ${named(lastSuccess)}`,
    };
  }
  if (match === 'incomparable') {
    return {
      status: 'unknown',
      reason: `image tag ${running.label} is a release version, but the last successful ${environment} deployment names ref ${lastSuccess.ref}, so Millwright cannot tell which commit runs; ${HOW_TO_TELL}`,
    };
  }
  const failedLatest =
    latest &&
    latest !== lastSuccess &&
    !IN_FLIGHT.has(latest.state) &&
    compareRevision(running, latest) === 'same'
      ? `, from ${environment} deployment ${named(latest)} that GitHub marks ${latest.state}`
      : '';
  return {
    status: 'drift',
    reason: `runs ${running.label}${failedLatest}, but the last successful ${environment} deployment is ${named(lastSuccess)}${lastSuccess.creator ? ` by ${lastSuccess.creator}` : ''}`,
  };
}

const DRIFT_RANK: Record<DriftStatus, number> = { drift: 0, unknown: 1, 'rolling-out': 2, 'in-sync': 3 };

/**
 * One verdict for a service with several deployments: the worst wins (drift, unknown, rolling out,
 * in sync), with the reasons of the deployments that share it.
 *
 * @example
 * combineDrift([{ name: 'api', verdict: inSync }, { name: 'worker', verdict: drifted }]).status // 'drift'
 */
export function combineDrift(verdicts: Array<{ name: string; verdict: DriftVerdict }>): DriftVerdict {
  if (verdicts.length === 0) return { status: 'unknown', reason: 'no deployment to compare' };
  const worst = Math.min(...verdicts.map((v) => DRIFT_RANK[v.verdict.status]));
  const sharing = verdicts.filter((v) => DRIFT_RANK[v.verdict.status] === worst);
  const status = sharing[0]!.verdict.status;
  if (verdicts.length === 1) return sharing[0]!.verdict;
  return { status, reason: sharing.map((v) => `${v.name} ${v.verdict.reason}`).join('; ') };
}

/** The drift column: `no`, `DRIFT`, `rolling out`, `unknown`. */
export function driftLabel(status: DriftStatus): string {
  return { 'in-sync': 'no', drift: 'DRIFT', 'rolling-out': 'rolling out', unknown: 'unknown' }[status];
}
