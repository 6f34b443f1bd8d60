// Keeps the GraphQL side of the GitHub double honest with GitHub's GraphQL reference, driven by the same
// @octokit/rest client Millwright uses: data, partial errors, pagination rules, points and rate limits.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Octokit } from '@octokit/rest';
import { type GitHubApiDouble, startGitHubApi } from './github-api.js';
import { githubGraphQLSchema, pointsFor } from './github-graphql.js';

const TOKEN = 'ghp_graphql_double_token';
const NOW = new Date('2026-03-10T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const BARE_SHA = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
// Octokit logs every failed request; the failures here are the point of the tests.
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The query Millwright's deploys overview sends: one aliased `repository` per service. */
function latestDeploymentsQuery(count: number): string {
  const declarations = Array.from(
    { length: count },
    (_, i) => `$o${i}: String!, $n${i}: String!, $e${i}: [String!]`,
  ).join(', ');
  const fields = Array.from(
    { length: count },
    (_, i) => `
  r${i}: repository(owner: $o${i}, name: $n${i}) {
    deployments(environments: $e${i}, first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {
        databaseId environment commitOid task description createdAt
        ref { name }
        creator { login }
        latestStatus { state description createdAt logUrl environmentUrl }
      }
    }
  }`,
  ).join('');
  return `query MillwrightLatestDeployments($first: Int!, ${declarations}) {
  rateLimit { cost remaining resetAt }${fields}
}`;
}

function latestDeploymentsVariables(
  repos: Array<{ fullName: string; environments?: string[] | null }>,
  first = 5,
): Record<string, unknown> {
  const variables: Record<string, unknown> = { first };
  repos.forEach(({ fullName, environments }, i) => {
    const [owner, name] = fullName.split('/');
    variables[`o${i}`] = owner;
    variables[`n${i}`] = name;
    variables[`e${i}`] = environments ?? null;
  });
  return variables;
}

interface DeploymentNode {
  databaseId: number;
  environment: string;
  commitOid: string;
  task: string;
  description: string | null;
  createdAt: string;
  ref: { name: string } | null;
  creator: { login: string };
  latestStatus: {
    state: string;
    description: string | null;
    createdAt: string;
    logUrl: string | null;
    environmentUrl: string | null;
  } | null;
}
type LatestDeployments = Record<string, { deployments: { nodes: DeploymentNode[] } } | null> & {
  rateLimit: { cost: number; remaining: number; resetAt: string };
};

/** What octokit.graphql throws for a 200 answer carrying `errors` (GraphqlResponseError). */
interface GraphqlFailure {
  name: string;
  errors: Array<{ type?: string; path?: string[]; locations?: unknown[]; message: string }>;
  data?: Record<string, unknown>;
  headers: Record<string, string>;
}
async function graphqlFailure(promise: Promise<unknown>): Promise<GraphqlFailure> {
  try {
    await promise;
  } catch (error) {
    return error as GraphqlFailure;
  }
  throw new Error('the GraphQL call was expected to fail');
}

let clock = NOW;
let github: GitHubApiDouble;
let octokit: Octokit;
let ids: Record<'tagged' | 'branch' | 'failed' | 'bare', number>;

beforeEach(async () => {
  clock = NOW;
  github = await startGitHubApi({
    token: TOKEN,
    now: () => clock,
    repos: [
      {
        name: 'acme/shop',
        refs: { main: 'a1'.repeat(20), 'v1.4.2': 'b2'.repeat(20), 'release-candidate': 'd4'.repeat(20) },
      },
      'acme/quiet',
    ],
  });
  const state = github.state;
  ids = {
    tagged: state.addDeployment('acme/shop', {
      ref: 'v1.4.2',
      environment: 'production',
      description: 'Release 1.4.2',
      createdAt: minutesAgo(180),
      creator: 'octocat',
      statuses: [
        { state: 'in_progress', createdAt: minutesAgo(179) },
        {
          state: 'success',
          description: 'Deployed',
          createdAt: minutesAgo(170),
          logUrl: 'https://ci.example.com/runs/1',
          environmentUrl: 'https://shop.example.com',
        },
      ],
    }).id,
    branch: state.addDeployment('acme/shop', {
      ref: 'main',
      environment: 'staging',
      createdAt: minutesAgo(120),
      creator: 'github-actions[bot]',
      statuses: [{ state: 'success', createdAt: minutesAgo(115) }],
    }).id,
    failed: state.addDeployment('acme/shop', {
      ref: 'release-candidate',
      environment: 'production',
      createdAt: minutesAgo(60),
      creator: 'hubot',
      statuses: [{ state: 'failure', description: 'Health check failed', createdAt: minutesAgo(55) }],
    }).id,
    bare: state.addDeployment('acme/shop', {
      ref: BARE_SHA,
      sha: BARE_SHA,
      environment: 'production',
      createdAt: minutesAgo(10),
      creator: 'octocat',
    }).id,
  };
  octokit = new Octokit({ baseUrl: github.url, auth: TOKEN, log: quiet });
});
afterEach(async () => {
  await github.close();
});

describe('GitHub GraphQL double: the deploys overview query', () => {
  it('answers the overview query over three repositories with partial data and a NOT_FOUND error', async () => {
    const variables = latestDeploymentsVariables([
      { fullName: 'acme/shop', environments: ['production'] },
      { fullName: 'acme/quiet' },
      { fullName: 'acme/ghost' },
    ]);
    const failure = await graphqlFailure(octokit.graphql(latestDeploymentsQuery(3), variables));

    expect(failure.name).toBe('GraphqlResponseError');
    expect(failure.errors).toEqual([
      {
        type: 'NOT_FOUND',
        path: ['r2'],
        locations: [{ line: 23, column: 3 }],
        message: "Could not resolve to a Repository with the name 'acme/ghost'.",
      },
    ]);
    const data = failure.data as LatestDeployments;
    expect(data.r2).toBeNull();
    expect(data.r1).toEqual({ deployments: { nodes: [] } });
    expect(data.rateLimit).toEqual({ cost: 1, remaining: 4999, resetAt: '2026-03-10T13:00:00Z' });
    // Production only, newest first.
    expect(data.r0?.deployments.nodes.map((node) => node.databaseId)).toEqual([
      ids.bare,
      ids.failed,
      ids.tagged,
    ]);
    expect(data.r0?.deployments.nodes[2]).toEqual({
      databaseId: ids.tagged,
      environment: 'production',
      commitOid: 'b2'.repeat(20),
      task: 'deploy',
      description: 'Release 1.4.2',
      createdAt: '2026-03-10T09:00:00Z',
      ref: { name: 'v1.4.2' },
      creator: { login: 'octocat' },
      latestStatus: {
        state: 'SUCCESS',
        description: 'Deployed',
        createdAt: '2026-03-10T09:10:00Z',
        logUrl: 'https://ci.example.com/runs/1',
        environmentUrl: 'https://shop.example.com',
      },
    });
    expect(github.count('POST', '/graphql')).toBe(1);
    const recorded = github.requests.at(-1);
    expect(recorded?.body).toEqual({ query: latestDeploymentsQuery(3), variables });
  });

  it('gives a bare-sha deployment a null ref, a bot its login without [bot], and no status a null latestStatus', async () => {
    const data = await octokit.graphql<LatestDeployments>(
      latestDeploymentsQuery(1),
      latestDeploymentsVariables([{ fullName: 'acme/shop' }], 10),
    );
    const byId = new Map(data.r0?.deployments.nodes.map((node) => [node.databaseId, node]));
    expect(byId.get(ids.bare)).toMatchObject({ ref: null, commitOid: BARE_SHA, latestStatus: null });
    expect(byId.get(ids.branch)?.creator).toEqual({ login: 'github-actions' });
    expect(byId.get(ids.branch)?.ref).toEqual({ name: 'main' });
    expect(byId.get(ids.failed)?.latestStatus).toMatchObject({
      state: 'FAILURE',
      description: 'Health check failed',
      logUrl: null,
      environmentUrl: null,
    });
  });

  it('tells branches from tags, names the actor types and derives the deployment state', async () => {
    const data = await octokit.graphql<{
      repository: {
        deployments: {
          nodes: Array<{
            databaseId: number;
            state: string;
            ref: { name: string; prefix: string; target: { oid: string } } | null;
            creator: { __typename: string; login: string; url: string };
          }>;
        };
      };
    }>(
      `query { repository(owner: "acme", name: "shop") {
        deployments(first: 10) { nodes { databaseId state ref { name prefix target { oid } } creator { __typename login url } } }
      } }`,
    );
    const byId = new Map(data.repository.deployments.nodes.map((node) => [node.databaseId, node]));
    expect(byId.get(ids.tagged)).toMatchObject({
      state: 'ACTIVE',
      ref: { name: 'v1.4.2', prefix: 'refs/tags/', target: { oid: 'b2'.repeat(20) } },
      creator: { __typename: 'User', login: 'octocat', url: 'https://github.com/octocat' },
    });
    expect(byId.get(ids.branch)).toMatchObject({
      ref: { name: 'main', prefix: 'refs/heads/' },
      creator: { __typename: 'Bot', login: 'github-actions', url: 'https://github.com/apps/github-actions' },
    });
    expect(byId.get(ids.failed)).toMatchObject({ state: 'FAILURE', ref: { prefix: 'refs/heads/' } });
    expect(byId.get(ids.bare)).toMatchObject({ state: 'PENDING', ref: null });
  });

  it('orders by creation ascending by default and descending when asked', async () => {
    const order = async (orderBy: string) => {
      const data = await octokit.graphql<{
        repository: { deployments: { nodes: Array<{ databaseId: number }> } };
      }>(
        `query { repository(owner: "acme", name: "shop") { deployments(first: 10${orderBy}) { nodes { databaseId } } } }`,
      );
      return data.repository.deployments.nodes.map((node) => node.databaseId);
    };
    expect(await order('')).toEqual([ids.tagged, ids.branch, ids.failed, ids.bare]);
    expect(await order(', orderBy: {field: CREATED_AT, direction: DESC}')).toEqual([
      ids.bare,
      ids.failed,
      ids.branch,
      ids.tagged,
    ]);
  });

  it('filters on the environments given, as stored', async () => {
    const staging = await octokit.graphql<LatestDeployments>(
      latestDeploymentsQuery(1),
      latestDeploymentsVariables([{ fullName: 'acme/shop', environments: ['staging'] }]),
    );
    expect(staging.r0?.deployments.nodes.map((node) => node.databaseId)).toEqual([ids.branch]);
    const upperCase = await octokit.graphql<LatestDeployments>(
      latestDeploymentsQuery(1),
      latestDeploymentsVariables([{ fullName: 'acme/shop', environments: ['Staging'] }]),
    );
    expect(upperCase.r0?.deployments.nodes).toEqual([]);
  });

  it('pages with first/after, endCursor, hasNextPage and totalCount', async () => {
    const query = `query Page($after: String) {
      repository(owner: "acme", name: "shop") {
        deployments(first: 3, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { databaseId }
        }
      }
    }`;
    type Page = {
      repository: {
        deployments: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          nodes: Array<{ databaseId: number }>;
        };
      };
    };
    const first = await octokit.graphql<Page>(query, { after: null });
    expect(first.repository.deployments.totalCount).toBe(4);
    expect(first.repository.deployments.nodes.map((node) => node.databaseId)).toEqual([
      ids.bare,
      ids.failed,
      ids.branch,
    ]);
    expect(first.repository.deployments.pageInfo.hasNextPage).toBe(true);
    const second = await octokit.graphql<Page>(query, {
      after: first.repository.deployments.pageInfo.endCursor,
    });
    expect(second.repository.deployments.nodes.map((node) => node.databaseId)).toEqual([ids.tagged]);
    expect(second.repository.deployments.pageInfo.hasNextPage).toBe(false);
    expect(second.repository.deployments.totalCount).toBe(4);
  });

  it('answers a cursor it never gave with INVALID_CURSOR_ARGUMENTS and a null repository', async () => {
    const failure = await graphqlFailure(
      octokit.graphql(
        'query { repository(owner: "acme", name: "shop") { deployments(first: 1, after: "bogus") { nodes { databaseId } } } }',
      ),
    );
    expect(failure.data).toEqual({ repository: null });
    expect(failure.errors).toEqual([
      {
        type: 'INVALID_CURSOR_ARGUMENTS',
        path: ['repository', 'deployments'],
        locations: [{ line: 1, column: 51 }],
        message: '`bogus` does not appear to be a valid cursor.',
      },
    ]);
  });

  it('lists statuses oldest first, so last: 1 is the latest', async () => {
    const data = await octokit.graphql<{
      repository: { deployments: { nodes: Array<{ statuses: { nodes: Array<{ state: string }> } }> } };
    }>(
      'query { repository(owner: "acme", name: "shop") { deployments(first: 1) { nodes { statuses(last: 1) { nodes { state } } } } } }',
    );
    expect(data.repository.deployments.nodes[0]?.statuses.nodes).toEqual([{ state: 'SUCCESS' }]);
  });

  it('answers the viewer as the token owner and serves the GHE path /api/graphql', async () => {
    const enterprise = new Octokit({ baseUrl: `${github.url}/api/v3`, auth: TOKEN });
    const data = await enterprise.graphql<{ viewer: { login: string } }>('query { viewer { login } }');
    expect(data.viewer.login).toBe('millwright-bot');
    expect(github.count('POST', '/api/graphql')).toBe(1);
  });
});

