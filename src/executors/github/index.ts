// Public face of the github executor: the workflow and deployment writes runbooks make. The client
// and the readers it shares with `deploys` live in src/upstreams/github.
export { createDeployment } from './create-deployment.js';
export { createGitHubExecutor, type GitHubExecutorOptions } from './executor.js';
export { dispatchWorkflow, rerunFailedJobs } from './workflows.js';
