// Runbooks from chat: parameters, permissions, confirmation, steps, rollback, deadlines, audit.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replyToText } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

function config(dir: string) {
  return `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'recorder')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config:
      callsFile: ${path.join(dir, 'calls.jsonl')}
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit, runbook.list, runbook.show] }
    operator: { allow: ['runbook.*'] }
    responder: { allow: ['runbook.*', runbook.break-glass] }
    runner: { allow: [runbook.run] }
  subjects:
    ana: [operator]
    rita: [responder]
    bob: [runner]
    group:oncall: [operator]
  breakGlass:
    notify: C-SECURITY
`;
}

describe('runbook commands', () => {
  let bot: TestBot;
  const calls = async () =>
    (await readFile(path.join(bot.dir, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { action: string; input: Record<string, unknown>; dryRun: boolean });

  beforeEach(async () => {
    bot = await startTestBot({ config });
  });
  afterEach(() => bot.close());

  it('lists runbooks with whether you may run them, and shows one with its parameters', async () => {
    const listed = replyToText(await bot.run('runbook list', 'ana'));
    expect(listed).toMatch(/change-target\s+Changes a target.*low\s+checkout\s+yes/);
    expect(replyToText(await bot.run('runbook list tag=nothing', 'ana'))).toBe('No runbooks match.');
    const shown = replyToText(await bot.run('runbook show change-target', 'eve'));
    expect(shown).toMatch(/amount\s+int\s+no\s+2\s+1\.\.10\s+by how much/);
    expect(shown).toContain('roles operator in C-OPS, shell');
  });

  it('asks for confirmation first and runs nothing until confirmed', async () => {
    const answer = await bot.run('runbook run change-target target=cart', 'ana');
    expect(answer.ok).toBe(true);
    const text = replyToText(answer);
    expect(text).toContain('Confirm: change-target');
    expect(text).toContain(
      '[Run change-target] runbook run change-target target=cart amount=2 failAfter=false --yes',
    );
    const confirm = answer.blocks.find((b) => b.type === 'actions');
    expect(confirm?.type === 'actions' && confirm.actions[0]?.token).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(await calls()).toEqual([]);
  });

  it('runs the steps in order with typed parameters, skips a false condition, and audits each call', async () => {
    const answer = await bot.run('runbook run change-target target=cart amount=3 --yes', 'ana');
    expect(answer.ok).toBe(true);
    expect(answer.visibility).toBe('public');
    const text = replyToText(answer);
    expect(text).toMatch(/^change-target succeeded in/);
    expect(text).toMatch(/1\s+say what happens\s+recorder\.echo\s+ok/);
    expect(text).toMatch(/3\s+check\s+recorder\.fail\s+skipped/);
    expect(await calls()).toEqual([
      { action: 'echo', input: { message: 'changing cart by 3' }, dryRun: false, actor: 'ana' },
      { action: 'change', input: { target: 'cart', amount: 3 }, dryRun: false, actor: 'ana' },
    ]);
    const actions = (await bot.runtime.services.audit.recent({ limit: 20 }))
      .map((r) => `${r.action}:${r.outcome}`)
      .reverse();
    expect(actions).toEqual([
      'runbook.run:started',
      'executor.recorder.echo:started',
      'executor.recorder.echo:ok',
      'executor.recorder.change:started',
      'executor.recorder.change:ok',
      'runbook.run:succeeded',
      'command.runbook.run:ok',
    ]);
  });

  it('posts progress and updates it in place while steps run', async () => {
    const seen: string[] = [];
    await bot.run('runbook run change-target target=cart --yes', 'ana', {
      sink: {
        send: async (r) => {
          seen.push(replyToText(r));
          return { update: async (next) => void seen.push(replyToText(next)) };
        },
      },
    });
    expect(seen[0]).toBe('Running change-target: step 1 of 3...');
    expect(seen).toContain('Running change-target: step 1 ok, step 2 of 3...');
    expect(seen.at(-1)).toMatch(/^change-target succeeded in/);
  });

  it('rolls back when a step that says so fails, and reports the failure honestly', async () => {
    const answer = await bot.run('runbook run change-target target=cart failAfter=true --yes', 'ana');
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toMatch(/^change-target FAILED and was rolled back at check: /);
    expect(replyToText(answer)).toMatch(/r1\s+undo\s+recorder\.change\s+ok/);
    expect((await calls()).map((c) => [c.action, c.input])).toEqual([
      ['echo', { message: 'changing cart by 2' }],
      ['change', { target: 'cart', amount: 2 }],
      ['fail', { why: 'check failed after changing cart by 2' }],
      ['change', { target: 'cart', amount: 0 }],
    ]);
  });

  it('dry-runs through the executors without changing anything', async () => {
    const answer = await bot.run('runbook run change-target target=cart --dry-run', 'ana');
    expect(answer.ok).toBe(true);
    expect(replyToText(answer)).toMatch(/dry run complete, nothing was changed/);
    expect((await calls()).every((c) => c.dryRun)).toBe(true);
  });

  it.each([
    ['target=cart;rm', 'target must match'],
    ['target=$(reboot)', 'target must match'],
    ['target=`id`', 'target must match'],
    ['target=../etc', 'target must not contain ".."'],
    ['target="a\nb"', 'target must not contain newlines'],
    ['target={"a":1}', 'target must match'],
    ['target=Cart_Service', 'target must match'],
    ['target=cart amount=11', 'amount must be between 1 and 10, got 11'],
    ['target=cart amount=1e3', 'amount must be a whole number'],
    ['target=cart colour=red', 'change-target has no parameter colour'],
  ])('refuses %s before any executor is called', async (params, message) => {
    const answer = await bot.run(`runbook run change-target ${params} --yes`, 'ana');
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe('millwright_bad_argument');
    expect(answer.error?.message).toContain(message);
    expect(await calls()).toEqual([]);
  });

  it('answers a run without its required parameters with a form to fill in', async () => {
    const answer = await bot.run('runbook run change-target', 'ana');
    expect(answer.error).toMatchObject({
      field: 'target',
      message: 'change-target needs target= (what to change)',
    });
    const form = answer.blocks.find((b) => b.type === 'form');
    expect(form).toMatchObject({
      command: 'runbook run change-target',
      fields: [
        { name: 'target', required: true },
        { name: 'amount', type: 'int', min: 1, max: 10, default: 2 },
        { name: 'failAfter' },
      ],
    });
  });

  it('prefills its form only with values a run would take, in the form the run takes them', async () => {
    // target is missing, so a form opens with what was given: ` 3` is 3, `20` is past the maximum 10.
    const answer = await bot.run('runbook run change-target amount=" 3"', 'ana');
    const form = answer.blocks.find((b) => b.type === 'form');
    expect(form).toMatchObject({
      fields: expect.arrayContaining([expect.objectContaining({ name: 'amount', default: 3 })]),
    });
    const high = await bot.run('runbook run change-target amount=20', 'ana');
    const highForm = high.blocks.find((b) => b.type === 'form');
    const amount = highForm?.type === 'form' ? highForm.fields.find((f) => f.name === 'amount') : undefined;
    expect(amount).toMatchObject({ default: '20', defaultProblem: 'must be between 1 and 10' });
  });

  it('refuses a role or a channel the runbook does not allow, and break-glass needs its own role', async () => {
    const viewer = await bot.run('runbook run change-target target=cart --yes', 'eve');
    expect(viewer.error?.code).toBe('millwright_permission_denied');
    const elsewhere = await bot.router.handle({
      actor: { id: 'ana' },
      surface: 'slack',
      channel: 'C-RANDOM',
      text: 'runbook run change-target target=cart --yes',
    });
    expect(elsewhere.error?.message).toBe(
      'permission denied: change-target may only be run in C-OPS, shell, not in C-RANDOM',
    );
    const noReason = await bot.run('runbook run change-target target=cart --yes --break-glass', 'rita');
    expect(noReason.error?.message).toBe('--break-glass needs reason="..."');
    const notHolder = await bot.run(
      'runbook run change-target target=cart --yes --break-glass reason="checkout down, approver away"',
      'eve',
    );
    expect(notHolder.error?.code).toBe('millwright_permission_denied');
    expect(await calls()).toEqual([]);
  });

  it('names the groups a surface could not read when their roles are what the runbook wanted', async () => {
    const unreadGroups = {
      source: 'Slack user groups',
      groups: ['oncall'],
      cause: 'usergroups.list: missing_scope; the app needs usergroups:read',
    };
    const line = 'runbook run change-target target=cart --yes';
    const withoutGroups = await bot.run(line, 'bob', { actor: { id: 'bob', unreadGroups } });
    expect(withoutGroups.error).toMatchObject({
      code: 'millwright_permission_denied',
      message:
        'permission denied: your roles from Slack user groups could not be read (usergroups.list: missing_scope; the app needs usergroups:read), so only roles given to you by name apply',
      hint: expect.stringContaining('change-target may be run by roles operator; bob has runner, viewer'),
    });
    // A group whose roles would not have helped changes nothing in the refusal.
    const irrelevant = await bot.run(line, 'bob', {
      actor: { id: 'bob', unreadGroups: { ...unreadGroups, groups: ['readers'] } },
    });
    expect(irrelevant.error?.message).toBe(
      'permission denied: change-target may be run by roles operator; bob has runner, viewer',
    );
    expect(await calls()).toEqual([]);
  });

  it('lets a break-glass holder through, loudly: an audit record and a notice', async () => {
    const notices: string[] = [];
    bot.runtime.services.notices.register({
      name: 'recorder',
      owns: () => true,
      post: async (target, r) => {
        notices.push(`${target}: ${replyToText(r)}`);
        return { update: async () => {} };
      },
    });
    const answer = await bot.router.handle({
      actor: { id: 'rita' },
      surface: 'slack',
      channel: 'C-RANDOM',
      text: 'runbook run change-target target=cart --yes --break-glass reason="checkout down, approver away"',
    });
    expect(answer.ok).toBe(true);
    expect(notices[0]).toMatch(/^C-SECURITY: Break-glass: rita ran change-target/);
    const records = await bot.runtime.services.audit.recent({ limit: 20 });
    expect(records.find((r) => r.action === 'runbook.break-glass')).toMatchObject({
      actor: 'rita',
      outcome: 'used',
      args: { reason: 'checkout down, approver away' },
    });
  });

  it('cuts off a hung executor at the step deadline with a clear reply', async () => {
    const answer = await bot.run('runbook run hang', 'ana');
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe('millwright_timeout');
    expect(answer.error?.message).toMatch(/recorder\.hang did not finish within 2s and was cut off/);
  });
});
