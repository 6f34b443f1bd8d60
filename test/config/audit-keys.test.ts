// The audit section's keys: one key or several for rotation, from the environment, never printed.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { join } from 'node:path';
import { loadConfig } from '../../src/app.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

const K1 = 'k1-secret-0123456789abcdef';
const K2 = 'k2-secret-fedcba9876543210';

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

describe('audit keys in the config', () => {
  test('no key means an unkeyed trail, as before', async () => {
    const { config } = await loadConfig(await temp.write(''), { env: {} });
    expect(config.audit).toEqual({ path: join(temp.dir, '.millwright', 'audit.jsonl'), keys: {} });
  });

  test('one key from the environment is active, a secret, and anchors to an absolute checkpoint file', async () => {
    const path = await temp.write(
      'audit:\n  key: ${MILLWRIGHT_AUDIT_KEY}\n  keyId: k1\n  checkpoints:\n    file: ../anchor/audit.checkpoints\n',
    );
    const { config, secrets } = await loadConfig(path, { env: { MILLWRIGHT_AUDIT_KEY: K1 } });
    expect(config.audit).toMatchObject({
      keys: { k1: K1 },
      activeKey: 'k1',
      checkpoints: { file: join(temp.dir, '..', 'anchor', 'audit.checkpoints'), every: 100 },
    });
    expect(secrets).toContain(K1);
  });

  test('several keys for rotation name the active one; both are secrets', async () => {
    const path = await temp.write(
      'audit:\n  keys:\n    k1: ${OLD_KEY}\n    k2: ${NEW_KEY}\n  activeKey: k2\n',
    );
    const { config, secrets } = await loadConfig(path, { env: { OLD_KEY: K1, NEW_KEY: K2 } });
    expect(config.audit).toMatchObject({ keys: { k1: K1, k2: K2 }, activeKey: 'k2' });
    expect(secrets.sort()).toEqual([K1, K2].sort());
  });

  test('a short key, an ambiguous rotation and unsigned checkpoints are refused with the fix', async () => {
    expect(await temp.problems('audit:\n  key: short\n')).toEqual([
      'millwright.yml:2:8 audit.key: an audit key must be at least 16 characters (try: openssl rand -hex 32)',
    ]);
    expect(
      (await temp.problems('audit:\n  keys:\n    k1: ${A}\n    k2: ${B}\n', { A: K1, B: K2 })).join('\n'),
    ).toContain('with several keys, name the one new records use in audit.activeKey');
    expect((await temp.problems('audit:\n  checkpoints:\n    file: /tmp/x\n')).join('\n')).toContain(
      'checkpoints are signed: set audit.key (or audit.keys) too',
    );
  });
});
