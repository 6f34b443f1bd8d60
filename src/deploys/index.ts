// Public face of deployment status: the service, its answers, drift and image-to-commit rules.
import type { DeployService } from './deploy-service.js';
import type { DeployHistory, RecentDeploy } from './types.js';

export { Limiter } from './bounded.js';
export {
  type Concurrency,
  createDeployService,
  DEFAULT_CONCURRENCY,
  DeployService,
  type DeployServiceOptions,
  type WatchOptions,
} from './deploy-service.js';
export { combineDrift, type DriftStatus, type DriftVerdict, driftLabel, judgeDrift } from './drift.js';
export { DETAIL_DEPLOYMENTS, SUCCESS_SEARCH_DEPTH } from './github-history.js';
export {
  compareRevision,
  type ImageReference,
  imageVersion,
  parseImage,
  type RunningRevision,
  runningRevision,
  SOURCE_REVISION_ANNOTATION,
  shortSha,
} from './image-revision.js';
export * from './types.js';

/**
 * Deploys of `service` since `since`, newest first, in the shape the incident brief ranks as
 * suspects (`DeployHistory`): GitHub deployments and rollouts the cluster made on its own.
 *
 * @example
 * const suspects = await recentDeploys(deploys, 'checkout', new Date(Date.now() - 6 * 3_600_000));
 * // [{ at: '2026-11-26T12:21:00Z', what: 'production deployment v1.42.0 (0c1d2e3): success', by: 'ana', link: 'https://...' }]
 */
export function recentDeploys(deploys: DeployService, service: string, since: Date): Promise<RecentDeploy[]> {
  return deploys.recentDeploys(service, since);
}

/** The `DeployHistory` the incident service takes, backed by `deploys`. */
export function deployHistory(deploys: DeployService): DeployHistory {
  return { recentDeploys: (service, since, options) => deploys.recentDeploys(service, since, options) };
}
export { type Deploys, emptyCatalogDeploys } from './deploys.js';
