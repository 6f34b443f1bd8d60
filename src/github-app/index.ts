// Public face of the GitHub App: its config section, the webhook route and the review comment.
export { type GitHubAppConfig, githubAppSchema } from './config.js';
export { checkGitHubApp, serviceFor } from './mapping.js';
export { commentFor, pipelineOf } from './protection-rules.js';
export { GITHUB_WEBHOOK_ROUTE } from './webhook-route.js';
