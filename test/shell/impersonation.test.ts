// Who the shell runs as: the OS user's subject, and `--as` another subject only with the
// impersonate permission. Driven through bin/millwright.js as the OS user running the tests.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AuditRecord } from '../../src/core/index.js';
import { OS_USER } from '../helpers/os-user.js';
import { millwright, ROOT } from '../helpers/spawn.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

const ROLES = `  roles:
    viewer: { allow: [help, whoami, audit] }
    operator: { allow: [help, whoami, audit, 'runbook.*'] }
    impersonator: { allow: [impersonate] }
    admin: { allow: ['*'] }
`;

describe('impersonation in the shell', () => {
  let dir: string;
  let config: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-impersonate-'));
    config = path.join(dir, 'millwright.yml');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const givenAccess = (lines: string) =>
    writeFile(config, `store:\n  path: ./data\naccess:\n  defaultRoles: [viewer]\n${ROLES}${lines}`);
  const shell = (...args: string[]) => millwright(['shell', '--config', config, ...args]);
  const trail = async (): Promise<AuditRecord[]> =>
    (await readFile(path.join(dir, 'data', 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);

  it('refuses --as from an OS user not in access.osUsers, says how to allow it, and audits the refusal', async () => {
    await writeFile(config, 'store:\n  path: ./data\n');
    const result = await shell('--as', 'bob', '-e', 'whoami');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `millwright: --as bob refused: OS user ${OS_USER} is not in access.osUsers, so acts as ${OS_USER}, ` +
        `and ${OS_USER} (roles: viewer) may not run impersonate; to allow it, map ${OS_USER} in access.osUsers ` +
        'to a subject whose role allows impersonate, or run without --as\n',
    );
    expect(await trail()).toEqual([
      expect.objectContaining({
        actor: OS_USER,
        via: `os:${OS_USER}`,
        action: 'shell.impersonate',
        args: { as: 'bob' },
        outcome: 'denied',
        code: 'millwright_permission_denied',
      }),
    ]);
  });

  it('refuses --as from a mapped OS user whose subject lacks impersonate, piped commands included', async () => {
    await givenAccess(`  subjects:\n    ana: [operator]\n  osUsers:\n    ${JSON.stringify(OS_USER)}: ana\n`);
    const result = await millwright(['shell', '--config', config, '--as', 'bob'], {
      input: 'whoami\nhelp\n',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      `millwright: --as bob refused: OS user ${OS_USER} acts as ana (access.osUsers), and ana (roles: operator, viewer) ` +
        'may not run impersonate; to allow it, give ana a role that allows impersonate in access.subjects, or run without --as',
    ]);
    const records = await trail();
    expect(records.map((r) => [r.actor, r.via, r.action, r.outcome])).toEqual([
      ['ana', `os:${OS_USER}`, 'shell.impersonate', 'denied'],
    ]);
  });

  it('lets a subject holding impersonate act as another, and every record names both; the chain verifies', async () => {
    await givenAccess(
      `  subjects:\n    ana: [impersonator]\n    bob: [operator]\n  osUsers:\n    ${JSON.stringify(OS_USER)}: ana\n`,
    );
    const result = await shell('--as', 'bob', '--json', '-e', 'whoami');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).text).toMatch(/You are bob[\s\S]*roles:\s+operator, viewer/);
    // A permission like any other: the admin's `*` covers it too.
    await givenAccess(
      `  subjects:\n    root-ana: [admin]\n  osUsers:\n    ${JSON.stringify(OS_USER)}: root-ana\n`,
    );
    expect((await shell('--as', 'bob', '-e', 'help')).code).toBe(0);

    expect((await trail()).map((r) => [r.actor, r.via, r.action, r.outcome])).toEqual([
      ['bob', `os:${OS_USER}`, 'command.whoami', 'ok'],
      ['bob', `os:${OS_USER}`, 'command.help', 'ok'],
    ]);
    const verified = await millwright(['audit', 'verify', '--config', config]);
    expect(verified.stdout).toMatch(/ok, 2 records, hash chain intact/);
    expect(verified.code).toBe(0);
  });

  it('carries the real person onto the runbook and executor records an impersonated command makes', async () => {
    await writeFile(
      config,
      `store:\n  path: ./data\nrunbooks:\n  dir: ${path.join(FIXTURES, 'runbooks', 'recorder')}\n` +
        `executors:\n  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}\n    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }\n` +
        `access:\n  defaultRoles: [viewer]\n${ROLES}  subjects:\n    ana: [impersonator]\n    bob: [operator]\n` +
        `  osUsers:\n    ${JSON.stringify(OS_USER)}: ana\n`,
    );
    const result = await shell('--as', 'bob', '-e', 'runbook run change-target target=cart --yes');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const records = await trail();
    expect(records.map((r) => r.action)).toEqual(
      expect.arrayContaining(['runbook.run', 'executor.recorder.change', 'command.runbook.run']),
    );
    for (const record of records) expect([record.actor, record.via]).toEqual(['bob', `os:${OS_USER}`]);
    expect((await millwright(['audit', 'verify', '--config', config])).code).toBe(0);
  });

  it('runs as the subject the OS user maps to without --as, and --as that same subject needs no permission', async () => {
    await givenAccess(`  subjects:\n    ana: [operator]\n  osUsers:\n    ${JSON.stringify(OS_USER)}: ana\n`);
    const plain = await shell('-e', 'whoami');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/You are ana[\s\S]*roles:\s+operator, viewer/);
    const self = await shell('--as', 'ana', '-e', 'whoami');
    expect(self.code).toBe(0);
    const records = await trail();
    expect(records.map((r) => [r.actor, r.action, r.outcome])).toEqual([
      ['ana', 'command.whoami', 'ok'],
      ['ana', 'command.whoami', 'ok'],
    ]);
    for (const record of records) expect(record).not.toHaveProperty('via');
  });
});
