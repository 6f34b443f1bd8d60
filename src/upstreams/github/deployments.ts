// GitHub deployments as the on-call sees them: what went where, from which ref and sha, who did
// it, and how its latest status reads. Shared by the github executor and by `deploys`.
import type { GitHubClient } from './client.js';
import { collectPages } from './pages.js';

/** Latest deployment status GitHub knows, or `created` when none was posted yet. */
export type DeploymentState =
  | 'created'
  | 'queued'
  | 'pending'
  | 'in_progress'
  /** Waiting on an environment's protection rules (GraphQL only). */
  | 'waiting'
  | 'success'
  | 'failure'
  | 'error'
  | 'inactive';

/** One deployment, flattened to plain JSON. */
export interface GitHubDeployment {
  id: number;
  environment: string;
  ref: string;
  sha: string;
  task: string;
  description: string | null;
  /** Login of whoever created it (a person or a bot such as github-actions[bot]). */
  creator: string | null;
  /** ISO 8601. */
  createdAt: string;
  state: DeploymentState;
  /** When the latest status was posted (ISO 8601), and its text. */
  stateAt: string | null;
  stateDescription: string | null;
  /** Where to look: the status's log or target URL, else the repository's deployments page. */
  link: string;
  /** The deployed app's URL, when the status gave one. */
  environmentUrl: string | null;
}

/** How a read is bounded in time, passed through to every request. */
export interface ReadOptions {
  signal?: AbortSignal;
  deadline?: Date;
}

/** A deployment as the REST API answers it. */
export interface DeploymentData {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description?: string | null;
  creator?: { login?: string } | null;
  created_at: string;
}

interface StatusData {
  state: string;
  description?: string | null;
  created_at: string;
  log_url?: string | null;
  target_url?: string | null;
  environment_url?: string | null;
}

const STATES = new Set<string>([
  'queued',
  'pending',
  'in_progress',
  'waiting',
  'success',
  'failure',
  'error',
  'inactive',
]);

/**
 * A status state as GitHub writes it (REST `in_progress`, GraphQL `IN_PROGRESS`), or `created`
 * when there is no status yet or one this code does not know.
 *
 * @example
 * deploymentState('SUCCESS') // 'success'
 */
export function deploymentState(raw: string | undefined): DeploymentState {
  const state = raw?.toLowerCase();
  return state !== undefined && STATES.has(state) ? (state as DeploymentState) : 'created';
}

/**
 * The newest deployments of a repository (optionally one environment), each with its latest status.
 * Makes one list request (more pages only past 100) plus one status request per deployment, four at a time.
 *
 * @example
 * const [latest] = await listDeployments(github, { owner: 'acme', repo: 'shop', environment: 'production', limit: 5 });
 * if (latest?.state === 'success') console.log(`${latest.sha} is live, deployed by ${latest.creator}`);
 */
export async function listDeployments(
  client: GitHubClient,
  query: { owner: string; repo: string; environment?: string | undefined; limit?: number },
  options: ReadOptions = {},
): Promise<GitHubDeployment[]> {
  const { owner, repo } = query;
  const limit = Math.max(1, Math.min(query.limit ?? 5, 1000));
  const operation = {
    verb: query.environment ? `list ${query.environment} deployments` : 'list deployments',
    owner,
    repo,
    write: false,
    permission: 'deployments' as const,
    ...options,
  };
  return client.run(operation, async () => {
    const found = await collectPages(
      client,
      'GET /repos/{owner}/{repo}/deployments',
      {
        owner,
        repo,
        per_page: Math.min(limit, 100),
        ...(query.environment ? { environment: query.environment } : {}),
      },
      limit,
      (data) => data as DeploymentData[],
      options.signal,
    );
    const wanted = found;
    const statuses = await mapBounded(wanted, 4, (deployment) =>
      latestStatus(client, owner, repo, deployment.id, options),
    );
    return wanted.map((deployment, index) => toDeployment(client, owner, repo, deployment, statuses[index]));
  });
}

async function latestStatus(
  client: GitHubClient,
  owner: string,
  repo: string,
  deploymentId: number,
  options: ReadOptions,
): Promise<StatusData | undefined> {
  // Statuses come newest first; the first one is the current state.
  const response = await client.octokit.request(
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    {
      owner,
      repo,
      deployment_id: deploymentId,
      per_page: 1,
      request: requestOptions(options),
    },
  );
  return (response.data as StatusData[])[0];
}

/** A REST deployment and its latest status, flattened to plain JSON. */
export function toDeployment(
  client: GitHubClient,
  owner: string,
  repo: string,
  deployment: DeploymentData,
  status: StatusData | undefined,
): GitHubDeployment {
  const state = deploymentState(status?.state);
  const page = deploymentsPage(client, owner, repo, deployment.environment);
  return {
    id: deployment.id,
    environment: deployment.environment,
    ref: deployment.ref,
    sha: deployment.sha,
    task: deployment.task,
    description: deployment.description ?? null,
    creator: deployment.creator?.login ?? null,
    createdAt: deployment.created_at,
    state,
    stateAt: status?.created_at ?? null,
    stateDescription: status?.description || null,
    link: status?.log_url || status?.target_url || page,
    environmentUrl: status?.environment_url || null,
  };
}

/** The repository's deployments page for an environment, the link when a status gave none. */
export function deploymentsPage(
  client: GitHubClient,
  owner: string,
  repo: string,
  environment: string,
): string {
  return `${client.webUrl}/${owner}/${repo}/deployments/${encodeURIComponent(environment)}`;
}

/** Octokit's per-call request options: the caller's signal, when there is one. */
export function requestOptions(options: ReadOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

/** Maps with at most `limit` calls in flight, keeping order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
