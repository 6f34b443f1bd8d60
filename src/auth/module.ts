// The auth module: roles and subjects from the access section, and the signer of buttons and forms.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { ActionSigner } from '../core/action-token.js';
import { parseDuration } from '../core/duration.js';
import { defineModule } from '../core/module.js';
import type { Store } from '../store/store.js';
import { AccessControl } from './access-control.js';
import { accessSchema, securitySchema } from './config.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    access: z.output<typeof accessSchema>;
    security: z.output<typeof securitySchema>;
  }
}

export const authModule = defineModule({
  name: 'auth',
  config: { access: accessSchema.prefault({}), security: securitySchema },
  needs: ['config', 'store'],
  provides: ['access', 'actions'],
  async create({ services, clock }) {
    const { config, store } = services;
    const actions = new ActionSigner(
      config.security.actionSecret ?? (await storedActionSecret(store)),
      parseDuration(config.security.actionTtl) / 1000,
      () => clock.now(),
    );
    return { access: new AccessControl(config.access), actions };
  },
});

/** Without a configured secret, one random secret per store signs buttons (enough for one replica). */
async function storedActionSecret(store: Store): Promise<string> {
  const record = await store.update<{ id: string; value: string }>(
    'secrets',
    'action-signing',
    (current) => current ?? { id: 'action-signing', value: randomBytes(32).toString('hex') },
  );
  return record!.value;
}
