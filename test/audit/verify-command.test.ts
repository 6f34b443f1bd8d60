// `millwright audit verify` as an operator runs it: the keys come from the config (from the
// environment), the answer comes first, and an unkeyed trail says what that means.
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { millwright } from '../helpers/spawn.js';

const KEY = 'cli-audit-key-0123456789abcdef';

describe('millwright audit verify', () => {
  let dir: string;
  let config: string;
  const env = { MILLWRIGHT_AUDIT_KEY: KEY };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-verify-cli-'));
    config = path.join(dir, 'millwright.yml');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const keyedConfig = [
    'store:',
    '  path: ./data',
    'audit:',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader to interpolate
    '  key: ${MILLWRIGHT_AUDIT_KEY}',
    '  keyId: k1',
    '  checkpoints:',
    '    file: ./anchor/audit.checkpoints',
    '',
  ].join('\n');

  it('checks a keyed trail with the key from the config, and names the first missing seq of a cut tail', async () => {
    await writeFile(config, keyedConfig);
    await mkdir(path.join(dir, 'anchor'));
    for (const line of ['whoami', 'help', 'whoami']) {
      expect((await millwright(['shell', '--config', config, '-e', line], { env })).code).toBe(0);
    }
    const trail = path.join(dir, 'data', 'audit.jsonl');
    expect(await readFile(trail, 'utf8')).not.toContain(KEY);

    const intact = await millwright(['audit', 'verify', '--config', config], { env });
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(
      /ok, 3 records, hash chain intact, HMAC-SHA256 under key k1; matches the checkpoint at seq 3 \(/,
    );
    expect(intact.stdout).not.toContain('UNKEYED');

    const lines = (await readFile(trail, 'utf8')).split('\n');
    await writeFile(trail, `${lines.slice(0, 1).join('\n')}\n`);
    await unlink(`${trail}.head`);
    const cut = await millwright(['audit', 'verify', '--config', config], { env });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(
      /BROKEN at seq 2: records after seq 1 are missing \(the checkpoint of .* says 3\)/,
    );

    await unlink(path.join(dir, 'anchor', 'audit.checkpoints'));
    const noAnchor = await millwright(['audit', 'verify', '--config', config], { env });
    expect(noAnchor.code).toBe(1);
    expect(noAnchor.stderr).toMatch(/BROKEN: no checkpoints in .*audit\.checkpoints/);
  });

  it('says plainly that a trail with no key is not tamper-evident', async () => {
    await writeFile(config, 'store:\n  path: ./data\n');
    expect((await millwright(['shell', '--config', config, '-e', 'whoami'])).code).toBe(0);

    const result = await millwright(['audit', 'verify', '--config', config]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok, 1 records, hash chain intact\n/);
    expect(result.stdout).toContain('note: the trail is UNKEYED (plain SHA-256)');
    expect(await readFile(path.join(dir, 'data', 'millwright.log'), 'utf8')).toContain(
      'audit trail is UNKEYED',
    );
  });

  it('refuses a config whose checkpoint file sits inside the store', async () => {
    await writeFile(config, keyedConfig.replace('./anchor/audit.checkpoints', './data/audit.checkpoints'));
    const result = await millwright(['audit', 'verify', '--config', config], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/audit\.checkpoints\.file .* is inside .*data/);
  });
});
