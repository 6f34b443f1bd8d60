// Every command through the shell's `--json`: the line it prints matches docs/schemas/reply.schema.json,
// and its `data` the command's own schema in docs/schemas; a partial answer exits non-zero with what
// could be read in `data` and the missing parts named.

import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { fixedClock } from '../../src/core/index.js';
import { type Fleet, startFleet } from '../deploys/fleet.js';
import { accessWithImpersonator } from '../helpers/os-user.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { jsonAnswer } from '../helpers/shell-output.js';
import { millwright } from '../helpers/spawn.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCHEMAS = path.resolve(HERE, '../../docs/schemas');
const FIXTURES = path.resolve(HERE, '../fixtures');
const BASE = 'https://millwright.dev/schemas';

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat(
  'date-time',
  (value: string) => /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value)),
);
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMAS, file), 'utf8')) as object);
}

/** The compiled schema of a command's data, or one of its shapes (`change`, `list`). */
function schema(command: string, shape?: string): ValidateFunction {
  const validate = ajv.getSchema(`${BASE}/${command}.schema.json${shape ? `#/definitions/${shape}` : ''}`);
  if (!validate) throw new Error(`no schema ${command}${shape ? `#${shape}` : ''}`);
  return validate;
}

/** Fails with ajv's own words, so a drift between code and schema says where. */
function expectValid(validate: ValidateFunction, value: unknown): void {
  const valid = validate(value);
  expect(valid ? [] : validate.errors).toEqual([]);
}

interface JsonLine {
  ok: boolean;
  text: string;
  blocks: unknown[];
  data?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string };
  ref?: string;
}

/** Runs one line in a JSON shell as `actor`; returns the reply's line, checked against the envelope. */
async function json(bot: TestBot, line: string, actor = 'ana'): Promise<JsonLine> {
  const answer = await jsonAnswer<JsonLine>(bot.router, line, actor);
  expectValid(schema('reply'), answer);
  return answer;
}

const POLICY = `
policy:
  rules:
    - kind: change-class
    - kind: freeze
    - kind: open-incident
      severities: [1, 2]
    - kind: daily-limit
      max: 5
    - kind: lock
  approvals: { role: approver, required: 1, ttl: 24h }
`;

describe('--json data of every command, valid against its schema', () => {
  let bot: TestBot;
  let runbooks: string;
  const clock = fixedClock('2026-11-26T10:00:00Z');

  beforeAll(async () => {
    runbooks = await mkdtemp(path.join(os.tmpdir(), 'millwright-json-runbooks-'));
    await copyFile(path.join(FIXTURES, 'runbooks/changes/bump.yml'), path.join(runbooks, 'bump.yml'));
    await copyFile(
      path.join(FIXTURES, 'runbooks/recorder/change-target.yml'),
      path.join(runbooks, 'change-target.yml'),
    );
    bot = await startTestBot({
      clock,
      config: (dir) => `
runbooks:
  dir: ${runbooks}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
services:
  checkout: { owners: [olu] }
  payments: { owners: [olu] }
digests:
  - name: morning
    schedule: "0 9 * * 1-5"
    timeZone: Europe/Berlin
    target: C0123ABCD
    sections: [changes, incidents]
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit] }
    operator: { allow: ['runbook.*', 'change.*', 'incident.*', 'digest.*'] }
    approver: { allow: ['change.*'] }
  subjects:
    ana: [operator]
    bo: [approver, operator]
${POLICY}`,
    });
  });
  afterAll(async () => {
    await bot.close();
    await rm(runbooks, { recursive: true, force: true });
  });

  it('every command the router knows has a JSON Schema for its data', async () => {
    const overview = await json(bot, 'help');
    const verbs = new Set(
      (overview.data!.commands as Array<{ command: string }>).map((form) => form.command.split(' ')[0]!),
    );
    expect([...verbs].sort()).toEqual(
      bot.runtime.services.registry
        .list()
        .map((command) => command.name)
        .sort(),
    );
    for (const verb of verbs) expect(ajv.getSchema(`${BASE}/${verb}.schema.json`)).toBeDefined();
  });

  it('whoami and help', async () => {
    const whoami = await json(bot, 'whoami');
    expectValid(schema('whoami'), whoami.data);
    expect(whoami.data).toEqual({
      actor: 'ana',
      name: null,
      via: null,
      roles: expect.arrayContaining(['operator', 'viewer']),
      groups: [],
      surface: 'shell',
      channel: 'shell',
    });
    expect(whoami.data!.roles).toHaveLength(2);

    const overview = await json(bot, 'help', 'zed');
    expectValid(schema('help', 'overview'), overview.data);
    const forms = overview.data!.commands as Array<{ command: string; permission: string; allowed: boolean }>;
    expect(forms).toContainEqual({
      command: 'change request',
      summary: expect.any(String),
      permission: 'change.request',
      allowed: false,
    });
    expect(forms.find((form) => form.command === 'whoami')?.allowed).toBe(true);

    const change = await json(bot, 'help change');
    expectValid(schema('help', 'command'), change.data);
    const request = (change.data!.forms as Array<Record<string, unknown>>).find(
      (form) => form.command === 'change request',
    );
    expect(request?.options).toContainEqual(
      expect.objectContaining({ name: 'risk', type: 'enum', values: ['low', 'medium', 'high'] }),
    );
  });

  it('change request, show, list, approve, deny, cancel, done, freeze, unfreeze and stats', async () => {
    const ran = await json(bot, 'change request bump target=cart reason="stale cache"');
    expect(ran.ok).toBe(true);
    expectValid(schema('change', 'one'), ran.data);
    const change = ran.data!.change as {
      gate: { rules: unknown[] };
      execution: unknown;
    };
    expect(change).toMatchObject({
      id: 'CR-1',
      kind: 'runbook',
      runbook: 'bump',
      params: { target: 'cart' },
    });
    expect(ran.data!.problems).toEqual([]);
    // Each verdict with the numbers it judged, not only the sentence.
    expect(change.gate.rules).toContainEqual(
      expect.objectContaining({
        kind: 'daily-limit',
        status: 'pass',
        service: 'checkout',
        value: 0,
        threshold: 5,
        unit: 'changes',
        unreadable: null,
      }),
    );
    expect(change.gate.rules).toContainEqual(
      expect.objectContaining({ kind: 'open-incident', value: 0, threshold: 0, unit: 'incidents' }),
    );
    expect(change.execution).toMatchObject({ startedAt: '2026-11-26T10:00:00.000Z' });

    const manual = await json(bot, 'change request service=payments summary="raise db pool" risk=high');
    expectValid(schema('change', 'one'), manual.data);
    expect(manual.data!.change).toMatchObject({
      id: 'CR-2',
      state: 'pending-approval',
      gate: { decision: 'needs-approval' },
    });
    const approved = await json(bot, 'change approve CR-2 reason="looked fine"', 'bo');
    expectValid(schema('change', 'one'), approved.data);
    expect((approved.data!.change as { approvals: unknown[] }).approvals).toEqual([
      { by: 'bo', at: '2026-11-26T10:00:00.000Z', reason: 'looked fine' },
    ]);
    const done = await json(bot, 'change done CR-2');
    expectValid(schema('change', 'one'), done.data);
    expect(done.data!.change).toMatchObject({ state: 'verifying', execution: { durationSeconds: 0 } });

    await json(bot, 'change request service=checkout summary="rotate certs" risk=high');
    const denied = await json(bot, 'change deny CR-3 reason="not today"', 'bo');
    expectValid(schema('change', 'one'), denied.data);
    expect(denied.data!.change).toMatchObject({ state: 'denied' });
    await json(bot, 'change request service=checkout summary="resize disks" risk=high');
    const cancelled = await json(bot, 'change cancel CR-4');
    expectValid(schema('change', 'one'), cancelled.data);
    expect(cancelled.data!.change).toMatchObject({ state: 'cancelled' });

    const shown = await json(bot, 'change show CR-1');
    expect(shown.ok).toBe(true);
    expectValid(schema('change', 'one'), shown.data);
    const listed = await json(bot, 'change list');
    expectValid(schema('change', 'list'), listed.data);
    // All four were requested in the same instant of the fixed clock.
    expect((listed.data!.changes as Array<{ id: string }>).map((c) => c.id).sort()).toEqual([
      'CR-1',
      'CR-2',
      'CR-3',
      'CR-4',
    ]);

    const frozen = await json(bot, 'change freeze service=checkout until=4h reason="black friday"');
    expectValid(schema('change', 'freeze'), frozen.data);
    expect(frozen.data!.freeze).toMatchObject({
      service: 'checkout',
      until: '2026-11-26T14:00:00.000Z',
      inSeconds: 4 * 3600,
      by: 'ana',
    });
    const unfrozen = await json(bot, 'change unfreeze service=checkout');
    expectValid(schema('change', 'unfreeze'), unfrozen.data);
    expect(unfrozen.data).toEqual({ unfreeze: { service: 'checkout', removed: true } });

    const stats = await json(bot, 'change stats days=7');
    expectValid(schema('change', 'stats'), stats.data);
    expect(stats.data!.stats).toMatchObject({
      days: 7,
      requested: 4,
      executed: 2,
      failed: 0,
      // Both executed changes are still in progress or in verification: no outcome to rate yet.
      failureRate: null,
      waitingForApproval: 0,
      meanTimeToRestoreSeconds: null,
    });
    // A formatted string where a number belongs is refused.
    expect(
      schema('change', 'stats')({ stats: { ...(stats.data!.stats as object), failureRate: '0.0%' } }),
    ).toBe(false);
  });

  it('incident declare, note, status, role, brief, list, resolve and postmortem', async () => {
    const declared = await json(bot, 'incident declare checkout 5xx spike service=checkout sev=3');
    expect(declared.ok).toBe(true);
    expectValid(schema('incident', 'brief'), declared.data);
    expect(declared.data).toMatchObject({
      incident: { id: 'INC-1', severity: 3, status: 'investigating', resolvedAt: null, durationSeconds: 0 },
      budget: null,
      runbooks: ['bump', 'change-target'],
      problems: [],
    });
    // The change that ran before it is a suspect, with its lead in minutes.
    expect(declared.data!.suspects).toContainEqual(
      expect.objectContaining({ kind: 'change', what: expect.stringMatching(/^CR-1 /), leadMinutes: 0 }),
    );

    const noted = await json(bot, 'incident note "error rate up since 09:55"');
    expectValid(schema('incident', 'one'), noted.data);
    clock.set('2026-11-26T10:05:00Z');
    const status = await json(bot, 'incident status identified');
    expectValid(schema('incident', 'one'), status.data);
    const role = await json(bot, 'incident role commander=@bo');
    expectValid(schema('incident', 'one'), role.data);
    expect(role.data!.incident).toMatchObject({
      status: 'identified',
      commander: 'bo',
      durationSeconds: 300,
    });

    const brief = await json(bot, 'incident brief');
    expect(brief.ok).toBe(true);
    expectValid(schema('incident', 'brief'), brief.data);
    const listed = await json(bot, 'incident list');
    expectValid(schema('incident', 'list'), listed.data);

    clock.set('2026-11-26T10:20:00Z');
    const resolved = await json(bot, 'incident resolve summary="cache config rolled back"');
    expectValid(schema('incident', 'one'), resolved.data);
    expect(resolved.data!.incident).toMatchObject({
      status: 'resolved',
      resolvedAt: '2026-11-26T10:20:00.000Z',
      durationSeconds: 20 * 60,
      summary: 'cache config rolled back',
    });
    const draft = await json(bot, 'incident postmortem id=INC-1');
    expect(draft.ok).toBe(true);
    expectValid(schema('incident', 'postmortem'), draft.data);
    expect(draft.data).toMatchObject({ impact: null, problems: [] });
    expect(draft.data!.markdown).toContain('# Postmortem draft: INC-1');
    expect(draft.data!.timeline).toContainEqual({
      at: '2026-11-26T10:05:00.000Z',
      by: 'ana',
      what: 'status: identified',
    });
    const all = await json(bot, 'incident list all');
    expect((all.data!.incidents as Array<{ hasPostmortem: boolean }>)[0]?.hasPostmortem).toBe(true);
  });

  it('runbook list, show and run (and the confirmation a runbook asks for first)', async () => {
    const listed = await json(bot, 'runbook list');
    expectValid(schema('runbook', 'list'), listed.data);
    expect(listed.data!.unloaded).toEqual([]);
    const shown = await json(bot, 'runbook show change-target');
    expectValid(schema('runbook', 'show'), shown.data);
    expect(shown.data!.runbook).toMatchObject({
      name: 'change-target',
      timeout: expect.any(String),
      timeoutSeconds: expect.any(Number),
      params: expect.arrayContaining([
        expect.objectContaining({ name: 'amount', type: 'int', default: 2, min: 1, max: 10 }),
      ]),
      allowed: true,
    });

    const ran = await json(bot, 'runbook run bump target=cart');
    expect(ran.ok).toBe(true);
    expectValid(schema('runbook', 'run'), ran.data);
    expect(ran.data!.run).toMatchObject({
      runbook: 'bump',
      status: 'succeeded',
      dryRun: false,
      actor: 'ana',
      params: { target: 'cart' },
      steps: [{ phase: 'main', position: 1, uses: 'recorder.change', status: 'ok', error: null }],
    });
    // A failed run is not ok, and its data says which step failed, why, and that the rollback ran.
    const failed = await json(bot, 'runbook run change-target target=web failAfter=true --yes');
    expect(failed.ok).toBe(false);
    expectValid(schema('runbook', 'run'), failed.data);
    const steps = (failed.data!.run as { status: string; steps: Array<Record<string, unknown>> }).steps;
    expect(failed.data!.run).toMatchObject({ status: 'rolled-back', params: { failAfter: true, amount: 2 } });
    expect(steps.find((step) => step.status === 'failed')).toMatchObject({
      phase: 'main',
      position: 3,
      error: { code: failed.error!.code, message: expect.stringContaining('check failed') },
    });
    expect(steps.at(-1)).toMatchObject({ phase: 'rollback', label: 'undo', status: 'ok' });

    const confirm = await json(bot, 'runbook run change-target target=web');
    expect(confirm.ok).toBe(true);
    expectValid(schema('runbook', 'confirm'), confirm.data);
    expect(confirm.data!.confirm).toMatchObject({
      runbook: 'change-target',
      command: expect.stringMatching(/^runbook run change-target target=web .*--yes$/),
    });
  });

  it('digest list, a preview, and a post that cannot happen here (an error in its documented shape)', async () => {
    const listed = await json(bot, 'digest list');
    expectValid(schema('digest', 'list'), listed.data);
    expect((listed.data!.digests as Array<Record<string, unknown>>)[0]).toMatchObject({
      name: 'morning',
      timeZone: 'Europe/Berlin',
      nextRun: expect.any(String),
      lastRun: null,
    });
    const preview = await json(bot, 'digest run morning --here');
    expect(preview.ok).toBe(true);
    expectValid(schema('digest', 'preview'), preview.data);
    expect(preview.data!.sections).toEqual([
      expect.objectContaining({ name: 'changes', read: true }),
      expect.objectContaining({ name: 'incidents', read: true }),
    ]);
    const posted = await json(bot, 'digest run morning');
    expect(posted).toMatchObject({ ok: false, error: { code: 'millwright_not_configured' } });
    expect(posted.data).toBeUndefined();
  });

  it('audit records carry seq, hash chain and outcome; audit verify says the trail is intact', async () => {
    for (const line of ['whoami', 'help', 'whoami', 'help', 'whoami']) await json(bot, line);
    const audit = await json(bot, 'audit n=5');
    expectValid(schema('audit', 'list'), audit.data);
    const records = audit.data!.records as Array<Record<string, unknown>>;
    expect(records).toHaveLength(5);
    const [newest, older] = records;
    expect(newest!.seq).toBe((older!.seq as number) + 1);
    expect(newest!.prevHash).toBe(older!.hash);
    expect(newest).toMatchObject({ actor: 'ana', surface: 'shell', outcome: expect.any(String) });

    // The chat command checks the live trail as millwright audit verify does, in the same shape.
    const verified = await json(bot, 'audit verify', 'zed');
    expect(verified.ok).toBe(true);
    expectValid(schema('audit', 'verify'), verified.data);
    expect(verified.data).toMatchObject({ intact: true, firstBadSeq: null, problem: null, tornTail: false });
    expect(verified.data!.recordsChecked).toBeGreaterThanOrEqual(newest!.seq as number);
  });

  it('errors have their documented shape: unknown verb, bad argument, not found, permission denied', async () => {
    const cases: Array<[string, string, string]> = [
      ['frobnicate', 'ana', 'millwright_unknown_command'],
      ['change request service=checkout summary=x risk=extreme', 'ana', 'millwright_bad_argument'],
      ['change show CR-99', 'ana', 'millwright_not_found'],
      ['change list', 'zed', 'millwright_permission_denied'],
    ];
    for (const [line, actor, code] of cases) {
      const answer = await json(bot, line, actor);
      expect(answer).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
      expect(answer.ref).toMatch(/^[0-9a-f]{10}$/);
    }
    // The envelope refuses a failure without its error.
    expect(schema('reply')({ ok: false, text: 'x', blocks: [] })).toBe(false);
  });
});

describe('--json when Prometheus is down: partial answers exit non-zero with what could be read', () => {
  let bot: TestBot;
  // Nothing listens on port 1: Prometheus is "down", refused at once.
  const port = 1;

  const config = (prometheus: number) => `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'changes')}
prometheus:
  url: http://127.0.0.1:${prometheus}
  timeout: 200ms
slo:
  dir: ${path.join(FIXTURES, 'slo', 'scenarios')}
services:
  checkout: { owners: [olu] }
policy:
  rules:
    - kind: change-class
    - kind: error-budget
      minRemainingPercent: 25
  approvals: { role: operator, required: 1, ttl: 24h }
digests:
  - name: morning
    schedule: "0 9 * * 1-5"
    timeZone: Europe/Berlin
    target: C0123ABCD
    services: [checkout]
    sections: [budgets, changes]
`;

  beforeAll(async () => {
    bot = await startTestBot({
      config: (dir) => `${config(port)}executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
access:
  defaultRoles: []
  roles:
    operator: { allow: ['*'] }
  subjects:
    ana: [operator]
`,
    });
  });
  afterAll(() => bot.close());

  it('change request and change show: the change is filed, the gate rule that needed Prometheus is named', async () => {
    const requested = await json(bot, 'change request bump target=cart');
    expect(requested.ok).toBe(false);
    expect(requested.error?.code).toBe('millwright_prometheus_unavailable');
    expect(requested.error?.message).toMatch(/^CR-1 gate rule error-budget \(checkout-availability\): /);
    expectValid(schema('change', 'one'), requested.data);
    expect(requested.data!.change).toMatchObject({ id: 'CR-1', state: 'pending-approval' });
    const rules = (requested.data!.change as { gate: { rules: Array<Record<string, unknown>> } }).gate.rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        kind: 'error-budget',
        status: 'unknown',
        value: null,
        threshold: 25,
        unreadable: { code: 'millwright_prometheus_unavailable', message: expect.any(String) },
      }),
    );
    // The rule that needed nothing from Prometheus still has its verdict.
    expect(rules).toContainEqual(expect.objectContaining({ kind: 'change-class', status: 'pass' }));
    expect(requested.data!.problems).toContainEqual({
      part: 'CR-1 gate rule error-budget (checkout-availability)',
      code: 'millwright_prometheus_unavailable',
      message: expect.any(String),
    });

    const shown = await json(bot, 'change show CR-1');
    expect(shown.ok).toBe(false);
    expectValid(schema('change', 'one'), shown.data);
    expect(shown.text).toContain('CR-1 waits for approval');
  });

  it('incident declare and brief: the incident stands, its budget numbers are named as missing', async () => {
    const declared = await json(bot, 'incident declare checkout slow service=checkout sev=3');
    expect(declared.ok).toBe(false);
    expect(declared.error?.code).toBe('millwright_prometheus_unavailable');
    expectValid(schema('incident', 'brief'), declared.data);
    expect(declared.data!.incident).toMatchObject({ id: 'INC-1', status: 'investigating' });
    expect(declared.data!.budget).toContainEqual(
      expect.objectContaining({ slo: 'checkout-availability', budgetRemaining: null, burnState: 'unknown' }),
    );
    expect((declared.data!.problems as Array<{ part: string }>).map((p) => p.part)).toContain(
      'error budget checkout-availability',
    );
    const brief = await json(bot, 'incident brief');
    expect(brief.ok).toBe(false);
    expectValid(schema('incident', 'brief'), brief.data);
  });

  it('digest preview: the section Prometheus could not answer is named, the others still read', async () => {
    const preview = await json(bot, 'digest run morning --here');
    expect(preview.ok).toBe(false);
    expect(preview.error?.code).toBe('millwright_prometheus_unavailable');
    expectValid(schema('digest', 'preview'), preview.data);
    expect(preview.data!.sections).toEqual([
      expect.objectContaining({ name: 'budgets', read: false }),
      expect.objectContaining({ name: 'changes', read: true }),
    ]);
    expect((preview.data!.problems as Array<{ part: string }>).map((p) => p.part)).toContain(
      'section budgets: checkout/availability',
    );
  });

  it('one-shot mode: millwright shell -e ... --json exits 1 with the change in data', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-json-cli-'));
    try {
      const file = path.join(dir, 'millwright.yml');
      await writeFile(
        file,
        `store:\n  path: ./data\n${config(port)}executors:\n  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}\n    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }\n${accessWithImpersonator({ defaultRoles: [], subjects: { ana: ['operator'] }, roles: { operator: { allow: ['*'] } } })}`,
      );
      const run = await millwright([
        'shell',
        '--config',
        file,
        '--as',
        'ana',
        '--json',
        '-e',
        'change request bump target=cart',
      ]);
      expect(run.code).toBe(1);
      const answer = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as JsonLine;
      expectValid(schema('reply'), answer);
      expectValid(schema('change', 'one'), answer.data);
      expect(answer).toMatchObject({ ok: false, error: { code: 'millwright_prometheus_unavailable' } });

      // Nothing Prometheus serves could be read: exit 1, the SLOs still listed with null numbers.
      const budget = await millwright(['shell', '--config', file, '--as', 'ana', '--json', '-e', 'budget']);
      expect(budget.code).toBe(1);
      const budgets = JSON.parse(budget.stdout.trim().split('\n').at(-1)!) as JsonLine;
      expectValid(schema('reply'), budgets);
      expectValid(schema('budget'), budgets.data);
      expect(budgets.error?.code).toBe('millwright_prometheus_unavailable');
      expect(budgets.data!.slos).toContainEqual(
        expect.objectContaining({
          slo: 'checkout/availability',
          objective: 99.9,
          budgetRemaining: { value: null, kind: 'unknown' },
        }),
      );

      const verify = await millwright(['audit', 'verify', '--config', file, '--json']);
      expect(verify.code).toBe(0);
      const verdict = JSON.parse(verify.stdout) as JsonLine;
      expectValid(schema('reply'), verdict);
      expectValid(schema('audit-verify'), verdict.data);
      expect(verdict.data).toMatchObject({ intact: true, firstBadSeq: null, tornTail: false });
      expect(verdict.data!.recordsChecked).toBeGreaterThanOrEqual(2);

      const trail = path.join(dir, 'data', 'audit.jsonl');
      const lines = (await readFile(trail, 'utf8')).split('\n');
      lines[0] = lines[0]!.replace('"actor":"ana"', '"actor":"eve"');
      await writeFile(trail, lines.join('\n'));
      const broken = await millwright(['audit', 'verify', '--config', file, '--json']);
      expect(broken.code).toBe(1);
      const bad = JSON.parse(broken.stdout) as JsonLine;
      expectValid(schema('reply'), bad);
      expectValid(schema('audit-verify'), bad.data);
      expect(bad).toMatchObject({
        ok: false,
        data: { intact: false, recordsChecked: 0, firstBadSeq: 1 },
        error: { code: 'millwright_audit_broken' },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('--json when Kubernetes answers 5xx: an incident whose suspects need it is partial', () => {
  let fleet: Fleet;
  let bot: TestBot;

  beforeAll(async () => {
    fleet = await startFleet(['checkout']);
    // A deployment half an hour before the trouble: the suspect GitHub still names.
    fleet.github.state.addDeployment('acme/checkout', {
      ref: 'v1.4.3',
      sha: '43a1b2c3d4e5f60718293a4b5c6d7e8f90123456',
      environment: 'production',
      creator: 'olu',
      createdAt: new Date(fleet.clock.now().getTime() - 30 * 60_000),
      statuses: [{ state: 'success' }],
    });
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
  });
  afterAll(async () => {
    await bot.close();
    await fleet.close();
  });
  afterEach(() => fleet.kubernetes.clearFaults());

  it('GitHub answers, Kubernetes does not: the GitHub deploys are suspects, the cluster side is named missing', async () => {
    fleet.kubernetes.inject({ path: /^\/apis\/apps\/v1\/namespaces\/shop\//, times: Infinity, fault: 500 });
    const declared = await json(bot, 'incident declare checkout errors service=checkout sev=3');
    expect(declared.ok).toBe(false);
    expectValid(schema('incident', 'brief'), declared.data);
    expect(declared.data!.incident).toMatchObject({ id: 'INC-1', service: 'checkout' });
    expect(declared.data!.suspects).toContainEqual(
      expect.objectContaining({
        kind: 'deploy',
        by: 'olu',
        leadMinutes: 30,
        what: expect.stringContaining('v1.4.3'),
      }),
    );
    expect(declared.data!.problems).toEqual([
      {
        part: 'suspects: Kubernetes deploy history',
        code: declared.error!.code,
        message: expect.stringContaining('500'),
      },
    ]);
    expect(declared.error!.message).toMatch(/^suspects: Kubernetes deploy history: /);

    fleet.kubernetes.clearFaults();
    const whole = await json(bot, 'incident brief id=INC-1');
    expect(whole.ok).toBe(true);
    expect(whole.data!.problems).toEqual([]);
  });
});
