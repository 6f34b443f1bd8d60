// The changes module: change requests, the policy gate and the worker that runs approved changes.
import type { z } from 'zod';
import { ErrorCode, MillwrightError } from '../core/errors.js';
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
  // A per-service error-budget policy must name a service the catalog knows.
  check({ services }) {
    const catalog = services.config.services;
    for (const name of Object.keys(services.config.policy.errorBudget?.services ?? {})) {
      if (!Object.hasOwn(catalog, name))
        throw new MillwrightError(
          ErrorCode.ConfigInvalid,
          `policy.errorBudget.services.${name}: ${name} is not in the service catalog`,
          { hint: `known services: ${Object.keys(catalog).join(', ') || 'none; add them under services:'}` },
        );
    }
  },
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