describe('GitHub GraphQL double: errors as GitHub formats them', () => {
  it('refuses first: 101 with EXCESSIVE_PAGINATION and no data', async () => {
    const response = await octokit.request('POST /graphql', {
      query: latestDeploymentsQuery(1),
      variables: latestDeploymentsVariables([{ fullName: 'acme/shop' }], 101),
    });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({
      errors: [
        {
          type: 'EXCESSIVE_PAGINATION',
          path: ['r0', 'deployments'],
          locations: [{ line: 4, column: 5 }],
          message:
            'Requesting 101 records on the `deployments` connection exceeds the `first` limit of 100 records.',
        },
      ],
    });
    // Refused queries are not charged.
    expect(response.headers['x-ratelimit-used']).toBe('0');
  });

  it('refuses a connection without first or last, unless it only counts', async () => {
    const failure = await graphqlFailure(
      octokit.graphql(
        'query { repository(owner: "acme", name: "shop") { deployments { nodes { databaseId } } } }',
      ),
    );
    expect(failure.data).toBeUndefined();
    expect(failure.errors).toEqual([
      {
        type: 'MISSING_PAGINATION_BOUNDARIES',
        path: ['repository', 'deployments'],
        locations: [{ line: 1, column: 51 }],
        message:
          'You must provide a `first` or `last` value to properly paginate the `deployments` connection.',
      },
    ]);
    const counted = await octokit.graphql<{ repository: { deployments: { totalCount: number } } }>(
      'query { repository(owner: "acme", name: "shop") { deployments { totalCount } } }',
    );
    expect(counted.repository.deployments.totalCount).toBe(4);
  });

  it('answers a parse error with 200, the location and graphql-ruby wording', async () => {
    const response = await octokit.request('POST /graphql', {
      query: 'query { repository(owner: "acme" name: ) }',
    });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({
      errors: [{ locations: [{ line: 1, column: 40 }], message: 'Parse error on ")" (RPAREN) at [1, 40]' }],
    });
  });

  it('answers an unknown field with 200, its path and the undefinedField code', async () => {
    const response = await octokit.request('POST /graphql', {
      query: 'query Q { viewer { login madeUpField } }',
    });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({
      errors: [
        {
          message: "Field 'madeUpField' doesn't exist on type 'User'",
          extensions: { code: 'undefinedField', typeName: 'User', fieldName: 'madeUpField' },
          locations: [{ line: 1, column: 26 }],
          path: ['query Q', 'viewer', 'madeUpField'],
        },
      ],
    });
  });

  it('answers a variable of the wrong type and a body without a query', async () => {
    const wrongType = await octokit.request('POST /graphql', {
      query: latestDeploymentsQuery(1),
      variables: { ...latestDeploymentsVariables([{ fullName: 'acme/shop' }]), first: 'five' },
    });
    expect(wrongType.data).toEqual({
      errors: [
        {
          message: 'Variable $first of type Int! was provided invalid value',
          locations: [{ line: 1, column: 35 }],
          extensions: {
            value: 'five',
            problems: [{ path: [], explanation: 'Could not coerce value "five" to Int' }],
          },
        },
      ],
    });
    const noQuery = await octokit.request('POST /graphql', { variables: {} });
    expect(noQuery.status).toBe(200);
    expect(noQuery.data).toEqual({
      errors: [{ message: 'A query attribute must be specified and must be a string.' }],
    });
  });

  it('answers a wrong token and no token with 401', async () => {
    const wrong = new Octokit({ baseUrl: github.url, auth: 'ghp_wrong', log: quiet });
    await expect(wrong.graphql('query { viewer { login } }')).rejects.toMatchObject({
      status: 401,
      response: {
        data: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/graphql' },
      },
    });
    const anonymous = new Octokit({ baseUrl: github.url, log: quiet });
    await expect(anonymous.graphql('query { viewer { login } }')).rejects.toMatchObject({
      status: 401,
      response: {
        data: {
          message: 'This endpoint requires you to be authenticated.',
          documentation_url:
            'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
        },
      },
    });
  });

  it('serves GraphQL over POST only', async () => {
    const response = await fetch(`${github.url}/graphql`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/graphql',
    });
  });
});

