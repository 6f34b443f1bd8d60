// Millwright as a GitHub App answering custom deployment protection rules, against the GitHub API
// double (App JWTs, installation tokens, the run's review callback) and a real Prometheus with
// backfilled traffic: signatures, unknown installations, replays, each decision of the policy gate,
// an approval in chat reaching GitHub once, a restart owing a review, and Prometheus down.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import type { ChangeRequest } from '../../src/changes/index.js';
import { createLogger, type Reply } from '../../src/core/index.js';
import { type GitHubApiDouble, type ProtectionRuleRecord, startGitHubApi } from '../doubles/github-api.js';
import { sendGitHubWebhook } from '../doubles/github-webhooks.js';
import type { RunningPrometheus } from '../doubles/prometheus.js';
import {
  filesUnder,
  GATE_ACCESS,
  type GateServer,
  PIPELINE_POLICY,
  slosFor,
  startGateServer,
  startTrafficPrometheus,
} from '../gates/setup.js';

const APP_ID = 424242;
const INSTALLATION = 5_150_001;
/** An installation whose token exchange GitHub is made to leave unanswered. */
const SLOW_INSTALLATION = 5_150_002;
const SECRET = 'whsec-3b9f1c7e2a5d4e8f9a0b';
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const ENV = { GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_WEBHOOK_SECRET: SECRET };

/** Polls `probe` until it returns something, for at most `ms` (the review runs after the webhook's answer). */
async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`nothing after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** checkout and payments mapped by the catalog, ledger by githubApp.repositories; orders unmapped. */
const configFor = (github: GitHubApiDouble, whenUnknown: 'approval' | 'deny' = 'approval') => `services:
  checkout: { channel: C-CHECKOUT, github: { repo: acme/checkout, environments: [production] } }
  payments: { channel: C-PAYMENTS, github: { repo: acme/payments } }
  ledger: { channel: C-LEDGER }
  billing: { channel: C-BILLING, github: { repo: acme/billing } }
${slosFor(['checkout', 'payments', 'ledger', 'billing'])}${PIPELINE_POLICY.replace('policy:\n', `policy:\n  whenUnknown: ${whenUnknown}\n`)}${GATE_ACCESS}githubApp:
  appId: ${APP_ID}
  privateKey: \${GITHUB_APP_PRIVATE_KEY}
  webhookSecret: \${GITHUB_WEBHOOK_SECRET}
  baseUrl: ${github.url}
  repositories:
    acme/ledger: { production: ledger }
  users:
    ana: ana
    mona: mona
    dee-octo: [dee, U0DEE0001]
