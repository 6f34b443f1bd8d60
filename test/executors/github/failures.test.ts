// How the github executor fails: rate limits with their reset time and no retry storm, 5xx reads
// retried then reported, writes never repeated, GitHub's 401/404/409/422 in a person's words.

import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MillwrightError } from '../../../src/core/errors.js';
import { createGitHubExecutor } from '../../../src/executors/github/index.js';
import { executionContext, type Harness, NOW, startHarness, TOKEN } from './setup.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const run = (action: string, input: Record<string, unknown>, overrides = {}) =>
  h.executor.execute(executionContext(h.logger, overrides), { action, input });
const listDeployments = () =>
  run('list-deployments', { owner: 'acme', repo: 'shop', environment: 'production' });
const dispatch = (ref = 'main') =>
  run('dispatch-workflow', {
    owner: 'acme',
    repo: 'shop',
    workflow: 'deploy.yml',
    ref,
    inputs: { service: 'checkout' },
  });

async function failure(promise: Promise<unknown>): Promise<MillwrightError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    return error as MillwrightError;
  }
  throw new Error('expected the call to fail');
}

describe('rate limits', () => {
  it('reports the reset time, does not retry, and stops calling GitHub until the reset', async () => {
    h.github.state.setRateLimit({ remaining: 0, resetAt: new Date(NOW.getTime() + 12 * 60_000) });

    const error = await failure(listDeployments());
    expect(error.code).toBe('millwright_rate_limited');
    expect(error.message).toBe('GitHub rate limit reached; resets at 14:05 UTC (in 12m)');
    expect(error.details).toMatchObject({
      status: 403,
      resource: 'core',
      resetAt: '2026-11-26T14:05:00.000Z',
    });
    expect(h.github.requests).toHaveLength(1);

    // A second command before the reset does not reach GitHub at all.
    h.clock.set(new Date(NOW.getTime() + 2 * 60_000));
    const again = await failure(dispatch());
    expect(again.message).toBe('GitHub rate limit reached; resets at 14:05 UTC (in 10m)');
    expect(h.github.requests).toHaveLength(1);

    // After the reset both sides start a new window.
    h.clock.set(new Date(NOW.getTime() + 13 * 60_000));
    const result = await listDeployments();
    expect(result.output.count).toBe(2);
  });

  it('treats a 403 rate-limit answer to a write the same way, sent once', async () => {
    h.github.state.fail({ path: '/repos/acme/shop/deployments', method: 'POST', answer: 'rateLimited' });
    const error = await failure(run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'main' }));
    expect(error.code).toBe('millwright_rate_limited');
    expect(error.message).toBe('GitHub rate limit reached; resets at 14:53 UTC (in 1h)');
    expect(h.github.count('POST')).toBe(1);
  });

  it('reports a secondary rate limit with its retry-after, without retrying', async () => {
    h.github.state.fail({ path: /\/deployments$/, answer: 'secondaryRateLimited', times: 5 });
    const error = await failure(listDeployments());
    expect(error.code).toBe('millwright_rate_limited');
    expect(error.message).toBe(
      'GitHub secondary rate limit hit while trying to list production deployments in acme/shop; retry after 1m',
    );
    expect(h.github.requests).toHaveLength(1);
  });
});