describe('GitHub GraphQL double: points and the graphql rate-limit window', () => {
  it('sends the graphql rate-limit headers and charges the documented cost', async () => {
    const response = await octokit.request('POST /graphql', {
      query: latestDeploymentsQuery(1),
      variables: latestDeploymentsVariables([{ fullName: 'acme/shop' }]),
    });
    expect(response.headers).toMatchObject({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(NOW.getTime() / 1000 + 3600),
      'x-ratelimit-resource': 'graphql',
    });
    // Two repositories x (1 request for deployments + 100 for their statuses) = 202 requests = 2 points.
    const nested = await octokit.graphql<{ rateLimit: { cost: number; used: number; nodeCount: number } }>(
      `query {
        rateLimit { cost used nodeCount }
        a: repository(owner: "acme", name: "shop") { deployments(first: 100) { nodes { statuses(first: 100) { nodes { state } } } } }
        b: repository(owner: "acme", name: "quiet") { deployments(first: 100) { nodes { statuses(first: 100) { nodes { state } } } } }
      }`,
    );
    expect(nested.rateLimit).toEqual({ cost: 2, used: 3, nodeCount: 2 * (100 + 100 * 100) });
    // The REST window did not move.
    const rest = await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'shop' });
    expect(rest.headers['x-ratelimit-resource']).toBe('core');
    expect(rest.headers['x-ratelimit-used']).toBe('1');
  });

  it('charges one point for fifty repositories in one query', async () => {
    const repos = Array.from({ length: 50 }, (_, i) => ({ fullName: i % 2 ? 'acme/shop' : 'acme/quiet' }));
    const data = await octokit.graphql<LatestDeployments>(
      latestDeploymentsQuery(50),
      latestDeploymentsVariables(repos),
    );
    expect(data.rateLimit.cost).toBe(1);
    expect(data.r49?.deployments.nodes).toHaveLength(4);
    expect(pointsFor(50)).toBe(1);
    expect(pointsFor(5101)).toBe(51);
  });

  it('answers a used-up graphql window with RATE_LIMITED while REST still answers', async () => {
    const resetAt = new Date(NOW.getTime() + 20 * 60_000);
    github.state.setRateLimit({ resource: 'graphql', remaining: 0, resetAt });
    const response = await octokit.request('POST /graphql', { query: 'query { viewer { login } }' });
    // GitHub's GraphQL docs: the status stays 200 when the primary limit is exceeded.
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(resetAt.getTime() / 1000),
      'x-ratelimit-resource': 'graphql',
    });
    expect(response.data).toEqual({
      errors: [
        {
          type: 'RATE_LIMITED',
          message: expect.stringMatching(/^API rate limit exceeded for user ID \d+\.$/),
        },
      ],
    });
    const failure = await graphqlFailure(octokit.graphql('query { viewer { login } }'));
    expect(failure.errors[0]?.type).toBe('RATE_LIMITED');
    const rest = await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'shop' });
    expect(rest.status).toBe(200);

    // A new window once the reset time has passed.
    clock = new Date(resetAt.getTime() + 1000);
    const after = await octokit.graphql<{ viewer: { login: string } }>('query { viewer { login } }');
    expect(after.viewer.login).toBe('millwright-bot');
  });

  it('refuses a query that costs more than the points left, with remaining not yet 0', async () => {
    github.state.setRateLimit({ resource: 'graphql', remaining: 1 });
    const response = await octokit.request('POST /graphql', {
      query: `query {
        a: repository(owner: "acme", name: "shop") { deployments(first: 100) { nodes { statuses(first: 100) { nodes { state } } } } }
        b: repository(owner: "acme", name: "quiet") { deployments(first: 100) { nodes { statuses(first: 100) { nodes { state } } } } }
      }`,
    });
    expect(response.headers['x-ratelimit-remaining']).toBe('1');
    expect(response.data).toMatchObject({ errors: [{ type: 'RATE_LIMITED' }] });
  });

  it('stops both REST and GraphQL when setRateLimit names no resource', async () => {
    github.state.setRateLimit({ remaining: 0, resetAt: new Date(NOW.getTime() + 60_000) });
    await expect(
      octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'shop' }),
    ).rejects.toMatchObject({ status: 403 });
    const failure = await graphqlFailure(octokit.graphql('query { viewer { login } }'));
    expect(failure.errors[0]?.type).toBe('RATE_LIMITED');
  });
});

