// Every github executor action, through the real @octokit/rest, against the GitHub REST double.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EXECUTOR_PROTOCOL_VERSION } from '../../../src/executors/types.js';
import { executionContext, type Harness, startHarness, TOKEN } from './setup.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const run = (action: string, input: Record<string, unknown>, dryRun = false) =>
  h.executor.execute(executionContext(h.logger, { dryRun }), { action, input });

describe('github executor metadata', () => {
  it('speaks the current protocol and publishes a JSON Schema per action', () => {
    const metadata = h.executor.metadata();
    expect(metadata.name).toBe('github');
    expect(metadata.protocolVersion).toBe(EXECUTOR_PROTOCOL_VERSION);
    expect(Object.keys(metadata.actions).sort()).toEqual([
      'create-deployment',
      'dispatch-workflow',
      'list-deployments',
      'list-runs',
      'rerun-failed-jobs',
    ]);
    expect(metadata.actions['list-runs']?.effect).toBe('read');
    expect(metadata.actions['rerun-failed-jobs']?.effect).toBe('write');
    const input = metadata.actions['dispatch-workflow']?.input as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { pattern?: string }>;
    };
    expect(input.required).toEqual(['owner', 'repo', 'workflow', 'ref']);
    expect(input.additionalProperties).toBe(false);
    expect(input.properties.ref?.pattern).toContain('\\.\\.');
  });
});

describe('dispatch-workflow', () => {
  it('sends the dispatch GitHub expects and answers with the runs link', async () => {
    const result = await run('dispatch-workflow', {
      owner: 'acme',
      repo: 'shop',
      workflow: 'deploy.yml',
      ref: 'main',
      inputs: { service: 'checkout', dry_run: false },
    });
    expect(result.summary).toBe('dispatched deploy.yml on main in acme/shop');
    expect(result.output).toEqual({
      repository: 'acme/shop',
      workflow: 'deploy.yml',
      ref: 'main',
      runsUrl: `${h.github.url}/acme/shop/actions/workflows/deploy.yml`,
    });
    const [dispatch] = h.github.state.repo('acme/shop').dispatches;
    expect(dispatch).toMatchObject({ ref: 'main', inputs: { service: 'checkout', dry_run: 'false' } });
    const sent = h.github.requests.find((request) => request.method === 'POST');
    expect(sent?.path).toBe('/repos/acme/shop/actions/workflows/deploy.yml/dispatches');
    expect(sent?.headers.authorization).toBe(`token ${TOKEN}`);
    expect(h.github.count('POST')).toBe(1);
  });

  it('in a dry run checks the workflow and the ref, and dispatches nothing', async () => {
    const result = await run(
      'dispatch-workflow',
      { owner: 'acme', repo: 'shop', workflow: 'deploy.yml', ref: 'main' },
      true,
    );
    expect(result.summary).toBe('would dispatch deploy.yml on main (7638417) in acme/shop');
    expect(result.output.sha).toBe('7638417db6d59f3c431d3e1f261cc637155684cd');
    expect(h.github.count('POST')).toBe(0);
    expect(h.github.state.repo('acme/shop').dispatches).toHaveLength(0);
  });
});

describe('list-runs', () => {
  it('lists the failed runs of one workflow on a branch, newest first, with the id a later step can use', async () => {
    const result = await run('list-runs', {
      owner: 'acme',
      repo: 'shop',
      workflow: 'deploy.yml',
      branch: 'main',
      status: 'failure',
    });
    expect(result.output.count).toBe(1);
    expect(result.output.latestRunId).toBe(30433642);
    expect(result.output.runs).toEqual([
      {
        id: 30433642,
        name: 'Deploy',
        workflow: 'deploy.yml',
        runNumber: 2,
        branch: 'main',
        sha: '7638417db6d59f3c431d3e1f261cc637155684cd',
        event: 'workflow_dispatch',
        status: 'completed',
        conclusion: 'failure',
        attempt: 1,
        actor: 'ana',
        createdAt: '2026-11-26T13:30:00Z',
        updatedAt: '2026-11-26T13:30:00Z',
        url: 'https://github.com/acme/shop/actions/runs/30433642',
      },
    ]);
    expect(result.summary).toBe('1 failure deploy.yml runs in acme/shop; newest: #2 Deploy: failure on main');
    const [request] = h.github.requests;
    expect(request?.path).toBe('/repos/acme/shop/actions/workflows/deploy.yml/runs');
    expect(request?.query).toEqual({ per_page: '10', branch: 'main', status: 'failure' });
  });

  it('lists runs across the repository, newest first', async () => {
    const result = await run('list-runs', { owner: 'acme', repo: 'shop', limit: 3 });
    const runs = result.output.runs as Array<{ id: number; status: string }>;
    expect(runs.map((r) => r.id)).toEqual([30433643, 30433642, 30433641]);
    expect(runs[0]?.status).toBe('in_progress');
    expect(h.github.requests[0]?.path).toBe('/repos/acme/shop/actions/runs');
  });

  it('asks for one page of up to 100 and stops there', async () => {
    for (let i = 0; i < 130; i++) {
      h.github.state.addRun('acme/shop', {
        workflow: 'ci.yml',
        branch: 'busy',
        createdAt: new Date(Date.UTC(2026, 10, 20, 0, i)),
      });
    }
    const result = await run('list-runs', { owner: 'acme', repo: 'shop', branch: 'busy', limit: 100 });
    expect(result.output.count).toBe(100);
    expect(h.github.count('GET', '/repos/acme/shop/actions/runs')).toBe(1);
  });

  it('says so when there are no runs', async () => {
    const result = await run('list-runs', { owner: 'acme', repo: 'shop', branch: 'gone' });
    expect(result.output).toEqual({ runs: [], count: 0, latestRunId: null });
    expect(result.summary).toBe('no workflow runs in acme/shop on gone');
  });
});

