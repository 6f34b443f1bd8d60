// The store modules: the lock on store.path (one writing process at a time, embedded store only), the
// PostgreSQL pool (postgres only), then the store on whichever the config names, opened first and
// closed last.
import type { z } from 'zod';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { defineModule } from '../core/module.js';
import { passwordOf } from './database-url.js';
import type { PostgresDatabase } from './postgres-database.js';
import type { RetentionSweep } from './retention-sweep.js';
import type { Store } from './store.js';
import type { StoreLock } from './store-lock.js';

declare module '../core/context.js' {
  interface Services {
    store: Store;
    /** Deletes records past their retention (one replica at a time); runs in the server only. */
    storeSweep: RetentionSweep;
    /** This process's hold on store.path (embedded store); the store and the audit trail write only under it. */
    storeLock: StoreLock;
    /** The PostgreSQL pool the store and the audit trail share (store.kind postgres). */
    postgres: PostgresDatabase;
    /** Each collection's record schema, from the modules' `records` (seeded by the composition root). */
    recordSchemas: Readonly<Record<string, z.ZodType>>;
  }
}

export const storeLockModule = defineModule({
  name: 'store-lock',
  needs: ['config'],
  provides: ['storeLock'],
  // Replicas on PostgreSQL share the database, not a directory: nothing to hold.
  enabled: ({ config }) => config.store.kind !== 'postgres',
  async create({ services, logger, mode, onClose }) {
    const { StoreLock } = await import('./store-lock.js');
    // A one-off command waits a moment for another one-off to finish; the server does not wait.
    const storeLock = await StoreLock.acquire(services.config.store.path, {
      mode: mode === 'server' ? 'serve' : mode,
      logger,
      waitMs: mode === 'server' ? 0 : 3_000,
    });
    onClose(() => storeLock.release());
    return { storeLock };
  },
});

export const postgresModule = defineModule({
  name: 'postgres',
  needs: ['config', 'secrets'],
  provides: ['postgres'],
  enabled: ({ config }) => config.store.kind === 'postgres',
  // The password inside store.url, however the URL was written: kept out of every log, reply and record.
  secrets: ({ config }) => passwordOf(config.store.url),
  // config check: what start would refuse before connecting (the CA file verify-full trusts).
  async check({ services }) {
    const { ca } = services.config.store.ssl;
    if (ca === undefined) return;
    const { access } = process.getBuiltinModule('node:fs/promises');
    await access(ca).catch(() => {
      throw new MillwrightError(ErrorCode.ConfigInvalid, `store.ssl.ca ${ca} cannot be read`, {
        hint: 'point store.ssl.ca at the PEM file of the CA that signed the database server certificate',
      });
    });
  },
  async create({ services, logger, mode, onClose }) {
    // pg and node-pg-migrate load only here, so the embedded store's starts never read them.
    const [{ PostgresDatabase }, { ensureSchema }] = await Promise.all([
      import('./postgres-database.js'),
      import('./migrations.js'),
    ]);
    const { store } = services.config;
    const postgres = await PostgresDatabase.open(store, {
      logger,
      scrub: (text) => services.secrets.text(text),
    });
    onClose(() => postgres.close());
    // Only the server migrates, and only when told to; everything else refuses a schema that is behind.
    await ensureSchema(postgres, mode === 'server' ? store.migrate : 'never', (line) =>
      logger.info({ db: postgres.name }, line),
    );
    return { postgres };
  },
});

export const storeModule = defineModule({
  name: 'store',
  needs: ['config', 'secrets', 'recordSchemas'],
  uses: ['storeLock', 'postgres'],
  provides: ['store', 'storeSweep'],
  async create({ services, clock, logger, onClose }) {
    // A backstop: typed secrets are refused before they get here, but upstream answers are not typed.
    const scrub = <T>(record: T) => services.secrets.strings(record);
    const schemas = services.recordSchemas;
    const { RetentionSweep } = await import('./retention-sweep.js');
    const withSweep = (store: Store) => {
      onClose(() => store.close());
      return { store, storeSweep: new RetentionSweep({ store, clock, logger }) };
    };
    if (services.config.store.kind === 'postgres') {
      const { PostgresStore } = await import('./postgres-store.js');
      return withSweep(new PostgresStore(services.postgres, { clock, scrub, schemas }));
    }
    // Implementations load when the module is built, so a command that needs no store never reads lowdb.
    const { LowdbStore } = await import('./lowdb-store.js');
    return withSweep(await LowdbStore.open(services.config.store.path, { clock, scrub, schemas, logger }));
  },
  start: ({ services }) => services.storeSweep.start(),
  stop: ({ services }) => services.storeSweep.stop(),
});