describe('GitHub GraphQL double: injected faults', () => {
  it('fails only the GraphQL request that the `when` predicate picks', async () => {
    const names = (body: unknown) =>
      Object.values((body as { variables?: Record<string, unknown> }).variables ?? {});
    github.state.fail({
      path: '/graphql',
      times: Infinity,
      answer: 'error502',
      when: (request) => names(request.body).includes('quiet'),
    });
    const shop = await octokit.graphql<LatestDeployments>(
      latestDeploymentsQuery(1),
      latestDeploymentsVariables([{ fullName: 'acme/shop' }]),
    );
    expect(shop.r0?.deployments.nodes.length).toBeGreaterThan(0);
    await expect(
      octokit.graphql(latestDeploymentsQuery(1), latestDeploymentsVariables([{ fullName: 'acme/quiet' }])),
    ).rejects.toMatchObject({ status: 502 });
    expect(github.count('POST', '/graphql')).toBe(2);
  });

  it('answers rateLimited, secondaryRateLimited and error500 faults on /graphql', async () => {
    github.state.fail({ path: '/graphql', answer: 'rateLimited' });
    const primary = await octokit.request('POST /graphql', { query: 'query { viewer { login } }' });
    expect(primary.status).toBe(200);
    expect(primary.headers).toMatchObject({
      'x-ratelimit-remaining': '0',
      'x-ratelimit-resource': 'graphql',
    });
    expect(primary.data).toMatchObject({ errors: [{ type: 'RATE_LIMITED' }] });

    github.state.fail({ path: '/graphql', answer: 'secondaryRateLimited' });
    await expect(octokit.graphql('query { viewer { login } }')).rejects.toMatchObject({
      status: 403,
      response: {
        headers: { 'retry-after': '60', 'x-ratelimit-resource': 'graphql' },
        data: { message: expect.stringMatching(/secondary rate limit/) },
      },
    });

    github.state.fail({ path: '/graphql', method: 'POST', answer: 'error500' });
    await expect(octokit.graphql('query { viewer { login } }')).rejects.toMatchObject({ status: 500 });
    // Faults used up: answered again.
    await expect(octokit.graphql('query { viewer { login } }')).resolves.toEqual({
      viewer: { login: 'millwright-bot' },
    });
  });

  it('builds the schema once, from GitHub type names', () => {
    expect(githubGraphQLSchema.getType('DeploymentStatusState')?.toString()).toBe('DeploymentStatusState');
    expect(githubGraphQLSchema.getQueryType()?.getFields().repository?.type.toString()).toBe('Repository');
  });
});
