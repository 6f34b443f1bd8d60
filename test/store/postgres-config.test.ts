// store.* in millwright.yml, checked without a database: a postgres store needs a postgres:// URL, the
// URL's password becomes a secret however it was written, and problems come back as one line each.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { checkConfig, loadConfig, secretsOf } from '../../src/app.js';
import { passwordOf, targetOf } from '../../src/store/database-url.js';
import { type TempConfigDir, tempConfigDir } from '../config/temp-config.js';

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(() => temp.remove());

test('the embedded store stays the default, and postgres takes url, pool, ssl and migrate', async () => {
  await temp.write('store:\n  path: ./data\n');
  const embedded = await loadConfig(`${temp.dir}/millwright.yml`, { env: {} });
  expect(embedded.config.store).toMatchObject({
    kind: 'embedded',
    migrate: 'never',
    ssl: { mode: 'disable' },
  });

  await temp.write(
    'store:\n  kind: postgres\n  url: ${DATABASE_URL}\n  pool: { max: 3 }\n  ssl: { mode: require }\n  migrate: onStart\n',
  );
  const postgres = await loadConfig(`${temp.dir}/millwright.yml`, {
    env: { DATABASE_URL: 'postgres://bot:s3cr%40t-pass@db.internal:6543/millwright' },
  });
  expect(postgres.config.store).toMatchObject({
    kind: 'postgres',
    url: 'postgres://bot:s3cr%40t-pass@db.internal:6543/millwright',
    pool: { max: 3, connectAttempts: 4 },
    ssl: { mode: 'require' },
    migrate: 'onStart',
  });
  const secrets = secretsOf(postgres);
  expect(secrets.text('auth failed for s3cr@t-pass and s3cr%40t-pass')).toBe(
    'auth failed for [redacted] and [redacted]',
  );
});

test('a postgres store without a URL, or with a URL that is not postgres://, is one line that never echoes it', async () => {
  await temp.write('store:\n  kind: postgres\n');
  const missing = await checkConfig('millwright.yml', {}, { cwd: temp.dir });
  expect(missing).toEqual({
    ok: false,
    lines: [
      expect.stringMatching(/^millwright\.yml:\d+:\d+ store\.url: store\.kind postgres needs store\.url/),
    ],
  });

  await temp.write('store:\n  kind: postgres\n  url: ${DATABASE_URL}\n');
  const wrong = await checkConfig(
    'millwright.yml',
    { DATABASE_URL: 'mysql://root:hunter2hunter2@db/x' },
    { cwd: temp.dir },
  );
  expect(wrong.ok).toBe(false);
  expect(wrong.lines.join('\n')).toContain(
    'store.url: expected a URL like postgres://user:password@host:5432/millwright',
  );
  expect(wrong.lines.join('\n')).not.toContain('hunter2hunter2');

  await temp.write('store:\n  kind: mongo\n');
  const kind = await checkConfig('millwright.yml', {}, { cwd: temp.dir });
  expect(kind.lines.join('\n')).toContain('store.kind: expected embedded or postgres');
});

test('config check refuses a CA file that cannot be read, without connecting', async () => {
  await temp.write(
    'store:\n  kind: postgres\n  url: postgres://bot:pw-123456@127.0.0.1:1/db\n  ssl: { mode: verify-full, ca: ./missing-ca.pem }\n',
  );
  const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });
  expect(result.ok).toBe(false);
  expect(result.lines.join('\n')).toMatch(/store\.ssl\.ca \S+missing-ca\.pem cannot be read/);
  expect(result.lines.join('\n')).not.toContain('pw-123456');
});

test('what the messages name: host, port, database and user, never the password', () => {
  expect(targetOf('postgres://bot:pw@db.internal/millwright')).toEqual({
    host: 'db.internal',
    port: 5432,
    database: 'millwright',
    user: 'bot',
  });
  expect(passwordOf('postgres://bot@db/x')).toEqual([]);
  expect(passwordOf('not a url')).toEqual([]);
});
