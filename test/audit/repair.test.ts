// `millwright audit repair` after a crash cut the trail's last line: start-up names the command, the
// repair cuts only the torn line, the trail verifies, and the repair is itself in the chain.
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { millwright } from '../helpers/spawn.js';

const KEY = 'repair-audit-key-0123456789abcdef';

describe('millwright audit repair', () => {
  let dir: string;
  let config: string;
  let trail: string;
  const env = { MILLWRIGHT_AUDIT_KEY: KEY };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-repair-'));
    config = path.join(dir, 'millwright.yml');
    trail = path.join(dir, 'data', 'audit.jsonl');
    await mkdir(path.join(dir, 'anchor'));
    await writeFile(
      config,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
      'store:\n  path: ./data\naudit:\n  key: ${MILLWRIGHT_AUDIT_KEY}\n  keyId: k1\n  checkpoints:\n    file: ./anchor/audit.checkpoints\naccess:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [whoami, help] }\n  subjects: {}\n',
    );
    for (const line of ['whoami', 'help']) {
      expect((await millwright(['shell', '--config', config, '-e', line], { env })).code).toBe(0);
    }
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** What a crash mid-write leaves: the first half of the next record, with no newline. */
  async function tearTail(): Promise<string> {
    const lines = (await readFile(trail, 'utf8')).trim().split('\n');
    const torn = lines.at(-1)!.replace('"seq":2', '"seq":3').slice(0, 60);
    await appendFile(trail, torn);
    return torn;
  }

  it('start-up refuses a torn tail and names the repair command', async () => {
    await tearTail();

    const start = await millwright(['shell', '--config', config, '-e', 'whoami'], { env });

    // The shell opens the trail for its first command, so the refusal is that command's answer.
    expect(start.code).toBe(1);
    expect(start.stdout).toMatch(/ends in a torn line \(seq 3 was cut short/);
    expect(start.stdout).toMatch(/hint: run `millwright audit repair`/);
    expect(start.stdout + start.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('cuts only the torn line, keeps it aside, records the repair, and the trail verifies', async () => {
    const torn = await tearTail();

    const repair = await millwright(['audit', 'repair', '--config', config], { env });

    expect(repair.stderr).toBe('');
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/cut a torn last line \(would-be seq 3, 60 bytes/);
    expect(repair.stdout).toMatch(/recorded as seq 3 \(audit.repaired\)/);
    expect(repair.stdout).toMatch(/ok, 3 records, hash chain intact, HMAC-SHA256 under key k1/);
    expect(await readFile(`${trail}.torn-seq-3`, 'utf8')).toBe(torn);
    const records = (await readFile(trail, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.action)).toEqual([
      'command.whoami',
      'command.help',
      'audit.repaired',
    ]);
    expect(records[2].args).toMatchObject({ bytes: 60, keptRecords: 2, savedTo: `${trail}.torn-seq-3` });
    expect(records[2].actor).toMatch(/^os:/);

    const verify = await millwright(['audit', 'verify', '--config', config], { env });
    expect(verify.code).toBe(0);
    expect((await millwright(['shell', '--config', config, '-e', 'whoami'], { env })).code).toBe(0);
  });

  it('refuses a trail broken elsewhere, and one that verifies', async () => {
    const intact = await millwright(['audit', 'repair', '--config', config], { env });
    expect(intact.code).toBe(2);
    expect(intact.stderr).toMatch(/verifies \(2 records\): nothing to repair/);

    const text = await readFile(trail, 'utf8');
    await writeFile(trail, `${text.replace('"command.whoami"', '"command.whoamI"')}{"seq":3`);
    const edited = await millwright(['audit', 'repair', '--config', config], { env });
    expect(edited.code).toBe(2);
    expect(edited.stderr).toMatch(/broken in a way repair does not touch: seq 1: HMAC/);
    expect(await readFile(trail, 'utf8')).toMatch(/\{"seq":3$/);
  });
});
