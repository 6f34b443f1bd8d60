// The digests module: scheduled digests, composed from the other services and posted to channels.
import { parseDuration } from '../core/duration.js';
import { defineModule } from '../core/module.js';
import type { DigestService } from './digest-service.js';
import { digestsSchema } from './schema.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    digests: import('zod').output<typeof digestsSchema>;
  }
}

declare module '../core/context.js' {
  interface Services {
    /** Scheduled digests: their state, previews and posts on demand; the server runs the schedule. */
    digests: DigestService;
  }
}

export const digestsModule = defineModule({
  name: 'digests',
  config: { digests: digestsSchema },
  needs: ['config', 'store', 'audit', 'notices', 'runbooks', 'changes', 'incidents', 'deploys'],
  uses: ['slo'],
  provides: ['digests'],
  async create({ services, clock, logger }) {
    const { DigestService } = await import('./digest-service.js');
    const { config, store, audit, notices, slo, deploys, changes, incidents, runbooks } = services;
    const digests = new DigestService({
      digests: config.digests,
      catalog: config.services,
      sources: { budgets: slo, deploys, changes, incidents, runbooks, audit },
      store,
      audit,
      notices,
      clock,
      logger: logger.child({ service: 'digests' }),
      leaseMs: parseDuration(config.policy.handOverAfter),
    });
    return { digests };
  },
  // Digests post on schedule from the server only; the shell previews them.
  start: ({ services, options }) =>
    services.digests.start((options.digests as { heartbeat?: string } | undefined) ?? {}),
  stop: ({ services }) => services.digests.stop(),
});
