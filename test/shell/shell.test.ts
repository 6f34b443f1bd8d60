// Drives the real entry point (bin/millwright.js) the way a person or a script does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { accessWithImpersonator } from '../helpers/os-user.js';
import { BIN, runProcess as run } from '../helpers/spawn.js';

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('the terminal shell', () => {
  let dir: string;
  let config: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-shell-'));
    config = path.join(dir, 'millwright.yml');
    await writeFile(
      config,
      `store:\n  path: ./data\n${accessWithImpersonator({ defaultRoles: ['viewer'], roles: { viewer: { allow: ['help', 'whoami', 'audit'] } } })}`,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers each piped line with one JSON reply', async () => {
    const result = await run('node', [BIN, 'shell', '--config', config, '--as', 'ana', '--json'], {
      input: 'help\nwhoami\n',
    });
    expect(result.stderr).toBe('');
    const replies = jsonLines(result.stdout);
    expect(replies).toHaveLength(2);
    expect(replies.map((r) => r.ok)).toEqual([true, true]);
    expect(replies[1].text).toMatch(/actor:\s+ana/);
    expect(replies[1].ref).toMatch(/^[0-9a-f]{10}$/);
    expect(result.code).toBe(0);
  });

  it('runs one command with -e and exits non-zero when it fails, with the error in JSON', async () => {
    const ok = await run('node', [BIN, 'shell', '--config', config, '-e', 'whoami']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/surface:\s+shell/);
    const bad = await run('node', [BIN, 'shell', '--config', config, '--json', '-e', 'deploy checkout']);
    expect(bad.code).toBe(1);
    const [reply] = jsonLines(bad.stdout);
    expect(reply).toMatchObject({ ok: false, error: { code: 'millwright_unknown_command' } });
    expect(reply.error.hint).toMatch(/type help/);
  });

  it('prints a plain-text error line, never a stack trace, for nonsense', async () => {
    const result = await run('node', [BIN, 'shell', '--config', config], { input: 'audit n="5\n' });
    expect(result.stdout).toMatch(
      /^error: unclosed double quote starting at column 9\nhint: close the quote/,
    );
    expect(result.stdout).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('refuses to start on an invalid config with file, line and path', async () => {
    const broken = path.join(dir, 'broken.yml');
    await writeFile(broken, 'server:\n  port: high\n');
    const result = await run('node', [BIN, 'shell', '--config', broken, '-e', 'help']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/broken\.yml:2:\d+ server\.port/);
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('works as the README says: npm start with piped input on the bundled config', async () => {
    const result = await run('npm', ['start', '--silent', '--', '--json'], {
      input: 'help\nwhoami\n',
      env: { MILLWRIGHT_CONFIG: '' },
    });
    const replies = jsonLines(result.stdout);
    expect(replies.map((r) => r.ok)).toEqual([true, true]);
    expect(result.code).toBe(0);
  });
});
