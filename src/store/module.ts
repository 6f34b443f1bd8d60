// The store module: the embedded lowdb store under store.path, opened first and closed last.
import { defineModule } from '../core/module.js';
import type { Store } from './store.js';

declare module '../core/context.js' {
  interface Services {
    store: Store;
  }
}

export const storeModule = defineModule({
  name: 'store',
  needs: ['config', 'secrets'],
  provides: ['store'],
  async create({ services, clock, onClose }) {
    // Implementations load when the module is built, so a command that needs no store never reads lowdb.
    const { LowdbStore } = await import('./lowdb-store.js');
    const store = await LowdbStore.open(services.config.store.path, {
      clock,
      // A backstop: typed secrets are refused before they get here, but upstream answers are not typed.
      scrub: (record) => services.secrets.strings(record),
    });
    onClose(() => store.close());
    return { store };
  },
});
