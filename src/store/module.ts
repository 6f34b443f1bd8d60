// The store modules: the lock on store.path (one writing process at a time), then the embedded lowdb
// store under it, opened first and closed last.
import type { z } from 'zod';
import { defineModule } from '../core/module.js';
import type { Store } from './store.js';
import type { StoreLock } from './store-lock.js';

declare module '../core/context.js' {
  interface Services {
    store: Store;
    /** This process's hold on store.path; the store and the audit trail write only under it. */
    storeLock: StoreLock;
    /** Each collection's record schema, from the modules' `records` (seeded by the composition root). */
    recordSchemas: Readonly<Record<string, z.ZodType>>;
  }
}

export const storeLockModule = defineModule({
  name: 'store-lock',
  needs: ['config'],
  provides: ['storeLock'],
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

export const storeModule = defineModule({
  name: 'store',
  needs: ['config', 'secrets', 'storeLock', 'recordSchemas'],
  provides: ['store'],
  async create({ services, clock, logger, onClose }) {
    // Implementations load when the module is built, so a command that needs no store never reads lowdb.
    const { LowdbStore } = await import('./lowdb-store.js');
    const store = await LowdbStore.open(services.config.store.path, {
      clock,
      // A backstop: typed secrets are refused before they get here, but upstream answers are not typed.
      scrub: (record) => services.secrets.strings(record),
      schemas: services.recordSchemas,
      logger,
    });
    onClose(() => store.close());
    return { store };
  },
});
