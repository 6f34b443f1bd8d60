// The audit trail in PostgreSQL: the file trail's keyed chain, appended by several processes at once
// as one chain, and `millwright audit verify` catching edits, deletions and a cut tail in the table.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PostgresAuditLog, verifyPostgresAuditTrail } from '../../src/audit/postgres-audit-log.js';
import type { AuditEntry } from '../../src/audit/types.js';
import { SecretSet } from '../../src/core/secrets.js';
import { migrate } from '../../src/store/migrations.js';
import { PostgresDatabase } from '../../src/store/postgres-database.js';
import {
  describeWithPostgres,
  postgresStoreConfig,
  type RunningPostgres,
  startPostgres,
} from '../helpers/postgres.js';
import { millwright } from '../helpers/spawn.js';

const KEY = 'pg-audit-key-0123456789abcdef';
const sealing = { keys: new Map([['k1', KEY]]), active: { id: 'k1', secret: KEY } };

const entry = (n: number, actor = 'ana'): AuditEntry => ({
  actor,
  surface: 'shell',
  channel: n % 2 ? 'C-odd' : 'C-even',
  action: 'command.whoami',
  args: { n },
  outcome: 'ok',
});

describeWithPostgres('the audit trail in PostgreSQL', () => {
  let postgres: RunningPostgres;
  let dir: string;

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.close());
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-pg-audit-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function freshDatabase(): Promise<{ db: PostgresDatabase; url: string }> {
    const url = await postgres.createDatabase();
    const db = await PostgresDatabase.open(postgresStoreConfig(url));
    await migrate(db);
    return { db, url };
  }

  it('chains appends from two pools into one keyed trail that verifies, and answers recent() newest first', async () => {
    const { db, url } = await freshDatabase();
    const other = await PostgresDatabase.open(postgresStoreConfig(url));
    try {
      const logs = [
        await PostgresAuditLog.open(db, { sealing, secrets: new SecretSet(['hunter2hunter2']) }),
        await PostgresAuditLog.open(other, { sealing }),
      ];
      const records = await Promise.all(
        Array.from({ length: 100 }, (_, n) =>
          logs[n % 2]!.append({ ...entry(n), args: { n, note: 'hunter2hunter2' } }),
        ),
      );
      expect(new Set(records.map((record) => record.seq)).size).toBe(100);
      expect(Math.max(...records.map((record) => record.seq))).toBe(100);
      for (const log of logs) await log.close();

      expect(await verifyPostgresAuditTrail(db, sealing)).toMatchObject({
        ok: true,
        records: 100,
        keyed: { firstSeq: 1, keyIds: ['k1'] },
      });
      const reader = await PostgresAuditLog.open(db, { sealing });
      const odd = await reader.recent({ channel: 'C-odd', limit: 3 });
      expect(odd.map((record) => record.channel)).toEqual(['C-odd', 'C-odd', 'C-odd']);
      expect(odd[0]!.seq).toBeGreaterThan(odd[1]!.seq);
      // The first log's SecretSet scrubbed its own records; the second knew no such secret.
      const { rows } = await db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM millwright_audit WHERE line LIKE '%[redacted]%'",
      );
      expect(Number(rows[0]!.n)).toBe(50);
      await reader.close();
    } finally {
      await other.close();
      await db.close();
    }
  });

  it('keeps one chain when two millwright processes append at once', async () => {
    const { db, url } = await freshDatabase();
    await db.close();
    const config = path.join(dir, 'millwright.yml');
    await writeFile(
      config,
      [
        'store:',
        '  kind: postgres',
        '  path: ./data',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
        '  url: ${DATABASE_URL}',
        'audit:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
        '  key: ${MILLWRIGHT_AUDIT_KEY}',
        '  keyId: k1',
        '',
      ].join('\n'),
    );
    const env = { DATABASE_URL: url, MILLWRIGHT_AUDIT_KEY: KEY };
    const lines = `${Array.from({ length: 40 }, (_, i) => (i % 2 ? 'whoami' : 'help')).join('\n')}\n`;
    const shells = await Promise.all(
      [1, 2].map(() => millwright(['shell', '--config', config], { input: lines, env, cwd: dir })),
    );
    for (const shell of shells) expect(shell.code).toBe(0);

    const verified = await millwright(['audit', 'verify', '--config', config], { env, cwd: dir });
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      /^PostgreSQL at 127\.0\.0\.1:\d+\/\w+: ok, 80 records, hash chain intact, HMAC-SHA256 under key k1/,
    );
    expect(`${verified.stdout}${shells.map((shell) => shell.stdout + shell.stderr).join('')}`).not.toContain(
      postgres.password,
    );
  }, 120_000);

  it('detects an edited record, a deleted record and a cut tail, and will not append after a cut', async () => {
    const { db } = await freshDatabase();
    try {
      const log = await PostgresAuditLog.open(db, { sealing });
      for (let n = 1; n <= 6; n++) await log.append(entry(n));
      await log.close();
      expect(await verifyPostgresAuditTrail(db, sealing)).toMatchObject({ ok: true, records: 6 });

      await db.pool.query(
        `UPDATE millwright_audit SET line = replace(line, '"n":3', '"n":33') WHERE seq = 3`,
      );
      expect(await verifyPostgresAuditTrail(db, sealing)).toMatchObject({
        ok: false,
        badSeq: 3,
        problem: expect.stringContaining('seq 3: HMAC under key "k1" does not match its content'),
      });
      await db.pool.query(
        `UPDATE millwright_audit SET line = replace(line, '"n":33', '"n":3') WHERE seq = 3`,
      );

      await db.pool.query('DELETE FROM millwright_audit WHERE seq = 4');
      expect(await verifyPostgresAuditTrail(db, sealing)).toMatchObject({
        ok: false,
        badSeq: 4,
        problem: expect.stringContaining('found seq 5 in its place'),
      });
    } finally {
      await db.close();
    }

    const cut = await freshDatabase();
    try {
      const log = await PostgresAuditLog.open(cut.db, { sealing });
      for (let n = 1; n <= 4; n++) await log.append(entry(n));
      await log.close();
      await cut.db.pool.query('DELETE FROM millwright_audit WHERE seq >= 3');
      expect(await verifyPostgresAuditTrail(cut.db, sealing)).toMatchObject({
        ok: false,
        problem: expect.stringContaining('records after seq 2 are missing (head says 4)'),
      });
      await expect(PostgresAuditLog.open(cut.db, { sealing })).rejects.toMatchObject({
        code: 'millwright_audit_broken',
        message: expect.stringContaining('seq 4, which is missing'),
      });
    } finally {
      await cut.db.close();
    }
  });
});
