// Public face of the GitHub upstream: one client (retries, timeouts, the rate-limit gate) and the
// read-only readers the github executor and `deploys` share.
export {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  type GitHubRetryOptions,
  isTransientFailure as isTransientGitHubFailure,
  retryAfterMsOf as gitHubRetryAfterMs,
  statusOf as gitHubStatusOf,
  webUrlFor,
} from './client.js';
export {
  type DeploymentState,
  type GitHubDeployment,
  listDeployments,
  type ReadOptions,
} from './deployments.js';
export { describeGitHubFailure, type GitHubOperation, rateLimitError } from './failures.js';
export {
  DEFAULT_BATCH_SIZE,
  type LatestDeploymentsOutcome,
  type LatestDeploymentsQuery,
  readLatestDeployments,
} from './latest-deployments.js';
export {
  getWorkflow,
  getWorkflowRun,
  listWorkflowRuns,
  RUN_STATES,
  type RunState,
  resolveRef,
  type WorkflowRunSummary,
} from './workflows.js';