describe('rerun-failed-jobs', () => {
  it('re-runs a failed run once', async () => {
    const result = await run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433642 });
    expect(result.summary).toBe(
      're-running the failed jobs of run 30433642 (Deploy: failure on main) in acme/shop',
    );
    expect(result.output).toEqual({
      runId: 30433642,
      url: 'https://github.com/acme/shop/actions/runs/30433642',
      previousConclusion: 'failure',
    });
    const rerun = h.github.state.repo('acme/shop').runs.find((r) => r.id === 30433642);
    expect(rerun).toMatchObject({ status: 'queued', attempt: 2, conclusion: null });
    expect(h.github.count('POST', '/repos/acme/shop/actions/runs/30433642/rerun-failed-jobs')).toBe(1);
  });

  it('takes the run id as text, the way an earlier step output arrives', async () => {
    await run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: '30433642' });
    expect(h.github.count('POST')).toBe(1);
  });

  it('refuses a run that succeeded or is still running, without asking GitHub to re-run it', async () => {
    await expect(
      run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433641 }),
    ).rejects.toMatchObject({
      code: 'millwright_bad_argument',
      message: 'run 30433641 (Deploy on main) in acme/shop ended success; it has no failed jobs to re-run',
    });
    await expect(
      run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433643 }),
    ).rejects.toMatchObject({
      code: 'millwright_bad_argument',
      message: expect.stringContaining('is still in_progress'),
    });
    expect(h.github.count('POST')).toBe(0);
  });

  it('in a dry run reads the run and re-runs nothing', async () => {
    const result = await run('rerun-failed-jobs', { owner: 'acme', repo: 'shop', runId: 30433642 }, true);
    expect(result.summary).toBe(
      'would re-run the failed jobs of run 30433642 (Deploy: failure on main) in acme/shop',
    );
    expect(h.github.count('POST')).toBe(0);
  });
});

describe('create-deployment', () => {
  it('creates the deployment with auto-merge off and reports its id and sha', async () => {
    const result = await run('create-deployment', {
      owner: 'acme',
      repo: 'shop',
      ref: 'release-2026.11',
      environment: 'production',
      description: 'checkout 2026.11 release',
    });
    const created = h.github.state.repo('acme/shop').deployments.at(-1);
    expect(result.summary).toBe(
      `created production deployment ${created?.id} of release-2026.11 (a1b2c3d) in acme/shop`,
    );
    expect(result.output).toMatchObject({
      id: created?.id,
      environment: 'production',
      ref: 'release-2026.11',
      sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      state: 'created',
      creator: 'millwright-bot',
    });
    const sent = h.github.requests.find((request) => request.method === 'POST');
    expect(sent?.body).toEqual({
      ref: 'release-2026.11',
      environment: 'production',
      task: 'deploy',
      auto_merge: false,
      description: 'checkout 2026.11 release',
    });
  });

  it('passes requiredContexts through, so [] deploys past failing checks', async () => {
    h.github.state.setCommitStatus(
      'acme/shop',
      'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      'ci/build',
      'failure',
    );
    await run('create-deployment', {
      owner: 'acme',
      repo: 'shop',
      ref: 'release-2026.11',
      requiredContexts: [],
    });
    expect(h.github.requests.find((r) => r.method === 'POST')?.body).toMatchObject({ required_contexts: [] });
  });

  it('in a dry run resolves the ref and creates nothing', async () => {
    const result = await run('create-deployment', { owner: 'acme', repo: 'shop', ref: 'v1.42.0' }, true);
    expect(result.summary).toBe('would create a production deployment of v1.42.0 (0c1d2e3) in acme/shop');
    expect(h.github.count('POST')).toBe(0);
  });
});

describe('list-deployments', () => {
  it('lists deployments newest first with the latest status, creator, sha, ref, time and link', async () => {
    const result = await run('list-deployments', { owner: 'acme', repo: 'shop', environment: 'production' });
    expect(result.summary).toBe(
      '2 deployments to production in acme/shop; newest: failure main (7638417) to production by ana',
    );
    const deployments = result.output.deployments as Array<Record<string, unknown>>;
    expect(deployments.map((d) => [d.ref, d.state, d.creator, d.stateDescription])).toEqual([
      ['main', 'failure', 'ana', 'health check failed after rollout'],
      ['v1.42.0', 'success', 'ana', null],
    ]);
    expect(deployments[1]).toMatchObject({
      environment: 'production',
      sha: '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5',
      createdAt: '2026-11-26T12:21:00Z',
      stateAt: '2026-11-26T12:25:00Z',
      link: 'https://github.com/acme/shop/actions/runs/30433641',
      environmentUrl: 'https://shop.acme.example',
    });
    // One list call plus one latest-status call per deployment.
    expect(h.github.count('GET', '/repos/acme/shop/deployments')).toBe(1);
    expect(h.github.count('GET', /\/deployments\/\d+\/statuses$/)).toBe(2);
    expect(h.github.requests[0]?.query).toEqual({ per_page: '5', environment: 'production' });
  });

  it('shows a deployment with no status yet as created, linked to the environment page', async () => {
    const result = await run('list-deployments', { owner: 'acme', repo: 'shop', environment: 'staging' });
    const [staging] = result.output.deployments as Array<Record<string, unknown>>;
    expect(staging).toMatchObject({ state: 'created', creator: 'ben', stateAt: null });
    expect(staging?.link).toBe(`${h.github.url}/acme/shop/deployments/staging`);
  });
});
