// The newest deployments of many repositories in one GraphQL query per batch: 200 services cost 4
// requests and a few points of the GraphQL budget, where REST would spend 400 core requests.
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import type { GitHubClient } from './client.js';
import { deploymentState, deploymentsPage, type GitHubDeployment, type ReadOptions } from './deployments.js';
import { type GitHubOperation, rateLimitFromHeaders, repositoryNotFound } from './failures.js';

/** One repository to read, and the environment wanted (all of them when absent). */
export interface LatestDeploymentsQuery {
  owner: string;
  repo: string;
  environment?: string | undefined;
}

/** Per repository, in the order asked: its newest deployments, or why they could not be read. */
export type LatestDeploymentsOutcome =
  | { ok: true; deployments: GitHubDeployment[] }
  | { ok: false; error: MillwrightError };

/** Repositories per query by default; GitHub allows 100 per connection, 500,000 nodes per query. */
export const DEFAULT_BATCH_SIZE = 50;

interface DeploymentNode {
  databaseId: number | null;
  environment: string | null;
  commitOid: string;
  task: string | null;
  description: string | null;
  createdAt: string;
  ref: { name: string } | null;
  creator: { __typename?: string; login: string } | null;
  latestStatus: {
    state: string;
    description: string | null;
    createdAt: string;
    logUrl: string | null;
    environmentUrl: string | null;
  } | null;
}

interface GraphqlError {
  type?: string;
  message?: string;
  path?: Array<string | number>;
}

const FIELDS =
  'nodes { databaseId environment commitOid task description createdAt ref { name } creator { __typename login } ' +
  'latestStatus { state description createdAt logUrl environmentUrl } }';

/**
 * The GraphQL document for `count` repositories: aliases r0..rN, variables $oN/$nN/$eN, so names are
 * never spliced into the query text.
 *
 * @example
 * latestDeploymentsQuery(2) // 'query MillwrightLatestDeployments($first: Int!, $o0: String!, ... r1: repository(...) ...'
 */
export function latestDeploymentsQuery(count: number): string {
  const variables = ['$first: Int!'];
  const fields = ['rateLimit { cost remaining resetAt }'];
  for (let i = 0; i < count; i++) {
    variables.push(`$o${i}: String!`, `$n${i}: String!`, `$e${i}: [String!]`);
    fields.push(
      `r${i}: repository(owner: $o${i}, name: $n${i}) { deployments(environments: $e${i}, first: $first, ` +
        `orderBy: {field: CREATED_AT, direction: DESC}) { ${FIELDS} } }`,
    );
  }
  return `query MillwrightLatestDeployments(${variables.join(', ')}) { ${fields.join(' ')} }`;
}

/** The variables for one batch of `latestDeploymentsQuery(batch.length)`. */
export function latestDeploymentsVariables(
  batch: readonly LatestDeploymentsQuery[],
  first: number,
): Record<string, unknown> {
  const variables: Record<string, unknown> = { first };
  batch.forEach((query, i) => {
    variables[`o${i}`] = query.owner;
    variables[`n${i}`] = query.repo;
    variables[`e${i}`] = query.environment === undefined ? null : [query.environment];
  });
  return variables;
}

/**
 * Reads the `first` newest deployments (with their latest status) of every repository, one GraphQL
 * request per `batchSize` repositories, `run` deciding how many requests are in flight. A repository
 * GitHub cannot resolve fails alone; a query GitHub cannot finish in time is asked again in halves; a
 * request that fails otherwise (rate limit, 5xx after retries) fails the repositories of its batch,
 * each with a message naming it.
 *
 * @example
 * const [checkout] = await readLatestDeployments(github, [{ owner: 'acme', repo: 'checkout', environment: 'production' }], { first: 10 });
 * if (checkout.ok) console.log(checkout.deployments[0]?.state);
 */
export async function readLatestDeployments(
  client: GitHubClient,
  queries: readonly LatestDeploymentsQuery[],
  options: ReadOptions & {
    first: number;
    batchSize?: number;
    /** Runs each request (a concurrency limiter); runs it directly by default. */
    run?: <T>(work: () => Promise<T>) => Promise<T>;
  },
): Promise<LatestDeploymentsOutcome[]> {
  const size = Math.max(1, Math.min(options.batchSize ?? DEFAULT_BATCH_SIZE, 100));
  const first = Math.max(1, Math.min(options.first, 100));
  const run = options.run ?? ((work) => work());
  const batches: LatestDeploymentsQuery[][] = [];
  for (let i = 0; i < queries.length; i += size) batches.push(queries.slice(i, i + size));
  const answers = await Promise.all(
    batches.map((batch) => run(() => readBatch(client, batch, first, options))),
  );
  return answers.flat();
}

