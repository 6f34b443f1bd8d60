// The auth modules: roles and subjects from the access section, the signer of buttons and forms, and
// the record of which of those were already used.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ActionSigner } from '../core/action-token.js';
import { parseDuration } from '../core/duration.js';
import { lazySchema } from '../core/lazy-schema.js';
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

/** Who may run what where: needs only the config, so a command like `help` opens no store. */
export const accessModule = defineModule({
  name: 'access',
  config: { access: accessSchema.prefault({}) },
  needs: ['config'],
  provides: ['access'],
  create: ({ services }) => ({ access: new AccessControl(services.config.access) }),
});

/** The signer of buttons and forms; its secret is configured or kept in the store. */
export const actionsModule = defineModule({
  name: 'actions',
  // The generated button-signing secret lives here when the config sets none.
  records: { secrets: lazySchema(() => z.looseObject({ id: z.string(), value: z.string().min(32) })) },
  config: { security: securitySchema },
  needs: ['config', 'store'],
  provides: ['actions'],
  async create({ services, clock }) {
    const { config, store } = services;
    const actions = new ActionSigner(
      config.security.actionSecret ?? (await storedActionSecret(store)),
      parseDuration(config.security.actionTtl) / 1000,
      () => clock.now(),
    );
    return { actions };
  },
});

/** Which signed tokens were already used, kept in the store so a decision runs once on any replica. */
export const spentActionsModule = defineModule({
  name: 'spent-actions',
  records: {
    spent_actions: lazySchema(() =>
      z.looseObject({
        id: z.string(),
        by: z.string(),
        at: z.iso.datetime(),
        expiresAt: z.iso.datetime(),
        outcome: z.enum(['running', 'succeeded', 'failed']).optional(),
        failure: z.string().optional(),
      }),
    ),
  },
  needs: ['store'],
  provides: ['spentActions'],
  async create({ services, clock }) {
    const { StoreSpentActions } = await import('./spent-actions.js');
    return { spentActions: new StoreSpentActions(services.store, () => clock.now()) };
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