`;

describe('GitHub deployment protection rules answered by the policy gate', () => {
  let prometheus: RunningPrometheus;
  let github: GitHubApiDouble;
  let server: GateServer;
  let dir: string;
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => logLines.push(line) },
  });

  const start = async (options: { whenUnknown?: 'approval' | 'deny'; dir?: string } = {}) =>
    startGateServer(prometheus, configFor(github, options.whenUnknown), {
      env: ENV,
      logger,
      ...(options.dir ? { dir: options.dir } : {}),
    });
  const hook = (target: GateServer) => `${target.url}/hooks/github`;
  const deliver = (
    payload: unknown,
    options: {
      delivery?: string;
      signature?: string | null;
      secret?: string;
      event?: string;
      to?: GateServer;
    } = {},
  ) =>
    sendGitHubWebhook(hook(options.to ?? server), {
      event: options.event ?? 'deployment_protection_rule',
      payload,
      secret: options.secret ?? SECRET,
      appId: APP_ID,
      ...(options.delivery ? { delivery: options.delivery } : {}),
      ...(options.signature !== undefined ? { signature: options.signature } : {}),
    });
  const as = (actor: string, text: string, target = server): Promise<Reply> =>
    target.running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const changesOf = async (repository: string, target = server): Promise<ChangeRequest[]> =>
    (await target.running.runtime.services.changes.list()).filter(
      (change) => change.delivery?.pipeline === `github:${repository}`,
    );
  /** The change of `repository` waiting for a person, once its channel has been asked (as a person sees it). */
  const waitingIn = (repository: string, channel: string) =>
    eventually(async () => {
      const waiting = (await changesOf(repository)).find((change) => change.state === 'pending-approval');
      return waiting &&
        server.posts.some(
          (post) => post.target === channel && post.text.includes(`change approve ${waiting.id}`),
        )
        ? waiting
        : undefined;
    });
  /** The reviews that decided the rule (a comment alone leaves it pending). */
  const verdicts = (rule: ProtectionRuleRecord) => rule.reviews.filter((review) => review.state);
  const reviewed = (rule: ProtectionRuleRecord) =>
    eventually(() => (verdicts(rule).length > 0 ? rule : undefined));
  const tokenCalls = () => github.count('POST', /^\/app\/installations\/\d+\/access_tokens$/);
  /** Review calls that carried a verdict to `path` (answered or not). */
  const verdictCalls = (path: string) =>
    github.requests.filter(
      (request) =>
        request.method === 'POST' && request.path === path && (request.body as { state?: string }).state,
    ).length;
  const callbackOf = (repository: string, rule: ProtectionRuleRecord) =>
    `/repos/${repository}/actions/runs/${rule.runId}/deployment_protection_rule`;

  beforeAll(async () => {
    prometheus = await startTrafficPrometheus({
      checkout: 'healthy',
      payments: 'burning',
      // 5 errors a minute in 6000 for 30 days: 83% of a 99.9% budget spent, burning at 0.8×, not paging.
      ledger: () => 5,
      billing: () => 5,
    });
    github = await startGitHubApi({
      repos: ['acme/checkout', 'acme/payments', 'acme/ledger', 'acme/billing', 'acme/orders'],
      app: { id: APP_ID, publicKey, installations: [INSTALLATION, SLOW_INSTALLATION] },
    });
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-github-app-'));
    server = await start({ dir });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await github?.close();
    await prometheus?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('what GitHub must send', () => {
    it('refuses a bad or missing signature with 401 and acts on nothing', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/checkout', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      const forged = await deliver(payload, { secret: 'not-the-webhook-secret-0000' });
      const unsigned = await deliver(payload, { signature: null });
      // The signature GitHub made for this payload does not vouch for an edited one.
      const signature = await new Webhooks({ secret: SECRET }).sign(JSON.stringify(payload));
      const edited = await deliver({ ...payload, environment: 'staging' }, { signature });
      expect([forged.response.status, unsigned.response.status, edited.response.status]).toEqual([
        401, 401, 401,
      ]);
      expect(JSON.parse(unsigned.body).error).toMatch(/^missing signature/);
      expect(JSON.parse(forged.body).error).toMatch(/^signature does not match/);
      expect(await changesOf('acme/checkout')).toEqual([]);
      expect(tokenCalls()).toBe(0);
      expect(rule.reviews).toEqual([]);
      expect(await server.running.runtime.services.store.list('github_deliveries')).toEqual([]);
    });

    it('answers an installation GitHub does not know with 404 and acts on nothing', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/checkout', {
        environment: 'production',
        installationId: 99,
      });
      const { response, body, delivery } = await deliver(payload);
      expect(response.status).toBe(404);
      expect(JSON.parse(body)).toMatchObject({
        error: `GitHub knows no installation 99 of App ${APP_ID}`,
        delivery,
      });
      // GitHub was asked for a token with the App's JWT and said 404; nothing was filed or reviewed.
      const asked = github.requests.filter(
        (request) => request.path === '/app/installations/99/access_tokens',
      );
      expect(asked).toHaveLength(1);
      expect(await changesOf('acme/checkout')).toEqual([]);
      expect(rule.reviews).toEqual([]);
      expect(await server.running.runtime.services.store.get('github_deliveries', delivery)).toBeUndefined();
      const records = await server.running.runtime.services.audit.recent({ limit: 50 });
      expect(records.find((record) => record.action === 'github.webhook')).toMatchObject({
        outcome: 'denied',
        code: 'millwright_not_found',
        args: { installation: 99, delivery },
      });
    });

    it('answers 503 before GitHub gives up (10 s) when the token exchange hangs, taking nothing, so a redelivery acts', async () => {
      const tokens = `/app/installations/${SLOW_INSTALLATION}/access_tokens`;
      github.state.fail({ path: tokens, times: Number.POSITIVE_INFINITY, answer: 'hang' });
      const { rule, payload } = github.state.requestProtectionRule('acme/payments', {
        environment: 'production',
        installationId: SLOW_INSTALLATION,
      });
      const first = await deliver(payload);
      expect(first.response.status).toBe(503);
      expect(JSON.parse(first.body).error).toContain(`installation ${SLOW_INSTALLATION}`);
      expect(
        await server.running.runtime.services.store.get('github_deliveries', first.delivery),
      ).toBeUndefined();
      expect(await changesOf('acme/payments')).toEqual([]);

      // GitHub answers again; "Redeliver" sends the same delivery id, which is acted on now.
      github.state.clearFaults();
      const again = await deliver(payload, { delivery: first.delivery });
      expect(again.response.status).toBe(202);
      await reviewed(rule);
      expect(rule.state).toBe('rejected');
    }, 60_000);

    it('answers a ping 200 and events it does not act on 202, acting on none', async () => {
      const before = tokenCalls();
      const ping = await deliver({ zen: 'Design for failure.', hook_id: 1 }, { event: 'ping' });
      expect(ping.response.status).toBe(200);
      const push = await deliver(
        { ref: 'refs/heads/main', repository: { full_name: 'acme/checkout' } },
        { event: 'push' },
      );
      expect(push.response.status).toBe(202);
      expect(JSON.parse(push.body)).toMatchObject({ status: 'ignored' });
      expect(tokenCalls()).toBe(before);
    });
  });

  describe('each decision, answered through the run callback', () => {
    it('approves a deployment of a healthy service, with the rules and their numbers in the comment', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/checkout', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'mona',
      });
      const { response, body } = await deliver(payload);
      expect(response.status).toBe(202);
      expect(JSON.parse(body)).toMatchObject({ status: 'accepted' });
      await reviewed(rule);
      expect(rule.state).toBe('approved');
      expect(rule.reviews).toHaveLength(1);
      const [change] = await changesOf('acme/checkout');
      expect(change).toMatchObject({
        kind: 'deployment',
        service: 'checkout',
        requestedBy: 'mona',
        delivery: { environment: 'production', version: (payload.deployment as { sha: string }).sha },
      });
      const comment = rule.reviews[0]?.comment ?? '';
      expect(comment).toMatch(/^Millwright policy gate: approved \(pass\)/);
      expect(comment).toMatch(/✔ error budget checkout-availability: \d+(\.\d+)?% left/);
      expect(comment).toContain(`"change show ${change?.id}"`);
    });

    it('rejects a deployment of a paging service with the burn rates in the comment', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/payments', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      expect((await deliver(payload)).response.status).toBe(202);
      await reviewed(rule);
      expect(rule.state).toBe('rejected');
      expect(rule.reviews[0]?.comment).toMatch(
        /✘ burn state payments-availability: page: 1h \d+\.\d× > 14\.4 and 5m \d+\.\d× > 14\.4/,
      );
    });

    it('rejects a repository or environment it cannot map to a service, naming the fix', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/orders', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      expect((await deliver(payload)).response.status).toBe(202);
      await reviewed(rule);
      expect(rule.state).toBe('rejected');
      expect(rule.reviews[0]?.comment).toContain('maps no service to acme/orders environment production');
      expect(await changesOf('acme/orders')).toEqual([]);
    });

    it('acts once on a delivery GitHub sends again, concurrently or later', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/payments', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      const before = (await changesOf('acme/payments')).length;
      const delivery = '5a7d2c10-9e3b-11ef-8c3a-5f0e2d7b9a41';
      const first = await Promise.all([1, 2, 3].map(() => deliver(payload, { delivery })));
      expect(first.map((sent) => sent.response.status).sort()).toEqual([200, 200, 202]);
      await reviewed(rule);
      const again = await deliver(payload, { delivery });
      expect(again.response.status).toBe(200);
      expect(JSON.parse(again.body)).toMatchObject({ status: 'duplicate', delivery });
      expect((await changesOf('acme/payments')).length).toBe(before + 1);
      expect(rule.reviews).toHaveLength(1);
      expect(rule.state).toBe('rejected');

      // The same signed body under a new delivery id (the id is not signed: anyone holding a captured
      // body can send it again) is the same deployment: answered as a duplicate, nothing filed.
      const copied = await deliver(payload, { delivery: '0f1e2d3c-aaaa-4bbb-8ccc-123456789abc' });
      expect(copied.response.status).toBe(200);
      expect(JSON.parse(copied.body)).toMatchObject({ status: 'duplicate' });
      expect((await changesOf('acme/payments')).length).toBe(before + 1);
      expect(rule.reviews).toHaveLength(1);

      // A re-run of the workflow asks for a new deployment (its own id) and is judged again.
      const rerun = github.state.requestProtectionRule('acme/payments', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      expect((await deliver(rerun.payload)).response.status).toBe(202);
      await reviewed(rerun.rule);
      expect((await changesOf('acme/payments')).length).toBe(before + 2);
    });
  });

  describe('a delivery taken by a process that stopped before filing anything', () => {
    it('is taken again when GitHub redelivers it later', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/payments', {
        environment: 'production',
        installationId: INSTALLATION,
      });
      const delivery = '0b6e3f2a-9e3b-11ef-8c3a-5f0e2d7b9a42';
      const { store } = server.running.runtime.services;
      const taken = {
        id: delivery,
        event: 'deployment_protection_rule',
        receivedAt: new Date(prometheus.end.getTime() - 10 * 60_000).toISOString(),
        repository: 'acme/payments',
        environment: 'production',
        installation: INSTALLATION,
      };
      await store.put('github_deliveries', taken);
      const again = await deliver(payload, { delivery });
      expect(again.response.status).toBe(202);
      await reviewed(rule);
      expect(verdicts(rule)).toHaveLength(1);
      // A delivery taken a moment ago is still another replica's: a duplicate.
      await store.put('github_deliveries', {
        ...taken,
        id: `${delivery}-fresh`,
        receivedAt: prometheus.end.toISOString(),
      });
      expect((await deliver(payload, { delivery: `${delivery}-fresh` })).response.status).toBe(200);
    });
  });

  describe('a deployment the policy holds for a person', () => {
    it('waits, then an approval in chat by someone other than the requester reaches GitHub once', async () => {
      const { rule, payload } = github.state.requestProtectionRule('acme/ledger', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'ana',
      });
      expect((await deliver(payload)).response.status).toBe(202);
      // The service's channel is asked; the run is told why it waits, and stays pending.
      const change = await waitingIn('acme/ledger', 'C-LEDGER');
      expect(change).toMatchObject({ requestedBy: 'ana', service: 'ledger' });
      expect(await changesOf('acme/ledger')).toHaveLength(1);
      const asked = server.posts.find((post) => post.target === 'C-LEDGER');
      expect(asked?.text).toContain(`github:acme/ledger waits: deployment of ledger`);
      expect(rule.reviews).toHaveLength(1);
      expect(rule.reviews[0]?.state).toBeUndefined();
      expect(rule.reviews[0]?.comment).toMatch(
        new RegExp(
          `^Millwright policy gate: waiting \\(pending\\) — needs approval \\(error budget ledger-availability: \\d+\\.\\d% left < 25%\\): an approver runs "change approve ${change.id}" in chat`,
        ),
      );
      expect(rule.state).toBe('pending');

      // The workflow's actor cannot approve their own deployment.
      const own = await as('ana', `change approve ${change.id}`);
      expect(own.error).toBeDefined();
      expect(verdicts(rule)).toEqual([]);

      const approved = await as('dee', `change approve ${change.id}`);
      expect(approved.error).toBeUndefined();
      await reviewed(rule);
      expect(rule.state).toBe('approved');
      expect(verdicts(rule)[0]?.comment).toContain('approved by dee');
      // Asking again (another event, a recovery sweep) sends nothing more.
      await server.running.runtime.services.deploymentProtection.settle(change.id);
      await server.running.runtime.services.deploymentProtection.recover();
      expect(verdicts(rule)).toHaveLength(1);
      expect(verdictCalls(callbackOf('acme/ledger', rule))).toBe(1);
      expect(await server.running.runtime.services.store.get('github_reviews', change.id)).toMatchObject({
        state: 'sent',
        verdict: 'approved',
        attempts: 1,
      });
    });

    it('a denial in chat rejects the run; a review GitHub would not take is retried, then sent after a restart', async () => {
      const denied = github.state.requestProtectionRule('acme/ledger', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'ana',
      });
      expect((await deliver(denied.payload)).response.status).toBe(202);
      const first = await waitingIn('acme/ledger', 'C-LEDGER');
      expect((await as('dee', `change deny ${first.id} reason="budget nearly spent"`)).error).toBeUndefined();
      await reviewed(denied.rule);
      expect(denied.rule.state).toBe('rejected');
      expect(verdicts(denied.rule)[0]?.comment).toContain('denied by dee');

      // billing holds no change lock (ledger's approved change is still being verified).
      const held = github.state.requestProtectionRule('acme/billing', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'ana',
      });
      expect((await deliver(held.payload)).response.status).toBe(202);
      const second = await waitingIn('acme/billing', 'C-BILLING');
      // GitHub fails every review for now: bounded retries, then the review is left owed.
      const callback = callbackOf('acme/billing', held.rule);
      github.state.fail({ path: callback, times: Number.POSITIVE_INFINITY, answer: 'error502' });
      expect((await as('dee', `change approve ${second.id}`)).error).toBeUndefined();
      const failed = await eventually(async () => {
        const record = await server.running.runtime.services.store.get<{ id: string; state: string }>(
          'github_reviews',
          second.id,
        );
        return record?.state === 'failed' ? record : undefined;
      });
      expect(failed).toMatchObject({ attempts: 1 });
      expect(verdictCalls(callback)).toBe(3);
      expect(verdicts(held.rule)).toEqual([]);
      // Not due again yet (the clock stands still here): a sweep leaves it alone.
      await server.running.runtime.services.deploymentProtection.recover();
      expect(verdictCalls(callback)).toBe(3);

      // GitHub recovers while Millwright restarts on the same store: the next process sends it.
      await server.close();
      github.state.clearFaults();
      server = await start({ dir });
      await reviewed(held.rule);
      expect(held.rule.state).toBe('approved');
      expect(verdictCalls(callback)).toBe(4);
      expect(verdicts(held.rule)).toHaveLength(1);
      expect(await server.running.runtime.services.store.get('github_reviews', second.id)).toMatchObject({
        state: 'sent',
        attempts: 2,
      });
    });
  });

  describe('the audit trail', () => {
    it('records each delivery, decision and review, and never a token, the key or the secret', async () => {
      // A payload quoting a secret (an environment named with it) is scrubbed in the comment GitHub shows.
      const quoting = github.state.requestProtectionRule('acme/checkout', {
        environment: SECRET,
        installationId: INSTALLATION,
      });
      expect((await deliver(quoting.payload)).response.status).toBe(202);
      await reviewed(quoting.rule);
      expect(quoting.rule.reviews[0]?.comment).toContain('environment [redacted]');
      expect(quoting.rule.reviews[0]?.comment).not.toContain(SECRET);
      const records = await server.running.runtime.services.audit.recent({ limit: 500 });
      for (const action of ['github.webhook', 'github.deployment', 'github.review'])
        expect(records.some((record) => record.action === action)).toBe(true);
      expect(
        records.filter((record) => record.action === 'github.review').map((record) => record.outcome),
      ).toEqual(expect.arrayContaining(['approved', 'rejected', 'error']));
      const written = await filesUnder(dir);
      const logs = logLines.join('');
      expect(github.installationTokens.length).toBeGreaterThan(0);
      for (const secret of [...github.installationTokens, SECRET, privateKey.split('\n')[1] ?? privateKey]) {
        expect(written).not.toContain(secret);
        expect(logs).not.toContain(secret);
      }
    });
  });

  describe('when Prometheus is down', () => {
    it('knows the workflow actor in chat only through githubApp.users: their own chat id cannot approve, and an unmapped login can be denied, never approved', async () => {
      // dee-octo is dee in chat: dee requested it, so dee's approval is an own approval.
      const mapped = github.state.requestProtectionRule('acme/ledger', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'dee-octo',
      });
      expect((await deliver(mapped.payload)).response.status).toBe(202);
      const change = await waitingIn('acme/ledger', 'C-LEDGER');
      expect(change).toMatchObject({ requestedBy: 'dee-octo', requesterIds: ['dee', 'U0DEE0001'] });
      const own = await as('dee', `change approve ${change.id}`);
      expect(own.error?.message).toBe(`dee requested ${change.id} and cannot approve it too`);
      expect(verdicts(mapped.rule)).toEqual([]);
      expect((await as('dee', `change deny ${change.id} reason="not today"`)).error).toBeUndefined();
      await reviewed(mapped.rule);
      expect(mapped.rule.state).toBe('rejected');

      // A login githubApp.users lacks could be anyone in chat: no approval is trusted, a denial is.
      const unknown = github.state.requestProtectionRule('acme/billing', {
        environment: 'production',
        installationId: INSTALLATION,
        actor: 'stranger',
      });
      expect((await deliver(unknown.payload)).response.status).toBe(202);
      const held = await eventually(async () =>
        (await changesOf('acme/billing')).find(
          (c) => c.state === 'pending-approval' && c.requestedBy === 'stranger',
        ),
      );
      expect(held.requesterUnverified).toContain('stranger is not in githubApp.users');
      const refused = await as('dee', `change approve ${held.id}`);
      expect(refused.error?.code).toBe('millwright_permission_denied');
      expect(refused.error?.message).toBe(
        `${held.id} cannot be approved in chat: GitHub user stranger is not in githubApp.users (GitHub login -> chat id), so no approval can show it comes from someone else`,
      );
      expect(verdicts(unknown.rule)).toEqual([]);
    });

    it('holds the deployment for a person (whenUnknown: approval) or rejects it (deny), never approves it', async () => {
      await prometheus.stop();
      const refusing = await start({ whenUnknown: 'deny' });
      try {
        const held = github.state.requestProtectionRule('acme/payments', {
          environment: 'production',
          installationId: INSTALLATION,
        });
        const refused = github.state.requestProtectionRule('acme/payments', {
          environment: 'production',
          installationId: INSTALLATION,
        });
        expect((await deliver(held.payload)).response.status).toBe(202);
        expect((await deliver(refused.payload, { to: refusing })).response.status).toBe(202);

        await reviewed(refused.rule);
        expect(refused.rule.state).toBe('rejected');
        expect(refused.rule.reviews[0]?.comment).toMatch(/^Millwright policy gate: rejected \(unknown\)/);
        expect(refused.rule.reviews[0]?.comment).toContain('policy.whenUnknown is deny');
        expect(refused.rule.reviews[0]?.comment).toMatch(
          /Prometheus at http:\/\/127\.0\.0\.1:\d+ is unavailable/,
        );

        const waiting = await eventually(async () =>
          (await changesOf('acme/payments')).find((change) => change.state === 'pending-approval'),
        );
        expect(waiting.evaluations.at(-1)?.decision).toBe('unknown');
        expect(verdicts(held.rule)).toEqual([]);
        // The run is told why it waits once the change is filed.
        const told = await eventually(() => held.rule.reviews[0]);
        expect(told.comment).toMatch(
          /^Millwright policy gate: waiting \(unknown\) — the gate could not decide \(.*Prometheus at http:\/\/127\.0\.0\.1:\d+ is unavailable/,
        );
      } finally {
        await refusing.close();
      }
    }, 60_000);
  });
});
