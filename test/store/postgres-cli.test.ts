// Operating the PostgreSQL store from the command line: migrations (status, dry run, idempotent), a
// start that refuses a schema that is behind, the URL's password kept out of every output, and an
// embedded store moved up with `store export` / `store import` so that `audit verify` passes.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildRuntime, loadConfig, secretsOf } from '../../src/app.js';
import { createLogger } from '../../src/core/logger.js';
import { changeFlowConfig } from '../helpers/change-flow-config.js';
import { describeWithPostgres, type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { millwright } from '../helpers/spawn.js';

const KEY = 'pg-cli-audit-key-0123456789abcdef';

// biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references for the config loader
const URL_FROM_ENV = '${DATABASE_URL}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references for the config loader
const KEY_FROM_ENV = '${MILLWRIGHT_AUDIT_KEY}';

/** The change flow's config, keyed, with checkpoints, on the embedded store or PostgreSQL. */
const configText = (store: string) =>
  changeFlowConfig(
    store,
    `audit:\n  key: ${KEY_FROM_ENV}\n  keyId: k1\n  checkpoints:\n    file: ./anchor/audit.checkpoints\n`,
  );

const postgresStore = (extra = '') =>
  `store:\n  kind: postgres\n  path: ./data\n  url: ${URL_FROM_ENV}\n  pool: { connectAttempts: 1 }${extra}`;

describeWithPostgres('millwright store on PostgreSQL', () => {
  let postgres: RunningPostgres;
  let dir: string;
  let config: string;
  let url: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.close());

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-pg-cli-'));
    await mkdir(path.join(dir, 'anchor'));
    config = path.join(dir, 'postgres.yml');
    url = await postgres.createDatabase();
    env = { DATABASE_URL: url, MILLWRIGHT_AUDIT_KEY: KEY };
    await writeFile(config, configText(postgresStore()));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = (args: string[], input?: string) =>
    millwright([...args, '--config', config], { env, cwd: dir, ...(input === undefined ? {} : { input }) });

  it('migrates an empty database once: status, a dry run that changes nothing, then up, then nothing to do', async () => {
    const before = await run(['store', 'status']);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^pending {2}\d+_store-and-audit$/m);
    expect(before.stdout).toMatch(/^pending {2}\d+_record-retention$/m);
    expect(before.stdout).toMatch(/behind by 2 migration\(s\); run `millwright store migrate`/);

    const dry = await run(['store', 'migrate', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('2 migration(s) would run (dry run, nothing changed)');
    expect(dry.stdout).toContain('CREATE TABLE millwright_records');
    expect((await run(['store', 'status'])).code).toBe(1);

    const up = await run(['store', 'migrate']);
    expect(up.stdout).toMatch(/: applied 2 migration\(s\): \d+_store-and-audit, \d+_record-retention\n$/);
    expect(up.code).toBe(0);
    const again = await run(['store', 'migrate']);
    expect(again.stdout).toMatch(/: schema is current \(2 migration\(s\) applied\)/);
    const after = await run(['store', 'status']);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^applied {2}\d+_store-and-audit$/m);
    expect(after.stdout).toMatch(/^applied {2}\d+_record-retention$/m);
    expect(`${before.stdout}${dry.stdout}${up.stdout}${after.stdout}${before.stderr}`).not.toContain(
      postgres.password,
    );
  }, 60_000);

  it('refuses to start the server on a schema that is behind, unless store.migrate is onStart', async () => {
    const logger = createLogger({ level: 'silent' });
    const behind = await loadConfig(config, { env });
    await expect(buildRuntime(behind, { logger, mode: 'server' })).rejects.toMatchObject({
      code: 'millwright_store_unavailable',
      message: expect.stringMatching(
        /^the PostgreSQL schema at 127\.0\.0\.1:\d+\/\w+ is behind: 2 migration\(s\) pending/,
      ),
      hint: expect.stringContaining('run `millwright store migrate`'),
    });
    // A shell command that needs the store says the same in one line, no stack trace.
    const shell = await run(['shell', '-e', 'change list']);
    expect(shell.code).not.toBe(0);
    expect(`${shell.stdout}${shell.stderr}`).toContain('millwright store migrate');
    expect(`${shell.stdout}${shell.stderr}`).not.toMatch(/\n\s+at /);

    await writeFile(config, configText(postgresStore('\n  migrate: onStart')));
    const runtime = await buildRuntime(await loadConfig(config, { env }), { logger, mode: 'server' });
    await runtime.services.store.put('notes', { id: 'n1' });
    expect(await runtime.services.store.get('notes', 'n1')).toEqual({ id: 'n1' });
    await runtime.close();
    expect((await run(['store', 'status'])).code).toBe(0);
  }, 60_000);

  it('never shows the URL password: an unreachable database, a wrong password, the logs, typed text', async () => {
    const { password } = postgres;
    const closedPort = url.replace(`:${postgres.port}/`, ':1/');
    const down = await millwright(['store', 'status', '--config', config], {
      env: { ...env, DATABASE_URL: closedPort },
      cwd: dir,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^millwright: PostgreSQL at 127\.0\.0\.1:1\/\w+ is unavailable after 1 tries: .*ECONNREFUSED/,
    );
    expect(down.stderr).toContain('hint: check that PostgreSQL is running');

    const wrongPassword = url.replace(encodeURIComponent(password), 'not-the-password-123');
    const refused = await millwright(['store', 'status', '--config', config], {
      env: { ...env, DATABASE_URL: wrongPassword },
      cwd: dir,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('password authentication failed for user "postgres"');
    expect(refused.stderr).not.toContain('not-the-password-123');

    // Written literally in the file (not from the environment), the password is still a known secret.
    await writeFile(
      config,
      configText(`store:\n  kind: postgres\n  path: ./data\n  url: ${url}\n  migrate: onStart`),
    );
    const loaded = await loadConfig(config, { env });
    expect(secretsOf(loaded).text(`login ${password} failed`)).toBe('login [redacted] failed');
    expect((await run(['store', 'migrate'])).code).toBe(0);
    const typed = await run(['shell', '-e', `incident note text=${password}`]);
    expect(typed.code).toBe(1);
    expect(typed.stdout).toContain(
      'that command holds what looks like a secret from the config; nothing was run',
    );

    const outputs = [down, refused, typed].map((result) => result.stdout + result.stderr).join('');
    const log = await readFile(path.join(dir, 'data', 'millwright.log'), 'utf8').catch(() => '');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const trail = (await client.query<{ line: string }>('SELECT line FROM millwright_audit')).rows;
    await client.end();
    expect(trail.length).toBeGreaterThan(0);
    for (const text of [outputs, log, JSON.stringify(trail)]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(encodeURIComponent(password));
    }
  }, 60_000);

  it('moves an embedded store up: export, import into PostgreSQL, audit verify passes and every record is equal', async () => {
    const embedded = path.join(dir, 'embedded.yml');
    await writeFile(embedded, configText('store: { path: ./data }'));
    const commands = [
      'change request bump target=a',
      'whoami',
      'change request bump target=b',
      'change list',
      'audit n=3',
    ];
    const shell = await millwright(['shell', '--config', embedded], {
      env,
      cwd: dir,
      input: `${commands.join('\n')}\n`,
    });
    expect(shell.code).toBe(0);
    const before = JSON.parse(await readFile(path.join(dir, 'data', 'store.json'), 'utf8')) as {
      collections: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(before.collections.changes ?? {})).toHaveLength(2);

    const fileLines = (await readFile(path.join(dir, 'data', 'audit.jsonl'), 'utf8')).trimEnd().split('\n');
    const trailed = fileLines.length;
    expect(trailed).toBeGreaterThanOrEqual(commands.length);
    const file = path.join(dir, 'store-export.jsonl');
    const exported = await millwright(['store', 'export', '--out', file, '--config', embedded], {
      env,
      cwd: dir,
    });
    expect(exported.stderr).toMatch(
      new RegExp(
        `^exported \\d+ record\\(s\\) in \\d+ collection\\(s\\) and ${trailed} audit record\\(s\\) to `,
      ),
    );
    expect(exported.code).toBe(0);
    expect(await readFile(file, 'utf8')).not.toContain(KEY);

    expect((await run(['store', 'migrate'])).code).toBe(0);
    const imported = await run(['store', 'import', file]);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(
      new RegExp(
        `imported \\d+ record\\(s\\) in \\d+ collection\\(s\\) and ${trailed} audit record\\(s\\) into `,
      ),
    );
    expect(imported.stdout).toContain(`audit trail ok, ${trailed + 1} records`);
    expect(imported.code).toBe(0);

    const verified = await run(['audit', 'verify']);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(
      `ok, ${trailed + 1} records, hash chain intact, HMAC-SHA256 under key k1; matches the checkpoint at seq ${trailed + 1}`,
    );

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ collection: string; id: string; data: unknown }>(
        'SELECT collection, id, data FROM millwright_records',
      );
      const after: Record<string, Record<string, unknown>> = {};
      for (const row of rows) {
        after[row.collection] ??= {};
        after[row.collection]![row.id] = row.data;
      }
      // A collection whose last record went (a lease taken and freed) has nothing to move.
      const held = Object.entries(before.collections).filter(
        ([, records]) => Object.keys(records).length > 0,
      );
      expect(after).toEqual(Object.fromEntries(held));
      const lines = (await client.query<{ line: string }>('SELECT line FROM millwright_audit ORDER BY seq'))
        .rows;
      expect(lines.slice(0, trailed).map((row) => row.line)).toEqual(fileLines);
      expect(JSON.parse(lines[trailed]!.line)).toMatchObject({
        seq: trailed + 1,
        action: 'store.imported',
        surface: 'cli',
      });
    } finally {
      await client.end();
    }

    // The bot carries on there: the change requests came along and the trail continues the chain.
    const carryOn = await run(['shell', '-e', 'change list']);
    expect(carryOn.code).toBe(0);
    const continued = await run(['audit', 'verify']);
    expect(continued.code).toBe(0);
    const total = Number(/ok, (\d+) records/.exec(continued.stdout)?.[1]);
    expect(total).toBeGreaterThan(trailed + 1);

    const twice = await run(['store', 'import', file]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(
      /^millwright: PostgreSQL at \S+ already holds data \(\d+ records, audit trail up to seq \d+\); nothing was imported/,
    );
  }, 120_000);
});
