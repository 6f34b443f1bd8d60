// The store module: the embedded lowdb store under store.path, opened first and closed last.
import type { z } from 'zod';
import { defineModule } from '../core/module.js';
import type { Store } from './store.js';

declare module '../core/context.js' {
  interface Services {
    store: Store;
    /** Each collection's record schema, from the modules' `records` (seeded by the composition root). */
    recordSchemas: Readonly<Record<string, z.ZodType>>;
  }
}

export const storeModule = defineModule({
  name: 'store',
  needs: ['config', 'recordSchemas'],
  provides: ['store'],
  async create({ services, clock, logger, onClose }) {
    // Implementations load when the module is built, so a command that needs no store never reads lowdb.
    const { LowdbStore } = await import('./lowdb-store.js');
    const store = await LowdbStore.open(services.config.store.path, {
      clock,
      schemas: services.recordSchemas,
      logger,
    });
    onClose(() => store.close());
    return { store };
  },
});
