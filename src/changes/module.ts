// The changes module: change requests, the policy gate and the worker that runs approved changes.
import type { z } from 'zod';
import { defineModule } from '../core/module.js';
import type { ChangeService } from './change-service.js';
import { policySchema } from './policy-schema.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    policy: z.output<typeof policySchema>;
  }
}

declare module '../core/context.js' {
  interface Services {
    changes: ChangeService;
  }
}

export const changesModule = defineModule({
  name: 'changes',
  config: { policy: policySchema },
  needs: ['config', 'store', 'audit', 'runbooks', 'access', 'events'],
  uses: ['slo'],
  provides: ['changes'],
  async create({ services, clock, logger }) {
    const [{ ChangeService }, { storeIncidentSource }] = await Promise.all([
      import('./change-service.js'),
      import('./incident-source.js'),
    ]);
    const { config, store, audit, runbooks, slo, access, events } = services;
    const changes = new ChangeService({
      store,
      audit,
      runbooks,
      policy: config.policy,
      catalog: config.services,
      gate: { incidents: storeIncidentSource(store), ...(slo ? { budgets: slo } : {}) },
      clock,
      logger: logger.child({ service: 'changes' }),
      events,
      access,
    });
    return { changes };
  },
  // Scheduled changes, approvals that expire and verifications run in the background.
  start: ({ services }) => services.changes.start(),
  stop: ({ services }) => services.changes.stop(),
});