describe('server errors', () => {
  it('retries a read that fails with 500 and answers once GitHub recovers', async () => {
    h.github.state.fail({ path: '/repos/acme/shop/deployments', answer: 'error500', times: 2 });
    const result = await listDeployments();
    expect(result.output.count).toBe(2);
    expect(h.github.count('GET', '/repos/acme/shop/deployments')).toBe(3);
    expect(h.logLines.filter((line) => line.includes('GitHub read failed; retrying'))).toHaveLength(2);
  });

  it('reports a read that keeps failing after the bounded attempts', async () => {
    h.github.state.fail({ path: '/repos/acme/shop/actions/runs', answer: 'error502', times: Infinity });
    const error = await failure(run('list-runs', { owner: 'acme', repo: 'shop' }));
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toBe('GitHub answered 502 to list workflow runs in acme/shop (after 3 attempts)');
    expect(error.details).toMatchObject({ status: 502 });
    expect(h.github.count('GET', '/repos/acme/shop/actions/runs')).toBe(3);
  });

  it('never repeats a write that failed with 500, and says the change may have happened', async () => {
    h.github.state.fail({ path: /\/dispatches$/, answer: 'error500', times: Infinity });
    const error = await failure(dispatch());
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toBe(
      'GitHub answered 500 to dispatch workflow deploy.yml on main in acme/shop; not repeated, since the change may have been made',
    );
    expect(h.github.count('POST')).toBe(1);
  });

  it('never repeats a re-run that failed, even after its read succeeded', async () => {
    h.github.state.fail({ path: /rerun-failed-jobs$/, answer: 'error503', times: Infinity });
    await failure(run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433642 }));
    expect(h.github.count('POST')).toBe(1);
    expect(h.github.count('GET', '/repos/acme/shop/actions/runs/30433642')).toBe(1);
  });

  it('cuts a hung write at the request timeout and does not send it again', async () => {
    await h.close();
    h = await startHarness({ requestTimeoutMs: 150 });
    h.github.state.fail({ path: /\/deployments$/, method: 'POST', answer: 'hang', times: Infinity });
    const error = await failure(run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'main' }));
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toBe('GitHub did not answer within 150ms');
    expect(h.github.count('POST')).toBe(1);
  });

  it('stops a hung read at the step deadline with a clear message, without retrying after it', async () => {
    h.github.state.fail({ path: '/repos/acme/shop/deployments', answer: 'hang', times: Infinity });
    const controller = new AbortController();
    const deadline = new Date(Date.now() + 100);
    const timer = setTimeout(() => controller.abort(new DOMException('deadline', 'TimeoutError')), 100);
    try {
      const error = await failure(
        run('list-deployments', { owner: 'acme', repo: 'shop' }, { signal: controller.signal, deadline }),
      );
      expect(error.code).toBe('millwright_timeout');
      expect(error.message).toBe('GitHub did not finish "list deployments" in acme/shop before the deadline');
    } finally {
      clearTimeout(timer);
    }
    expect(h.github.count('GET', '/repos/acme/shop/deployments')).toBe(1);
  });

  it('reports an unreachable GitHub after retrying the read', async () => {
    const closed = await unusedPort();
    const executor = createGitHubExecutor({
      baseUrl: `http://127.0.0.1:${closed}`,
      token: TOKEN,
      logger: h.logger,
      retries: { attempts: 2, baseDelayMs: 1 },
    });
    const error = await failure(
      executor.execute(executionContext(h.logger), {
        action: 'list-runs',
        input: { owner: 'acme', repo: 'shop' },
      }),
    );
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toMatch(
      new RegExp(
        `^cannot reach GitHub at http://127\\.0\\.0\\.1:${closed} to list workflow runs in acme/shop: .*ECONNREFUSED.* \\(after 2 attempts\\)$`,
      ),
    );
  });
});

