// The App's client against the GitHub double: installation tokens from the App's JWT (404 for an
// installation GitHub does not know, 401 for a key that is not the App's), and the review of a
// protection rule with bounded retries, where a 422 after a try whose answer was lost counts as done.
import { generateKeyPairSync } from 'node:crypto';
import { silentLogger, systemClock, UpstreamResilience } from '../../src/core/index.js';
import { GitHubAppClient } from '../../src/github-app/app-client.js';
import { type GitHubApiDouble, startGitHubApi } from '../doubles/github-api.js';

const APP_ID = 31337;
const INSTALLATION = 777;
const keys = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
const { privateKey, publicKey } = keys();

let github: GitHubApiDouble;
beforeAll(async () => {
  github = await startGitHubApi({
    repos: ['acme/shop'],
    app: { id: APP_ID, publicKey, installations: [INSTALLATION] },
  });
});
afterAll(async () => {
  await github.close();
});

const client = (key = privateKey) =>
  new GitHubAppClient({
    appId: APP_ID,
    privateKey: key,
    webhookSecret: 'whsec-0f1e2d3c4b5a6978',
    baseUrl: github.url,
    timeoutMs: 5_000,
    // No real waits between tries.
    resilience: new UpstreamResilience({ sleep: async () => undefined }),
    clock: systemClock,
    logger: silentLogger(),
  });

const reviewOf = (runId: number, state: 'approved' | 'rejected' = 'approved') => ({
  installationId: INSTALLATION,
  repository: 'acme/shop',
  runId,
  environment: 'production',
  state,
  comment: 'Millwright policy gate: approved (pass)',
});

test('an installation GitHub knows hands out a token; an unknown one is not found; another key is refused', async () => {
  await expect(client().checkInstallation(INSTALLATION)).resolves.toBeUndefined();
  await expect(client().checkInstallation(404_404)).rejects.toMatchObject({
    code: 'millwright_not_found',
    message: `GitHub knows no installation 404404 of App ${APP_ID}`,
  });
  // A JWT signed with a key that is not the App's: GitHub's 401, said in one line, never retried.
  const before = github.count('POST', `/app/installations/${INSTALLATION}/access_tokens`);
  const error = await client(keys().privateKey)
    .checkInstallation(INSTALLATION)
    .then(
      () => undefined,
      (caught: unknown) => caught as Error & { code: string },
    );
  expect(error).toMatchObject({ code: 'millwright_dependency_unavailable' });
  expect(error?.message).toMatch(
    /refused an installation token for installation 777: HTTP 401: A JSON web token could not be decoded \(after 1 try\)$/,
  );
  expect(github.count('POST', `/app/installations/${INSTALLATION}/access_tokens`)).toBe(before + 1);
});

test('a review is retried after a 5xx, and a 422 after a lost answer counts as done', async () => {
  const { rule } = github.state.requestProtectionRule('acme/shop', {
    environment: 'production',
    installationId: INSTALLATION,
  });
  const callback = `/repos/acme/shop/actions/runs/${rule.runId}/deployment_protection_rule`;
  github.state.fail({ path: callback, answer: 'error503', times: 2 });
  await client().review(reviewOf(rule.runId));
  expect(rule.state).toBe('approved');
  expect(github.count('POST', callback)).toBe(3);

  // GitHub took the review but its answer was lost (a 502 from its edge): the try after it is
  // refused with 422 since the rule is no longer pending, which means the review is in.
  const { rule: second } = github.state.requestProtectionRule('acme/shop', {
    environment: 'production',
    installationId: INSTALLATION,
  });
  const secondCallback = `/repos/acme/shop/actions/runs/${second.runId}/deployment_protection_rule`;
  github.state.fail({
    path: secondCallback,
    answer: 'error502',
    when: () => {
      second.state = 'rejected';
      return true;
    },
  });
  await expect(client().review(reviewOf(second.runId, 'rejected'))).resolves.toBeUndefined();
  expect(github.count('POST', secondCallback)).toBe(2);

  // A 422 without a lost answer before it is a refusal, said in one line.
  await expect(client().review(reviewOf(second.runId, 'rejected'))).rejects.toMatchObject({
    code: 'millwright_dependency_unavailable',
    message: expect.stringMatching(
      /HTTP 422: No pending deployment protection rule for this environment \(after 1 try\)$/,
    ),
  });
});
