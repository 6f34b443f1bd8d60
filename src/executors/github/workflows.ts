// The two workflow writes the github executor makes: start a workflow_dispatch run and re-run a
// run's failed jobs. Reading workflows and runs lives in src/upstreams/github.
import type { GitHubClient } from '../../upstreams/github/client.js';
import { type ReadOptions, requestOptions } from '../../upstreams/github/deployments.js';

/**
 * Starts a `workflow_dispatch` run (GitHub answers 204 and no run id; list runs to find it).
 *
 * @example
 * await dispatchWorkflow(github, { owner: 'acme', repo: 'shop', workflow: 'deploy.yml', ref: 'main', inputs: { service: 'checkout' } });
 */
export async function dispatchWorkflow(
  client: GitHubClient,
  input: {
    owner: string;
    repo: string;
    workflow: string;
    ref: string;
    inputs?: Record<string, string | number | boolean> | undefined;
  },
  options: ReadOptions = {},
): Promise<void> {
  const { owner, repo, workflow } = input;
  const operation = {
    verb: `dispatch workflow ${workflow} on ${input.ref}`,
    owner,
    repo,
    subject: `workflow ${workflow}`,
    write: true,
    permission: 'actions' as const,
    ...options,
  };
  // Workflow inputs are strings on GitHub's side; booleans and numbers are sent as their text.
  const inputs = input.inputs
    ? Object.fromEntries(Object.entries(input.inputs).map(([name, value]) => [name, String(value)]))
    : undefined;
  await client.run(operation, () =>
    client.octokit.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
      owner,
      repo,
      workflow_id: workflow,
      ref: input.ref,
      ...(inputs ? { inputs } : {}),
      request: requestOptions(options),
    }),
  );
}

/**
 * Re-runs the failed jobs of a completed run (GitHub answers 201; the run gets a new attempt).
 *
 * @example
 * await rerunFailedJobs(github, { owner: 'acme', repo: 'shop', runId: 30433642 });
 */
export async function rerunFailedJobs(
  client: GitHubClient,
  input: { owner: string; repo: string; runId: number },
  options: ReadOptions = {},
): Promise<void> {
  const { owner, repo, runId } = input;
  const operation = {
    verb: `re-run the failed jobs of run ${runId}`,
    owner,
    repo,
    subject: `workflow run ${runId}`,
    write: true,
    permission: 'actions' as const,
    ...options,
  };
  await client.run(operation, () =>
    client.octokit.request('POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs', {
      owner,
      repo,
      run_id: runId,
      request: requestOptions(options),
    }),
  );
}
