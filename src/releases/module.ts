// The releases module: `release start|status|promote|abort|list`, the `releases:` config section, the
// `releases` store collection and the worker that drives every open release.
import { z } from 'zod';
import { lazySchema } from '../core/lazy-schema.js';
import { defineModule } from '../core/module.js';
import { releasesSchema } from './config.js';
import type { ReleaseService } from './service.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    releases: z.output<typeof releasesSchema>;
  }
}

declare module '../core/context.js' {
  interface Services {
    releases: ReleaseService;
  }
}

const releaseRecord = lazySchema(() =>
  z.looseObject({
    id: z.string().regex(/^REL-[0-9]+$/),
    service: z.string(),
    image: z.string(),
    intervalMs: z.number(),
    plan: z.looseObject({
      steps: z.array(z.number()),
      step: z.int().min(0),
      state: z.enum(['running', 'paused', 'promoting', 'promoted', 'aborted']),
      waited: z.int().min(0),
    }),
    history: z.array(z.looseObject({ at: z.string(), event: z.string() })),
  }),
);

export const releasesModule = defineModule({
  name: 'releases',
  config: { releases: releasesSchema },
  records: { releases: releaseRecord },
  needs: ['config', 'store', 'audit', 'changes', 'executors', 'events'],
  uses: ['slo'],
  provides: ['releases'],
  async create({ services, clock, logger, onClose }) {
    const { ReleaseService } = await import('./service.js');
    const { config, store, audit, changes, executors, events, slo } = services;
    const releases = new ReleaseService({
      store,
      audit,
      changes,
      executors,
      slo,
      catalog: config.services,
      config: config.releases,
      clock,
      logger: logger.child({ service: 'releases' }),
      events,
    });
    // A release whose change needed a person starts once it is approved and may go ahead. Not
    // awaited: the change is still held by the transition telling of it, and `release start` joins
    // the same start.
    const unsubscribe = events.on('change.transitioned', ({ change, to }) => {
      if (change.kind !== 'release' || to !== 'executing') return;
      releases.begin(change).catch((error: unknown) => {
        logger.error({ err: error, change: change.id }, 'the release of an approved change could not start');
      });
    });
    onClose(async () => unsubscribe());
    return { releases };
  },
  start: ({ services }) => services.releases.startWorker(),
  stop: ({ services }) => services.releases.stopWorker(),
});
