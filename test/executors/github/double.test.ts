// Keeps the GitHub double honest with the REST reference, using plain fetch: status codes, headers,
// error bodies, rate-limit answers and Link pagination as docs.github.com/rest describes them.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type GitHubApiDouble, startGitHubApi } from '../../doubles/github-api.js';
import { NOW, shopFixture, TOKEN } from './setup.js';

let github: GitHubApiDouble;
beforeEach(async () => {
  github = await startGitHubApi({ token: TOKEN, now: () => NOW });
  github.state.load(shopFixture);
});
afterEach(async () => {
  await github.close();
});

const call = (path: string, init: RequestInit & { anonymous?: boolean } = {}) =>
  fetch(`${github.url}${path}`, {
    ...init,
    headers: {
      accept: 'application/vnd.github+json',
      ...(init.anonymous ? {} : { authorization: `Bearer ${TOKEN}` }),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });

describe('GitHub double', () => {
  it('sends the rate-limit and request-id headers on every answer', async () => {
    const response = await call('/repos/acme/shop/deployments');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(response.headers.get('x-ratelimit-remaining')).toBe('4999');
    expect(response.headers.get('x-ratelimit-used')).toBe('1');
    expect(response.headers.get('x-ratelimit-resource')).toBe('core');
    expect(response.headers.get('x-ratelimit-reset')).toBe(String(NOW.getTime() / 1000 + 3600));
    expect(response.headers.get('x-github-request-id')).toMatch(
      /^[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{6}:[0-9A-F]{6}:[0-9A-F]{8}$/,
    );
  });

  it("answers 404 with GitHub's body, also for a private repository asked anonymously", async () => {
    const missing = await call('/repos/acme/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest/repos/repos#get-a-repository',
      status: '404',
    });
    expect((await call('/repos/acme/shop', { anonymous: true })).status).toBe(404);
    expect((await call('/repos/acme/shop')).status).toBe(200);
  });

  it('answers a wrong token with 401 Bad credentials', async () => {
    const response = await fetch(`${github.url}/repos/acme/shop`, {
      headers: { authorization: 'token ghp_nope' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    });
  });

  it('answers a used-up limit with 403, remaining 0, the reset time and the documented message', async () => {
    github.state.setRateLimit({ remaining: 0, resetAt: new Date('2026-11-26T14:05:00Z') });
    const response = await call('/repos/acme/shop/actions/runs');
    expect(response.status).toBe(403);
    expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(response.headers.get('x-ratelimit-reset')).toBe(String(Date.parse('2026-11-26T14:05:00Z') / 1000));
    const body = (await response.json()) as { message: string; documentation_url: string };
    expect(body.message).toMatch(/^API rate limit exceeded for user ID \d+\./);
    expect(body.documentation_url).toBe('https://docs.github.com/rest/overview/rate-limits-for-the-rest-api');
  });

  it('paginates with a Link header carrying next, last, prev and first', async () => {
    const first = await call('/repos/acme/shop/deployments?per_page=1');
    expect(first.headers.get('link')).toBe(
      `<${github.url}/repos/acme/shop/deployments?per_page=1&page=2>; rel="next", <${github.url}/repos/acme/shop/deployments?per_page=1&page=3>; rel="last"`,
    );
    const middle = await call('/repos/acme/shop/deployments?per_page=1&page=2');
    expect(middle.headers.get('link')).toBe(
      [
        `<${github.url}/repos/acme/shop/deployments?per_page=1&page=1>; rel="prev"`,
        `<${github.url}/repos/acme/shop/deployments?per_page=1&page=3>; rel="next"`,
        `<${github.url}/repos/acme/shop/deployments?per_page=1&page=3>; rel="last"`,
        `<${github.url}/repos/acme/shop/deployments?per_page=1&page=1>; rel="first"`,
      ].join(', '),
    );
    const runs = (await (await call('/repos/acme/shop/actions/runs?per_page=2')).json()) as {
      total_count: number;
      workflow_runs: unknown[];
    };
    expect(runs.total_count).toBe(4);
    expect(runs.workflow_runs).toHaveLength(2);
  });

  it('answers the writes with their documented status codes', async () => {
    const dispatch = await call('/repos/acme/shop/actions/workflows/deploy.yml/dispatches', {
      method: 'POST',
      body: JSON.stringify({ ref: 'main', inputs: { service: 'checkout' } }),
    });
    expect(dispatch.status).toBe(204);
    expect(await dispatch.text()).toBe('');
    const rerun = await call('/repos/acme/shop/actions/runs/30433642/rerun-failed-jobs', { method: 'POST' });
    expect(rerun.status).toBe(201);
    expect(await rerun.json()).toEqual({});
    const again = await call('/repos/acme/shop/actions/runs/30433642/rerun-failed-jobs', { method: 'POST' });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { message: string }).message).toBe('This workflow is already running');
    const deployment = await call('/repos/acme/shop/deployments', {
      method: 'POST',
      body: JSON.stringify({ ref: 'main', environment: 'staging' }),
    });
    expect(deployment.status).toBe(201);
    const created = (await deployment.json()) as { id: number; sha: string; statuses_url: string };
    expect(deployment.headers.get('location')).toBe(
      `${github.url}/repos/acme/shop/deployments/${created.id}`,
    );
    expect(created.sha).toBe('7638417db6d59f3c431d3e1f261cc637155684cd');
    const status = await call(`/repos/acme/shop/deployments/${created.id}/statuses`, {
      method: 'POST',
      body: JSON.stringify({ state: 'exploded' }),
    });
    expect(status.status).toBe(422);
    expect(await status.json()).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'DeploymentStatus', field: 'state', code: 'custom' }],
    });
  });

  it('answers bad JSON with 400 and a hung request is released on close', async () => {
    const bad = await fetch(`${github.url}/repos/acme/shop/deployments`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"ref":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe('Problems parsing JSON');
    github.state.fail({ path: '/repos/acme/shop', answer: 'hang' });
    const pending = call('/repos/acme/shop').catch((error: unknown) => error);
    while (github.count('GET', '/repos/acme/shop') === 0)
      await new Promise((resolve) => setTimeout(resolve, 5));
    await github.close();
    expect(await pending).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    github = await startGitHubApi();
  });
});
