// Two server runtimes on one PostgreSQL database, as two replicas are: what one records the other
// sees, a button token is spent once whichever replica it reaches, and both append one audit chain.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildRuntime, createRouter, loadConfig, type Runtime } from '../../src/app.js';
import { verifyPostgresAuditTrail } from '../../src/audit/postgres-audit-log.js';
import { auditSealingFrom } from '../../src/audit/sealing.js';
import { createLogger } from '../../src/core/logger.js';
import { changeFlowConfig } from '../helpers/change-flow-config.js';
import { describeWithPostgres, type RunningPostgres, startPostgres } from '../helpers/postgres.js';

const KEY = 'pg-replicas-audit-key-0123456789';

describeWithPostgres('two replicas on one PostgreSQL database', () => {
  let postgres: RunningPostgres;
  let dir: string;
  let replicas: Runtime[];

  beforeAll(async () => {
    postgres = await startPostgres();
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-pg-replicas-'));
    const url = await postgres.createDatabase();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
    const store = 'store:\n  kind: postgres\n  path: ./data\n  url: ${DATABASE_URL}\n  migrate: onStart';
    await writeFile(
      path.join(dir, 'millwright.yml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
      changeFlowConfig(store, 'audit:\n  key: ${MILLWRIGHT_AUDIT_KEY}\n  keyId: k1\n'),
    );
    await mkdir(path.join(dir, 'data'));
    const loaded = await loadConfig(path.join(dir, 'millwright.yml'), {
      env: { DATABASE_URL: url, MILLWRIGHT_AUDIT_KEY: KEY },
    });
    const logger = createLogger({ level: 'silent' });
    // Started together: both see the empty schema, one migrates, the other waits on its lock.
    replicas = await Promise.all([1, 2].map(() => buildRuntime(loaded, { logger, mode: 'server' })));
  }, 60_000);

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await postgres?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (replica: Runtime, text: string) =>
    createRouter(replica).handle({ actor: { id: 'ana' }, surface: 'shell', channel: 'C-ops', text });

  it('shows on one replica the change request made on the other', async () => {
    const requested = await run(replicas[0]!, 'change request bump target=a');
    expect(requested.ok).toBe(true);
    const id = /CR-\d+/.exec(JSON.stringify(requested))?.[0];
    expect(id).toBeDefined();
    const shown = await run(replicas[1]!, `change show ${id}`);
    expect(shown.ok).toBe(true);
    expect(JSON.stringify(shown)).toContain(id);
  });

  it('spends a button token once, whichever replica each of many clicks reaches', async () => {
    const at = new Date();
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        replicas[i % 2]!.services.spentActions.claim('nonce-1', {
          by: `user-${i}`,
          at,
          expiresAt: new Date(at.getTime() + 3600_000),
        }),
      ),
    );
    expect(claims.filter((claim) => claim.first)).toHaveLength(1);
  });

  it('keeps one audit chain while both replicas answer commands at once', async () => {
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => run(replicas[i % 2]!, i % 3 ? 'whoami' : 'change list')),
    );
    expect(replies.every((reply) => reply.ok)).toBe(true);
    await Promise.all(replicas.map((replica) => replica.services.audit.flush()));
    const verified = await verifyPostgresAuditTrail(
      replicas[0]!.services.postgres,
      auditSealingFrom(replicas[0]!.loaded.config.audit, replicas[0]!.loaded.config.store.path),
    );
    expect(verified).toMatchObject({ ok: true, keyed: { keyIds: ['k1'] } });
    expect(verified.records).toBeGreaterThanOrEqual(31);
    // `audit verify` in chat checks the same table, not a file under store.path.
    const chat = await run(replicas[1]!, 'audit verify');
    expect(chat.ok).toBe(true);
    expect(chat.data).toMatchObject({ intact: true, path: expect.stringMatching(/^PostgreSQL at /) });
    expect(chat.data?.recordsChecked).toBeGreaterThanOrEqual(verified.records);
  });
});
