// The plain GitHub readers `deploys` reuses (listDeployments, listWorkflowRuns, resolveRef) on a
// shared client: Link pagination, ref resolution, links for GitHub Enterprise, one rate-limit gate.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { fixedClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createGitHubExecutor } from '../../../src/executors/github/index.js';
import {
  createGitHubClient,
  type GitHubClient,
  getWorkflowRun,
  listDeployments,
  listWorkflowRuns,
  resolveRef,
  webUrlFor,
} from '../../../src/upstreams/github/index.js';
import { type GitHubApiDouble, startGitHubApi } from '../../doubles/github-api.js';
import { executionContext, NOW, shopFixture, TOKEN } from './setup.js';

let github: GitHubApiDouble;
let client: GitHubClient;
const clock = fixedClock(NOW);
beforeEach(async () => {
  clock.set(NOW);
  github = await startGitHubApi({ token: TOKEN, now: () => clock.now() });
  github.state.load(shopFixture);
  client = createGitHubClient({
    baseUrl: github.url,
    token: TOKEN,
    logger: silentLogger(),
    clock,
    retries: { baseDelayMs: 1 },
  });
});
afterEach(async () => {
  await github.close();
});

describe('listDeployments', () => {
  it('follows the Link header past one page and stops at the limit', async () => {
    for (let i = 0; i < 130; i++) {
      github.state.addDeployment('acme/shop', {
        ref: 'main',
        environment: 'canary',
        createdAt: new Date(Date.UTC(2026, 10, 1, 0, i)),
        statuses: [{ state: i % 2 === 0 ? 'success' : 'failure' }],
      });
    }
    const deployments = await listDeployments(client, {
      owner: 'acme',
      repo: 'shop',
      environment: 'canary',
      limit: 120,
    });
    expect(deployments).toHaveLength(120);
    expect(deployments[0]?.createdAt).toBe('2026-11-01T02:09:00Z');
    expect(deployments[0]?.state).toBe('failure');
    const pages = github.requests.filter((r) => r.path === '/repos/acme/shop/deployments');
    expect(pages.map((r) => r.query)).toEqual([
      { per_page: '100', environment: 'canary' },
      { per_page: '100', environment: 'canary', page: '2' },
    ]);
    expect(github.count('GET', /\/statuses$/)).toBe(120);
  });

  it('returns an empty list for an environment never deployed to', async () => {
    expect(await listDeployments(client, { owner: 'acme', repo: 'shop', environment: 'eu-west' })).toEqual(
      [],
    );
  });
});

describe('listWorkflowRuns and getWorkflowRun', () => {
  it('reads runs and one run in the same shape', async () => {
    const [latest] = await listWorkflowRuns(client, {
      owner: 'acme',
      repo: 'shop',
      workflow: 'deploy.yml',
      limit: 1,
    });
    const same = await getWorkflowRun(client, { owner: 'acme', repo: 'shop', runId: latest?.id ?? 0 });
    expect(same).toEqual(latest);
    expect(same.conclusion).toBe('failure');
  });
});

describe('resolveRef', () => {
  it('turns a branch, a tag and a short sha into the full sha', async () => {
    expect(await resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'main' })).toBe(
      '7638417db6d59f3c431d3e1f261cc637155684cd',
    );
    expect(await resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'v1.42.0' })).toBe(
      '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5',
    );
    expect(await resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'a1b2c3d' })).toBe(
      'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    );
    expect(github.requests[0]?.headers.accept).toBe('application/vnd.github.sha');
  });

  it('reports an unknown ref as not found (GitHub answers 422 "No commit found")', async () => {
    await expect(resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'nope' })).rejects.toMatchObject({
      code: 'millwright_not_found',
      message: 'ref nope not found in acme/shop',
      details: { status: 422 },
    });
  });
});

describe('one client for the executor and for deploys', () => {
  it('shares the rate-limit gate: once GitHub says the limit is used up, neither calls it again', async () => {
    github.state.setRateLimit({ remaining: 0, resetAt: new Date(NOW.getTime() + 30 * 60_000) });
    const executor = createGitHubExecutor({ client, logger: silentLogger() });
    await expect(listDeployments(client, { owner: 'acme', repo: 'shop' })).rejects.toMatchObject({
      code: 'millwright_rate_limited',
      message: 'GitHub rate limit reached; resets at 14:23 UTC (in 30m)',
    });
    await expect(
      executor.execute(executionContext(silentLogger()), {
        action: 'list-runs',
        input: { owner: 'acme', repo: 'other' },
      }),
    ).rejects.toMatchObject({ code: 'millwright_rate_limited' });
    expect(github.requests).toHaveLength(1);
  });

  it('stops before the limit is hit when a successful answer says none are left', async () => {
    github.state.setRateLimit({ remaining: 1, resetAt: new Date(NOW.getTime() + 5 * 60_000) });
    expect(await resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'main' })).toHaveLength(40);
    await expect(resolveRef(client, { owner: 'acme', repo: 'shop', ref: 'main' })).rejects.toMatchObject({
      code: 'millwright_rate_limited',
      message: 'GitHub rate limit reached; resets at 13:58 UTC (in 5m)',
    });
    expect(github.requests).toHaveLength(1);
  });
});

describe('webUrlFor', () => {
  it('maps API roots to the web root people click', () => {
    expect(webUrlFor('https://api.github.com')).toBe('https://github.com');
    expect(webUrlFor('https://ghe.acme.example/api/v3')).toBe('https://ghe.acme.example');
    expect(webUrlFor('https://api.acme.ghe.com')).toBe('https://acme.ghe.com');
    expect(webUrlFor('http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
  });
});