describe('refusals from GitHub', () => {
  it('turns 404 into "repository not found, or the token cannot see it"', async () => {
    const error = await failure(run('list-deployments', { owner: 'acme', repo: 'checkout' }));
    expect(error.code).toBe('millwright_not_found');
    expect(error.message).toBe('repository acme/checkout not found, or the token cannot see it');
    expect(error.details).toMatchObject({ status: 404 });
  });

  it('names the missing run or workflow', async () => {
    const run404 = await failure(run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 99 }));
    expect(run404.message).toBe('workflow run 99 not found in acme/shop, or the token cannot see it');
    const workflow404 = await failure(
      run('list-runs', { owner: 'acme', repo: 'shop', workflow: 'nope.yml' }),
    );
    expect(workflow404.message).toBe('workflow nope.yml not found in acme/shop, or the token cannot see it');
  });

  it("passes GitHub's 422 message on: unknown ref, missing trigger, inputs", async () => {
    expect((await failure(dispatch('no-such-branch'))).message).toBe(
      'GitHub refused to dispatch workflow deploy.yml on no-such-branch in acme/shop: No ref found for: no-such-branch',
    );
    const noTrigger = await failure(
      run('dispatch-workflow', { owner: 'acme', repo: 'shop', workflow: 'ci.yml', ref: 'main' }),
    );
    expect(noTrigger.message).toBe(
      "GitHub refused to dispatch workflow ci.yml on main in acme/shop: Workflow does not have 'workflow_dispatch' trigger",
    );
    expect(noTrigger.hint).toBe('the workflow needs an `on: workflow_dispatch` trigger on that ref');
    const missing = await failure(
      run('dispatch-workflow', { owner: 'acme', repo: 'shop', workflow: 'deploy.yml', ref: 'main' }),
    );
    expect(missing.message).toBe(
      "GitHub refused to dispatch workflow deploy.yml on main in acme/shop: Required input 'service' not provided",
    );
    expect(missing.details).toMatchObject({ status: 422 });
    expect(h.github.count('POST')).toBe(3);
  });

  it('lists the validation errors of a 422 Validation Failed', async () => {
    h.github.state.fail({
      path: '/repos/acme/shop/deployments',
      method: 'POST',
      answer: {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [
            {
              resource: 'Deployment',
              code: 'custom',
              field: 'ref',
              message: 'ref is protected by a deployment branch policy',
            },
          ],
          documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
        },
      },
    });
    const error = await failure(run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'main' }));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.message).toBe(
      'GitHub refused to create a production deployment of main in acme/shop: Validation Failed (ref is protected by a deployment branch policy)',
    );
  });

  it('reports a 409 when commit checks fail, sent once', async () => {
    h.github.state.setCommitStatus(
      'acme/shop',
      '7638417db6d59f3c431d3e1f261cc637155684cd',
      'ci/build',
      'failure',
    );
    const error = await failure(run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'main' }));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.message).toBe(
      'GitHub refused to create a production deployment of main in acme/shop: Conflict: Commit status checks failed for main.',
    );
    expect(error.hint).toBe(
      'wait for the commit status checks to pass, or name the ones that must (requiredContexts)',
    );
    expect(h.github.count('POST')).toBe(1);
  });

  it('refuses to re-run a run GitHub says cannot be retried (403), in its words', async () => {
    h.github.state.fail({
      path: /rerun-failed-jobs$/,
      answer: {
        status: 403,
        body: {
          message: 'This workflow run cannot be retried',
          documentation_url: 'https://docs.github.com/rest',
        },
      },
    });
    const error = await failure(run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433642 }));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.message).toBe(
      'GitHub refused to re-run the failed jobs of run 30433642 in acme/shop: This workflow run cannot be retried',
    );
  });

  it("a 403 names the permission GitHub's docs give the endpoint: read for a read, write for a write", async () => {
    const forbidden = (path: string | RegExp, method: string) =>
      h.github.state.fail({
        path,
        method,
        answer: {
          status: 403,
          body: {
            message: 'Resource not accessible by personal access token',
            documentation_url: 'https://docs.github.com/rest/deployments/deployments',
          },
        },
      });
    forbidden('/repos/acme/shop/deployments', 'GET');
    const read = await failure(listDeployments());
    expect(read.message).toBe(
      'GitHub refused to list production deployments in acme/shop: Resource not accessible by personal access token',
    );
    expect(read.hint).toBe(
      'check that github.token may read deployments in acme/shop (fine-grained tokens and GitHub Apps need the repository permission deployments: read)',
    );

    forbidden('/repos/acme/shop/deployments', 'POST');
    const write = await failure(run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'main' }));
    expect(write.hint).toBe(
      'check that github.token may write deployments in acme/shop (fine-grained tokens and GitHub Apps need the repository permission deployments: write)',
    );

    forbidden(/\/actions\/workflows\/deploy\.yml\/runs$/, 'GET');
    const runs = await failure(run('list-runs', { owner: 'acme', repo: 'shop', workflow: 'deploy.yml' }));
    expect(runs.hint).toMatch(/repository permission actions: read\)$/);
  });

  it('reports bad credentials without ever showing the token', async () => {
    await h.close();
    h = await startHarness({ token: 'ghp_WrongWrongWrongWrongWrong0123456789' });
    const error = await failure(listDeployments());
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.message).toBe('GitHub rejected the token (401 Bad credentials)');
    const everything = JSON.stringify({
      message: error.message,
      hint: error.hint,
      details: error.details,
      log: h.logLines,
    });
    expect(everything).not.toContain('ghp_WrongWrong');
    expect(everything).not.toContain(TOKEN);
  });
});

describe('logs', () => {
  it('never carry the token, even at trace level', async () => {
    h.github.state.fail({ path: '/repos/acme/shop/deployments', answer: 'error500' });
    await listDeployments();
    await dispatch();
    expect(h.logLines.length).toBeGreaterThan(0);
    expect(h.logLines.join('\n')).not.toContain(TOKEN);
  });
});

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
