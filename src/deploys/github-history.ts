// The GitHub side of a service: its newest deployments and the last successful one, read with as
// few requests as the question needs (the newest alone usually answers both).
import type { GitHubClient } from '../executors/github/client.js';
import { type GitHubDeployment, listDeployments } from '../executors/github/deployments.js';
import type { GitHubSide, ServiceGitHub } from './types.js';

/** How far back the last successful deployment is looked for. */
export const SUCCESS_SEARCH_DEPTH = 10;
/** How many deployments the detail view lists. */
export const DETAIL_DEPLOYMENTS = 5;

function repoParts(github: ServiceGitHub): { owner: string; repo: string } {
  const [owner = '', repo = ''] = github.repo.split('/');
  return { owner, repo };
}

/** The environment the cluster side runs: the first one listed (all of them when none is). */
export function primaryEnvironment(github: ServiceGitHub): string | undefined {
  return github.environments[0];
}

/**
 * The newest deployment and the last successful one, for the `deploys` list. Two requests when the
 * newest succeeded (the list and its status); otherwise the newest ten are read to find a success.
 *
 * @example
 * const side = await readLatestDeployments(github, { repo: 'acme/checkout', environments: ['production'] }, signal);
 * side.lastSuccess?.sha // '0c1d2e3f...'
 */
export async function readLatestDeployments(
  client: GitHubClient,
  github: ServiceGitHub,
  signal: AbortSignal | undefined,
): Promise<GitHubSide> {
  const environment = primaryEnvironment(github);
  const query = { ...repoParts(github), environment };
  const read = signal ? { signal } : {};
  const newest = await listDeployments(client, { ...query, limit: 1 }, read);
  const latest = newest[0];
  if (!latest || latest.state === 'success') {
    return side(github, newest, newest.length);
  }
  const deeper = await listDeployments(client, { ...query, limit: SUCCESS_SEARCH_DEPTH }, read);
  return side(github, deeper, deeper.length);
}

/**
 * Deployments to every environment of the service, newest first, with the last success in the first
 * environment, for `deploys SERVICE`.
 *
 * @example
 * const side = await readDeploymentHistory(github, catalog.github, signal);
 * side.recent.slice(0, 5) // the five newest, any environment
 */
export async function readDeploymentHistory(
  client: GitHubClient,
  github: ServiceGitHub,
  signal: AbortSignal | undefined,
  depth = SUCCESS_SEARCH_DEPTH,
): Promise<GitHubSide> {
  const environments = github.environments.length > 0 ? github.environments : [undefined];
  const read = signal ? { signal } : {};
  const lists = await Promise.all(
    environments.map((environment) =>
      listDeployments(client, { ...repoParts(github), environment, limit: depth }, read),
    ),
  );
  const primary = lists[0] ?? [];
  const merged = lists.flat().sort(newestFirst);
  return { ...side(github, primary, primary.length), recent: merged };
}

function side(github: ServiceGitHub, newestFirstList: GitHubDeployment[], searched: number): GitHubSide {
  return {
    repo: github.repo,
    environment: primaryEnvironment(github) ?? 'any environment',
    latest: newestFirstList[0],
    lastSuccess: newestFirstList.find((deployment) => deployment.state === 'success'),
    searched,
    recent: newestFirstList,
  };
}

function newestFirst(a: GitHubDeployment, b: GitHubDeployment): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id - a.id;
}