async function readBatch(
  client: GitHubClient,
  batch: readonly LatestDeploymentsQuery[],
  first: number,
  options: ReadOptions,
): Promise<LatestDeploymentsOutcome[]> {
  const operationOf = (query: LatestDeploymentsQuery): GitHubOperation => ({
    verb: query.environment ? `list ${query.environment} deployments` : 'list deployments',
    owner: query.owner,
    repo: query.repo,
    write: false,
    permission: 'deployments' as const,
    ...options,
  });
  // GitHub gives up on a query that takes too long (502/504, or an error saying so); the same
  // repositories asked in halves usually answer. Inside the caller's slot, so the bound still holds.
  const inHalves = async () => {
    const half = Math.ceil(batch.length / 2);
    const front = await readBatch(client, batch.slice(0, half), first, options);
    return [...front, ...(await readBatch(client, batch.slice(half), first, options))];
  };
  let data: Record<string, unknown>;
  let errors: GraphqlError[] = [];
  let headers: Record<string, unknown> = {};
  try {
    data = await client.octokit.graphql<Record<string, unknown>>(latestDeploymentsQuery(batch.length), {
      ...latestDeploymentsVariables(batch, first),
      ...(options.signal ? { request: { signal: options.signal } } : {}),
    });
  } catch (error) {
    const answered = error as { name?: string; data?: unknown; errors?: unknown; headers?: unknown };
    if (answered.name !== 'GraphqlResponseError') {
      if (batch.length > 1 && !options.signal?.aborted && tooHeavy(error)) return inHalves();
      // No GraphQL answer at all (401, 403, 5xx, timeout): every repository of the batch says why.
      return batch.map((query) => ({ ok: false, error: client.describe(operationOf(query), error) }));
    }
    data = (answered.data ?? {}) as Record<string, unknown>;
    errors = Array.isArray(answered.errors) ? (answered.errors as GraphqlError[]) : [];
    headers = (answered.headers ?? {}) as Record<string, unknown>;
  }
  const whole = errors.find((error) => !error.path || error.path.length === 0);
  if (whole && batch.length > 1 && tooHeavyAnswer(whole)) return inHalves();
  return batch.map((query, i) => {
    const alias = `r${i}`;
    const own = errors.find((error) => error.path?.[0] === alias);
    const repository = data[alias] as { deployments?: { nodes?: Array<DeploymentNode | null> } } | null;
    if (own || whole || !repository?.deployments) {
      return { ok: false, error: graphqlFailure(client, operationOf(query), own ?? whole, headers) };
    }
    const nodes = repository.deployments.nodes ?? [];
    return {
      ok: true,
      deployments: nodes
        .filter((node): node is DeploymentNode => node !== null)
        .map((node) => toDeployment(client, query, node)),
    };
  });
}

/** A failed request that a smaller query may get through: GitHub's 502/504, or our own timeout. */
function tooHeavy(error: unknown): boolean {
  if (error instanceof MillwrightError) return error.code === ErrorCode.Timeout;
  const status = (error as { status?: unknown }).status;
  return status === 502 || status === 504;
}

/** GraphQL's own words for a query too big or too slow to answer. */
function tooHeavyAnswer(error: GraphqlError): boolean {
  return error.type === 'MAX_NODE_LIMIT_EXCEEDED' || /timeout|timed out/i.test(error.message ?? '');
}

/** A GraphQL error (HTTP 200) as the MillwrightError a REST read of the repository would give. */
function graphqlFailure(
  client: GitHubClient,
  operation: GitHubOperation,
  error: GraphqlError | undefined,
  headers: Record<string, unknown>,
): MillwrightError {
  const where = `${operation.owner}/${operation.repo}`;
  const said = redactText(String(error?.message ?? 'no data for the repository')).slice(0, 300);
  if (error?.type === 'NOT_FOUND') return repositoryNotFound(where);
  if (error?.type === 'RATE_LIMITED') {
    return rateLimitFromHeaders({ 'x-ratelimit-resource': 'graphql', ...headers }, client.clock.now());
  }
  if (error?.type === 'FORBIDDEN') {
    return new MillwrightError(
      ErrorCode.UpstreamError,
      `GitHub refused to ${operation.verb} in ${where}: ${said}`,
      {
        hint: 'check that the token may read deployments in this repository',
      },
    );
  }
  return new MillwrightError(
    ErrorCode.UpstreamError,
    `GitHub could not ${operation.verb} in ${where}: ${said}`,
    {
      hint: 'GitHub answered the query with an error; try again, or check https://www.githubstatus.com',
    },
  );
}

function toDeployment(
  client: GitHubClient,
  query: LatestDeploymentsQuery,
  node: DeploymentNode,
): GitHubDeployment {
  const status = node.latestStatus;
  const environment = node.environment ?? query.environment ?? '';
  return {
    id: node.databaseId ?? 0,
    environment,
    ref: node.ref?.name ?? node.commitOid,
    sha: node.commitOid,
    task: node.task ?? 'deploy',
    description: node.description ?? null,
    // GraphQL names a bot `github-actions`; REST (and the detail view) says `github-actions[bot]`.
    creator: node.creator ? botLogin(node.creator) : null,
    createdAt: node.createdAt,
    state: deploymentState(status?.state),
    stateAt: status?.createdAt ?? null,
    stateDescription: status?.description || null,
    link: status?.logUrl || deploymentsPage(client, query.owner, query.repo, environment),
    environmentUrl: status?.environmentUrl || null,
  };
}

function botLogin(creator: { __typename?: string; login: string }): string {
  return creator.__typename === 'Bot' && !creator.login.endsWith('[bot]')
    ? `${creator.login}[bot]`
    : creator.login;
}
