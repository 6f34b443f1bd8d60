// The operator's command line: `millwright audit verify` and `millwright config check`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { accessWithImpersonator } from './helpers/os-user.js';
import { millwright } from './helpers/spawn.js';

describe('the millwright command line', () => {
  let dir: string;
  let config: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-cli-'));
    config = path.join(dir, 'millwright.yml');
    // The OS user may pick the actor with --as (access.osUsers and the impersonate permission).
    await writeFile(config, `store:\n  path: ./data\n${accessWithImpersonator()}`);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('audit verify passes on the trail the shell wrote, and names the first edited seq', async () => {
    await millwright(['shell', '--config', config, '--as', 'ana'], { input: 'whoami\nhelp\naudit\n' });
    const intact = await millwright(['audit', 'verify', '--config', config]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/ok, 3 records, hash chain intact/);

    const trail = path.join(dir, 'data', 'audit.jsonl');
    const lines = (await readFile(trail, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('"actor":"ana"', '"actor":"eve"');
    await writeFile(trail, lines.join('\n'));
    const edited = await millwright(['audit', 'verify', '--path', trail]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toMatch(/BROKEN at seq 2/);
  });

  it('a one-shot shell builds only what the command uses: help and whoami open no store, change list does', async () => {
    const help = await millwright(['shell', '--config', config, '--as', 'ana', '-e', 'help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Millwright commands');
    const whoami = await millwright(['shell', '--config', config, '--as', 'ana', '-e', 'whoami']);
    expect(whoami.stdout).toContain('You are ana');
    // Both are audited, but neither needed the change store.
    await expect(readFile(path.join(dir, 'data', 'store.json'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect((await readFile(path.join(dir, 'data', 'audit.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(
      2,
    );
    await writeFile(
      config,
      `store:\n  path: ./data\n${accessWithImpersonator({ defaultRoles: [], subjects: { ana: ['admin'] }, roles: { admin: { allow: ['*'] } } })}`,
    );
    const changes = await millwright(['shell', '--config', config, '--as', 'ana', '-e', 'change list']);
    expect(changes.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'data', 'store.json'), 'utf8'))).toBeDefined();
  });

  it('config check says ok and what is configured, or lists each problem with its place', async () => {
    const ok = await millwright(['config', 'check', config]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok .*slack: not configured/);

    await writeFile(
      config,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader to interpolate
      'slack:\n  botToken: ${SLACK_BOT_TOKEN}\n  signingSecret: s3cr3t-signing\nserver:\n  prot: 80\n',
    );
    const bad = await millwright(['config', 'check', config]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /millwright\.yml:2:\d+ slack\.botToken: environment variable SLACK_BOT_TOKEN is not set/,
    );
    expect(bad.stderr).toMatch(/millwright\.yml:5:3 server\.prot: .*did you mean "?port"?/);
    expect(bad.stderr).not.toContain('s3cr3t-signing');
  });

  it('explains an unknown subcommand in one line', async () => {
    const result = await millwright(['audit', 'verfy']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('millwright: unknown: audit verfy; did you mean "audit verify"?');
  });
});
