// GitHub Actions read as runbooks use them: workflows and their runs, and resolving a ref to the
// commit sha it points at. Dispatching and re-running are the github executor's.
import type { GitHubClient } from './client.js';
import { type ReadOptions, requestOptions } from './deployments.js';
import { collectPages } from './pages.js';

/** Workflow run states GitHub filters on (`status=` takes a status or a conclusion). */
export const RUN_STATES = [
  'completed',
  'action_required',
  'cancelled',
  'failure',
  'neutral',
  'skipped',
  'stale',
  'success',
  'timed_out',
  'in_progress',
  'queued',
  'requested',
  'waiting',
  'pending',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** One workflow run, flattened to plain JSON. */
export interface WorkflowRunSummary {
  id: number;
  /** The workflow's name, and its file (`deploy.yml`). */
  name: string;
  workflow: string;
  runNumber: number;
  branch: string | null;
  sha: string;
  event: string;
  /** queued, in_progress, completed, ...; `conclusion` is set once completed (success, failure, ...). */
  status: string | null;
  conclusion: string | null;
  attempt: number;
  actor: string | null;
  createdAt: string;
  updatedAt: string;
  url: string;
}

interface RunData {
  id: number;
  name?: string | null;
  path?: string;
  run_number: number;
  head_branch: string | null;
  head_sha: string;
  event: string;
  status: string | null;
  conclusion: string | null;
  run_attempt?: number;
  actor?: { login?: string } | null;
  created_at: string;
  updated_at: string;
  html_url: string;
}

/**
 * Newest workflow runs first, optionally of one workflow, branch or status (`failure`, `in_progress`...).
 *
 * @example
 * const [lastFailed] = await listWorkflowRuns(github, { owner: 'acme', repo: 'shop', workflow: 'deploy.yml', status: 'failure', limit: 1 });
 */
export async function listWorkflowRuns(
  client: GitHubClient,
  query: {
    owner: string;
    repo: string;
    workflow?: string | undefined;
    branch?: string | undefined;
    status?: RunState | undefined;
    limit?: number;
  },
  options: ReadOptions = {},
): Promise<WorkflowRunSummary[]> {
  const { owner, repo, workflow } = query;
  const limit = Math.max(1, Math.min(query.limit ?? 10, 1000));
  const filters = {
    per_page: Math.min(limit, 100),
    ...(query.branch ? { branch: query.branch } : {}),
    ...(query.status ? { status: query.status } : {}),
  };
  const operation = {
    verb: workflow ? `list runs of ${workflow}` : 'list workflow runs',
    owner,
    repo,
    ...(workflow ? { subject: `workflow ${workflow}` } : {}),
    write: false,
    permission: 'actions' as const,
    ...options,
  };
  return client.run(operation, async () => {
    const runs = await collectPages(
      client,
      workflow
        ? 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs'
        : 'GET /repos/{owner}/{repo}/actions/runs',
      { owner, repo, ...(workflow ? { workflow_id: workflow } : {}), ...filters },
      limit,
      (data) => (data as { workflow_runs: RunData[] }).workflow_runs,
      options.signal,
    );
    return runs.map(toRunSummary);
  });
}

/**
 * One workflow run by id.
 *
 * @example
 * const run = await getWorkflowRun(github, { owner: 'acme', repo: 'shop', runId: 30433642 });
 */
export async function getWorkflowRun(
  client: GitHubClient,
  query: { owner: string; repo: string; runId: number },
  options: ReadOptions = {},
): Promise<WorkflowRunSummary> {
  const { owner, repo, runId } = query;
  const operation = {
    verb: `read workflow run ${runId}`,
    owner,
    repo,
    subject: `workflow run ${runId}`,
    write: false,
    permission: 'actions' as const,
    ...options,
  };
  const response = await client.run(operation, () =>
    client.octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', {
      owner,
      repo,
      run_id: runId,
      request: requestOptions(options),
    }),
  );
  return toRunSummary(response.data as unknown as RunData);
}

/**
 * Checks that a workflow exists and reads its state (`active`, `disabled_manually`...).
 *
 * @example
 * const { state } = await getWorkflow(github, { owner: 'acme', repo: 'shop', workflow: 'deploy.yml' });
 */
export async function getWorkflow(
  client: GitHubClient,
  query: { owner: string; repo: string; workflow: string },
  options: ReadOptions = {},
): Promise<{ id: number; name: string; path: string; state: string; url: string }> {
  const { owner, repo, workflow } = query;
  const operation = {
    verb: `read workflow ${workflow}`,
    owner,
    repo,
    subject: `workflow ${workflow}`,
    write: false,
    permission: 'actions' as const,
    ...options,
  };
  const response = await client.run(operation, () =>
    client.octokit.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}', {
      owner,
      repo,
      workflow_id: workflow,
      request: requestOptions(options),
    }),
  );
  const data = response.data;
  return { id: data.id, name: data.name, path: data.path, state: data.state, url: data.html_url };
}

/**
 * The commit sha a branch, tag or short sha points at (`GET /commits/{ref}` with the sha media type,
 * so the answer is 40 characters, not the whole commit). A ref GitHub does not know is a NotFound.
 *
 * @example
 * const sha = await resolveRef(github, { owner: 'acme', repo: 'shop', ref: 'main' });
 */
export async function resolveRef(
  client: GitHubClient,
  query: { owner: string; repo: string; ref: string },
  options: ReadOptions = {},
): Promise<string> {
  const { owner, repo, ref } = query;
  const operation = {
    verb: `resolve ${ref}`,
    owner,
    repo,
    subject: `ref ${ref}`,
    write: false,
    permission: 'contents' as const,
    ...options,
  };
  // GitHub answers an unknown ref with 422 "No commit found for SHA: ..."; the failure mapping calls that a 404.
  const response = await client.run(operation, () =>
    client.octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', {
      owner,
      repo,
      ref,
      headers: { accept: 'application/vnd.github.sha' },
      request: requestOptions(options),
    }),
  );
  const data = response.data as unknown;
  const sha = typeof data === 'string' ? data.trim() : String((data as { sha?: unknown }).sha ?? '');
  return sha;
}

function toRunSummary(run: RunData): WorkflowRunSummary {
  return {
    id: run.id,
    name: run.name ?? '',
    workflow: (run.path ?? '').replace(/@.*$/, '').split('/').pop() ?? '',
    runNumber: run.run_number,
    branch: run.head_branch,
    sha: run.head_sha,
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    attempt: run.run_attempt ?? 1,
    actor: run.actor?.login ?? null,
    createdAt: run.created_at,
    updatedAt: run.updated_at,
    url: run.html_url,
  };
}
