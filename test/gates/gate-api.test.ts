// A pipeline asks the policy gate over HTTP, against a real Prometheus with backfilled traffic: its
// token decides who it is and what it may gate, a healthy service passes, a burning or frozen one
// fails with the rule's numbers, a change the policy holds waits until a second person approves in
// chat, and the audit trail records each answer without ever holding a token.
import path from 'node:path';
import { createLogger, type Reply, replyToText } from '../../src/core/index.js';
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningServer } from '../../src/main.js';
import { filesUnder, type GateServer, gateSchemaValidator, startPipelineScene } from './setup.js';

const CI_TOKEN = 'ci-7f3a9c1e5b2d4068a1c3';
const DEPLOYER_TOKEN = 'deployer-0b5e8d2f7a614c39';

describe('POST /api/v1/gates/evaluate against a real Prometheus', () => {
  let dir: string;
  let server: GateServer;
  let running: RunningServer;
  let url: string;
  const logLines: string[] = [];
  let posts: GateServer['posts'];
  let validate: Awaited<ReturnType<typeof gateSchemaValidator>>;

  const as = (actor: string, text: string): Promise<Reply> =>
    running.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-OPS', text });
  const post = (body: unknown, token: string | null = CI_TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/v1/gates/evaluate`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const evaluate = async (body: unknown, token = CI_TOKEN): Promise<GateAnswer> => {
    const response = await post(body, token);
    const answer = (await response.json()) as GateAnswer;
    expect({ status: response.status, answer }).toEqual({ status: 200, answer: expect.any(Object) });
    expect({ valid: validate(answer), errors: validate.errors }).toEqual({ valid: true, errors: null });
    return answer;
  };
  const status = async (id: string, token = CI_TOKEN) => {
    const response = await fetch(`${url}/api/v1/gates/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as GateAnswer & { error?: string } };
  };

  beforeAll(async () => {
    validate = await gateSchemaValidator();
    server = await startPipelineScene(
      `gates:
  pipelines:
    ci:
      token: \${GATE_TOKEN_CI}
      services: [checkout, search, ledger, orders]
    deployer:
      token: \${GATE_TOKEN_DEPLOYER}
      services: '*'
`,
      {
        env: { GATE_TOKEN_CI: CI_TOKEN, GATE_TOKEN_DEPLOYER: DEPLOYER_TOKEN },
        logger: createLogger({
          level: 'debug',
          destination: { write: (line: string) => logLines.push(line) },
        }),
      },
    );
    ({ running, url, dir, posts } = server);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  describe('who may ask', () => {
    it('refuses a request without a token with 401 and a Bearer challenge', async () => {
      const response = await post({ service: 'checkout' }, null);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="millwright"');
      expect(((await response.json()) as { error: string }).error).toMatch(/^missing token/);
    });

    it('refuses a token no pipeline has with 401, and never logs what was sent', async () => {
      const wrong = 'guessed-token-5d1c7e0a9b';
      const response = await post({ service: 'checkout' }, wrong);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="millwright", error="invalid_token"',
      );
      // A near miss (the right token with one character more) is no better.
      expect((await post({ service: 'checkout' }, `${CI_TOKEN}x`)).status).toBe(401);
      const logs = logLines.join('');
      expect(logs).toContain('gate request without a valid token');
      expect(logs).not.toContain(wrong);
    });

    it('answers 403 when the pipeline may not gate that service', async () => {
      const response = await post({ service: 'payments', version: '2.0.0' });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({
        error: 'pipeline ci may not gate payments',
        hint: 'add payments to gates.pipelines.ci.services',
      });
    });

    it('answers 404 for a service the catalog does not know', async () => {
      const response = await post({ service: 'inventory' }, DEPLOYER_TOKEN);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe(
        'service inventory is not in the service catalog',
      );
    });
  });

  describe('what it must send', () => {
    it.each([
      [{ version: '1.0.0' }, 'service: required'],
      [{ service: ' ' }, 'service: must not be empty'],
      [
        { service: 'checkout', kind: 'reboot' },
        'kind: expected one of deployment, config, migration, infrastructure, feature-flag',
      ],
      [{ service: 'checkout', version: 42 }, 'version: expected a string'],
      [
        { service: 'checkout', colour: 'blue' },
        'colour: not a field of the gate request; send service, version, environment, kind, risk, reason, emergency',
      ],
      [['checkout'], 'body: expected a JSON object like {"service": "checkout", "version": "1.4.2"}'],
      ['{"service": "checkout"', 'body is not valid JSON'],
    ])('refuses %j with 400 and one line naming the field', async (body, message) => {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe(message);
    });

    it('refuses another content type with 415 and a body over the limit with 413', async () => {
      const form = await post('service=checkout', CI_TOKEN, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(415);
      expect(form.headers.get('accept')).toBe('application/json');
      const huge = await post({ service: 'checkout', reason: 'x'.repeat(20_000) });
      expect(huge.status).toBe(413);
    });
  });

  describe('each decision', () => {
    it('lets a healthy service through with every rule and its numbers, recorded as a deployment', async () => {
      const answer = await evaluate({ service: 'checkout', version: '1.4.2', environment: 'production' });
      expect(answer).toMatchObject({
        decision: 'pass',
        service: 'checkout',
        kind: 'deployment',
        version: '1.4.2',
        environment: 'production',
        pipeline: 'ci',
        state: 'verifying',
      });
      expect(answer.awaiting).toBeUndefined();
      const budget = answer.rules.find((rule) => rule.name === 'error-budget');
      expect(budget).toMatchObject({ verdict: 'pass', subject: 'checkout-availability' });
      expect(budget?.numbers?.minRemainingPercent).toBe(25);
      expect(budget?.numbers?.remainingPercent).toBeGreaterThan(25);
      const burn = answer.rules.find((rule) => rule.name === 'burn-state');
      expect(burn?.verdict).toBe('pass');
      expect(burn?.numbers?.burnRate1h).toBeLessThan(burn?.numbers?.factor ?? 0);

      const change = await running.runtime.services.changes.get(answer.changeId);
      expect(change).toMatchObject({
        kind: 'deployment',
        requestedBy: 'pipeline:ci',
        channel: 'C-CHECKOUT',
        delivery: { pipeline: 'ci', version: '1.4.2', environment: 'production' },
        summary: 'deployment of checkout 1.4.2 to production by ci',
      });
      // The same decision in chat: `change show` tells the change's story.
      const shownReply = await as('ana', `change show ${answer.changeId}`);
      const shown = replyToText(shownReply);
      expect(shown).toContain(
        `${answer.changeId} ran and is being verified: deployment of checkout 1.4.2 to production by ci`,
      );
      expect(shown).toMatch(/deployment: +1\.4\.2 to production/);
      expect(shown).toMatch(/pipeline: +ci\n/);
    });

    it('refuses a service that is paging, with the burn rates and the rule factor', async () => {
      const answer = await evaluate({ service: 'payments', version: '2.0.0' }, DEPLOYER_TOKEN);
      expect(answer.decision).toBe('fail');
      expect(answer.state).toBe('denied');
      const burn = answer.rules.find((rule) => rule.name === 'burn-state');
      expect(burn).toMatchObject({ verdict: 'fail', severity: 'hard', subject: 'payments-availability' });
      expect(burn?.detail).toMatch(
        /^burn state payments-availability: page: 1h \d+\.\d× > 14\.4 and 5m \d+\.\d× > 14\.4$/,
      );
      expect(burn?.numbers?.factor).toBe(14.4);
      expect(burn?.numbers?.burnRate1h).toBeGreaterThan(14.4);
      expect(burn?.numbers?.burnRate5m).toBeGreaterThan(14.4);
      expect(answer.reason).toContain('refused by the policy gate: ');
    });

    it('refuses a frozen service, naming the freeze', async () => {
      const frozen = await as('ana', 'change freeze service=search until=4h reason="release freeze"');
      expect(frozen.error).toBeUndefined();
      const answer = await evaluate({ service: 'search', version: '3.1.0' });
      expect(answer.decision).toBe('fail');
      const freeze = answer.rules.find((rule) => rule.name === 'freeze');
      expect(freeze?.verdict).toBe('fail');
      expect(freeze?.detail).toMatch(/^freeze on search until .+ by ana: release freeze$/);
      expect(answer.reason).toContain('freeze on search');
    });

    it('says unknown for a service with no SLO, held for a person as policy.whenUnknown says', async () => {
      const answer = await evaluate({ service: 'orders', version: '0.9.0' });
      expect(answer).toMatchObject({ decision: 'unknown', awaiting: 'approval', state: 'pending-approval' });
      expect(answer.rules.find((rule) => rule.name === 'error-budget')).toMatchObject({
        verdict: 'unknown',
        detail: 'orders has no SLOs, so no budget can vouch for it',
      });
    });
  });

  describe('a change the policy holds for a person', () => {
    it('is pending until someone other than the pipeline approves it in chat, then passes', async () => {
      const first = await evaluate({ service: 'ledger', version: '5.0.0', risk: 'high' });
      expect(first).toMatchObject({ decision: 'pending', awaiting: 'approval', state: 'pending-approval' });
      expect(first.rules.find((rule) => rule.name === 'change-class')).toMatchObject({
        verdict: 'fail',
        detail: 'high risk: a person must approve',
      });
      expect(first.reason).toContain(`change approve ${first.changeId}`);
      // The service's channel is asked, once, with what holds the change and how to let it through.
      const asked = posts.filter((p) => p.target === 'C-LEDGER');
      expect(asked).toHaveLength(1);
      expect(asked[0]?.text).toContain(
        `ci waits: deployment of ledger 5.0.0 by ci; it needs an approval (high risk: a person must approve ✘`,
      );
      expect(asked[0]?.text).toContain(`"change approve ${first.changeId}"`);

      const waiting = await status(first.changeId);
      expect(waiting.status).toBe(200);
      expect(waiting.body).toMatchObject({ decision: 'pending', changeId: first.changeId });
      // Another pipeline cannot read it, nor can a missing id be read.
      expect((await status(first.changeId, DEPLOYER_TOKEN)).status).toBe(404);
      expect((await status('CR-999')).status).toBe(404);
      expect((await fetch(`${url}/api/v1/gates/${first.changeId}`)).status).toBe(401);

      const approved = await as('dee', `change approve ${first.changeId}`);
      expect(approved.error).toBeUndefined();
      const after = await status(first.changeId);
      expect(after.body).toMatchObject({ decision: 'pass', state: 'verifying', approvals: [{ by: 'dee' }] });
      expect(after.body.reason).toBe('approved by dee');
      expect(validate(after.body)).toBe(true);
    });
  });

  describe('the audit trail', () => {
    it('holds one gate.evaluate record per answer with its outcome, and no token anywhere', async () => {
      // A pipeline that pastes its own token into the reason has it redacted like any secret.
      const answer = await evaluate({ service: 'checkout', version: '1.4.3', reason: `deploy ${CI_TOKEN}` });
      const records = await running.runtime.services.audit.recent({ limit: 500 });
      const gates = records.filter((record) => record.action === 'gate.evaluate').reverse();
      expect(gates.map((record) => [record.args.service, record.outcome])).toEqual([
        ['payments', 'denied'],
        ['inventory', 'denied'],
        ['checkout', 'pass'],
        ['payments', 'fail'],
        ['search', 'fail'],
        ['orders', 'unknown'],
        ['ledger', 'pending'],
        ['checkout', answer.decision],
      ]);
      expect(gates[0]).toMatchObject({
        actor: 'pipeline:ci',
        surface: 'pipeline',
        code: 'millwright_permission_denied',
      });
      expect(gates[2]?.args).toMatchObject({ pipeline: 'ci', version: '1.4.2', environment: 'production' });
      const change = await running.runtime.services.changes.get(answer.changeId);
      expect(change.reason).toBe('deploy [redacted]');

      const written = await filesUnder(path.join(dir, 'data'));
      expect(written).toContain('gate.evaluate');
      for (const token of [CI_TOKEN, DEPLOYER_TOKEN]) {
        expect(written).not.toContain(token);
        expect(logLines.join('')).not.toContain(token);
      }
    });
  });
});
