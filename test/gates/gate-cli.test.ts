// `millwright gate evaluate` as a CI step runs it: the real command line, spawned, against a running
// Millwright and a real Prometheus; exit 0 pass, 1 fail (or no approval in time), 2 unknown or no answer.
import net from 'node:net';
import type { GateAnswer } from '../../src/gates/index.js';
import type { RunningServer } from '../../src/main.js';
import { millwright } from '../helpers/spawn.js';
import { type GateServer, gateSchemaValidator, startPipelineScene } from './setup.js';

const TOKEN = 'ci-cli-4c8e1f0a7d3b9e25';

describe('millwright gate evaluate, spawned against a running Millwright', () => {
  let server: GateServer;
  let running: RunningServer;
  let url: string;

  const gate = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    millwright(['gate', 'evaluate', ...args], {
      env: { MILLWRIGHT_URL: url, MILLWRIGHT_GATE_TOKEN: TOKEN, ...env },
    });

  beforeAll(async () => {
    server = await startPipelineScene(
      `gates:
  pipelines:
    ci: { token: "\${GATE_TOKEN}", services: "*" }
`,
      { env: { GATE_TOKEN: TOKEN } },
    );
    ({ running, url } = server);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it('exits 0 on pass and prints the decision, then each rule', async () => {
    const result = await gate(['checkout', 'version=1.4.2', 'environment=production']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'pass: checkout deployment 1.4.2 to production — every rule of the policy gate passed; no person needed',
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}✔ error budget checkout-availability: \d+\.\d% left ≥ 25%$/),
    );
    expect(lines.at(-1)).toMatch(
      /^change CR-\d+ \(verifying\); "change show CR-\d+" in chat has its timeline$/,
    );
  }, 60_000);

  it('exits 1 on fail, with the burn numbers', async () => {
    const result = await gate(['payments', 'version=2.0.0']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^fail: payments deployment 2\.0\.0 — refused by the policy gate: /);
    expect(result.stdout).toMatch(
      /✘ burn state payments-availability: page: 1h \d+\.\d× > 14\.4 and 5m \d+\.\d× > 14\.4/,
    );
  }, 60_000);

  it('exits 2 on unknown, and --json prints the server answer as the schema says', async () => {
    const result = await gate(['orders', 'kind=config', '--json']);
    expect(result.code).toBe(2);
    const answer = JSON.parse(result.stdout) as GateAnswer;
    expect(answer).toMatchObject({
      decision: 'unknown',
      service: 'orders',
      kind: 'config',
      awaiting: 'approval',
    });
    const validate = await gateSchemaValidator();
    expect({ valid: validate(answer), errors: validate.errors }).toEqual({ valid: true, errors: null });
  }, 60_000);

  it('exits 2 with one line when it cannot reach Millwright or its token is refused', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await gate(['checkout', '--url', `http://127.0.0.1:${port}`], { MILLWRIGHT_URL: '' });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toBe(
      `millwright: cannot reach Millwright at http://127.0.0.1:${port}: ECONNREFUSED\n`,
    );
    const refused = await gate(['checkout'], { MILLWRIGHT_GATE_TOKEN: 'not-a-pipeline-token-000' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      'millwright: gate refused (HTTP 401): unknown token: send the token of a pipeline in gates.pipelines\n',
    );
    const usage = await gate(['checkout', 'colour=blue']);
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe(
      'millwright: unknown argument "colour=blue"; expected version=, environment=, kind=, risk=, reason=',
    );
  }, 60_000);

  it('exits 1 when an approval is needed and it does not wait', async () => {
    const result = await gate(['search', 'risk=high']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^pending: search deployment — needs approval \(high risk: a person must approve\)/,
    );
  }, 60_000);

  it('waits while the approval is pending and exits 0 once a second person approves in chat', async () => {
    const step = gate(['ledger', 'version=5.0.0', 'risk=high', '--wait=2m', '--interval=1s']);
    // The step has filed its change and is polling; an approver acts in chat.
    let pending: string | undefined;
    let ended: Awaited<typeof step> | undefined;
    void step.then((result) => {
      ended = result;
    });
    while (!pending && !ended) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      pending = (
        await running.runtime.services.changes.list({ service: 'ledger', state: 'pending-approval' })
      )[0]?.id;
    }
    // A step that ended before its change was held for a person failed: show what it said.
    expect({ pending: pending !== undefined, ended }).toEqual({ pending: true, ended: undefined });
    const approved = await running.router.handle({
      actor: { id: 'dee' },
      surface: 'slack',
      channel: 'C-OPS',
      text: `change approve ${pending}`,
    });
    expect(approved.error).toBeUndefined();
    const result = await step;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `pending: needs approval (high risk: a person must approve): an approver runs "change approve ${pending}" in chat; asking again in 1s`,
    );
    expect(result.stdout.split('\n')[0]).toBe('pass: ledger deployment 5.0.0 — approved by dee');
  }, 120_000);
});
