// The SLO module: SLOs and error budgets from Prometheus. Loaded only when prometheus is configured;
// without it `budget` says so and the gate has no budget source.
import type { z } from 'zod';
import { defineModule } from '../core/module.js';
import { sloSections } from './config.js';
import type { SloService } from './slo-service.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    prometheus?: z.output<typeof sloSections.prometheus>;
    slo: z.output<typeof sloSections.slo>;
    slos: z.output<typeof sloSections.slos>;
  }
}

declare module '../core/context.js' {
  interface Services {
    /** SLOs and error budgets; present only when `prometheus` is configured. */
    slo?: SloService;
  }
}

export const sloModule = defineModule({
  name: 'slo',
  config: sloSections,
  needs: ['config', 'configFile', 'resilience'],
  provides: ['slo'],
  enabled: ({ config }) => config.prometheus !== undefined,
  // `config check` lints every SLO the service would load, as `slo lint` does.
  async check({ services }) {
    const { configuredSlos, sloProblems } = await import('./configured-slos.js');
    return sloProblems(await configuredSlos({ path: services.configFile, config: services.config }));
  },
  async create({ services, clock, logger }) {
    const { createSloService } = await import('./slo-service.js');
    const slo = await createSloService(
      { path: services.configFile, config: services.config },
      { clock, logger: logger.child({ service: 'slo' }), resilience: services.resilience },
    );
    return { slo };
  },
});
