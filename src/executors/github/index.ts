// Public face of the github executor and of the GitHub readers other features reuse (deploys).
export {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  type GitHubRetryOptions,
  webUrlFor,
} from './client.js';
export {
  createDeployment,
  type DeploymentState,
  type GitHubDeployment,
  listDeployments,
  type ReadOptions,
} from './deployments.js';
export { createGitHubExecutor, type GitHubExecutorOptions } from './executor.js';
export { describeGitHubFailure, type GitHubOperation, rateLimitError } from './failures.js';
export {
  dispatchWorkflow,
  getWorkflow,
  getWorkflowRun,
  listWorkflowRuns,
  rerunFailedJobs,
  resolveRef,
  type WorkflowRunSummary,
} from './workflows.js';
