// The GitHub side of a service: its newest deployments and the last successful one, read in batches
// for the list (GraphQL) and per environment for the detail view (REST).
import type { MillwrightError } from '../core/errors.js';
import type { GitHubClient } from '../upstreams/github/client.js';
import { type GitHubDeployment, listDeployments } from '../upstreams/github/deployments.js';
import { readLatestDeployments } from '../upstreams/github/latest-deployments.js';
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
 * The newest deployments and the last successful one of every service, for the `deploys` list: one
 * GraphQL query per `batchSize` repositories reads the newest ten deployments of each, with their
 * latest status. Answers per service, in the order given; a failure belongs to its service(s) only.
 *
 * @example
 * const [checkout] = await readLatestSides(github, [{ repo: 'acme/checkout', environments: ['production'] }], { signal });
 * if (checkout.ok) checkout.side.lastSuccess?.sha // '0c1d2e3f...'
 */
export async function readLatestSides(
  client: GitHubClient,
  services: readonly ServiceGitHub[],
  options: {
    signal?: AbortSignal | undefined;
    batchSize?: number | undefined;
    run?: <T>(work: () => Promise<T>) => Promise<T>;
  } = {},
): Promise<Array<{ ok: true; side: GitHubSide } | { ok: false; error: MillwrightError }>> {
  const outcomes = await readLatestDeployments(
    client,
    services.map((github) => ({ ...repoParts(github), environment: primaryEnvironment(github) })),
    {
      first: SUCCESS_SEARCH_DEPTH,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.run ? { run: options.run } : {}),
    },
  );
  return outcomes.map((outcome, i) =>
    outcome.ok
      ? { ok: true, side: side(services[i]!, outcome.deployments, outcome.deployments.length) }
      : outcome,
  );
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
