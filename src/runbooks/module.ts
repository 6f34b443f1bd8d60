// The runbooks module: the vetted runbooks under runbooks.dir, checked against the executors' actions.
import { z } from 'zod';
import { text } from '../config/fields.js';
import { lazySchema } from '../core/lazy-schema.js';
import { defineModule } from '../core/module.js';
import type { RunbookService } from './service.js';

const runbooksSection = lazySchema(() => z.strictObject({ dir: text.default('./runbooks') }).prefault({}));

declare module '../config/schema.js' {
  interface MillwrightConfig {
    runbooks: z.output<typeof runbooksSection>;
  }
}

declare module '../core/context.js' {
  interface Services {
    runbooks: RunbookService;
  }
}

export const runbooksModule = defineModule({
  name: 'runbooks',
  config: { runbooks: runbooksSection },
  configPaths: ['runbooks.dir'],
  needs: ['config', 'executors', 'access', 'audit'],
  provides: ['runbooks'],
  async create({ services, clock, logger }) {
    const { RunbookService } = await import('./service.js');
    const runbooks = new RunbookService({
      dir: services.config.runbooks.dir,
      host: services.executors,
      access: services.access,
      audit: services.audit,
      clock,
    });
    await runbooks.load();
    for (const problem of runbooks.problems) logger.warn({ problem }, 'runbook not loaded');
    return { runbooks };
  },
});
