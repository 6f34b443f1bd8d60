// Creating a GitHub deployment: the one deployment write the github executor makes; reading
// deployments lives with the GitHub client in src/upstreams/github.
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import type { GitHubClient } from '../../upstreams/github/client.js';
import {
  type DeploymentData,
  type GitHubDeployment,
  type ReadOptions,
  requestOptions,
  toDeployment,
} from '../../upstreams/github/deployments.js';

/**
 * Creates a deployment (GitHub answers 201). With `autoMerge` GitHub may instead merge the default
 * branch into `ref` and answer 202; that is reported as a refusal, since nothing was deployed.
 *
 * @example
 * const deployment = await createDeployment(github, { owner: 'acme', repo: 'shop', ref: 'main', environment: 'production' });
 */
export async function createDeployment(
  client: GitHubClient,
  input: {
    owner: string;
    repo: string;
    ref: string;
    environment: string;
    task?: string;
    description?: string | undefined;
    autoMerge?: boolean;
    requiredContexts?: string[] | undefined;
  },
  options: ReadOptions = {},
): Promise<GitHubDeployment> {
  const { owner, repo } = input;
  const verb = `create a ${input.environment} deployment of ${input.ref}`;
  const response = await client.run(
    { verb, owner, repo, write: true, permission: 'deployments', ...options },
    () =>
      client.octokit.request('POST /repos/{owner}/{repo}/deployments', {
        owner,
        repo,
        ref: input.ref,
        environment: input.environment,
        task: input.task ?? 'deploy',
        auto_merge: input.autoMerge ?? false,
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.requiredContexts === undefined ? {} : { required_contexts: input.requiredContexts }),
        request: requestOptions(options),
      }),
  );
  const data = response.data as Partial<DeploymentData> & { message?: string };
  if (response.status === 202 || typeof data.id !== 'number') {
    throw new MillwrightError(
      ErrorCode.UpstreamError,
      `GitHub did not create the deployment in ${owner}/${repo}: ${data.message ?? `it answered ${response.status}`}`,
      {
        hint: 'GitHub merged the default branch into the ref instead; run it again to deploy the merged ref',
        details: { status: response.status },
      },
    );
  }
  return toDeployment(client, owner, repo, data as DeploymentData, undefined);
}
