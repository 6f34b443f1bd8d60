// The gates module: the policy gate for any pipeline, `POST /api/v1/gates/evaluate` and
// `GET /api/v1/gates/:change`, with a bearer token per pipeline from `gates.pipelines`.
import type { z } from 'zod';
import { optionalSection } from '../config/index.js';
import { defineModule } from '../core/module.js';
import { gatesSchema } from './config.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    gates?: z.output<typeof gatesSchema>;
  }
}

export const gatesModule = defineModule({
  name: 'gates',
  config: { gates: optionalSection(gatesSchema) },
  needs: ['config', 'audit', 'changes', 'events'],
  enabled: ({ config }) => config.gates !== undefined,
  // The pipeline tokens, whatever key or variable they came from.
  secrets: ({ config }) => Object.values(config.gates?.pipelines ?? {}).map((pipeline) => pipeline.token),
  async check({ services }) {
    const { checkGates } = await import('./pipeline-gate.js');
    checkGates(services.config.gates!, services.config.services);
  },
  async serve({ services, routes, clock, logger }) {
    const [{ PipelineGate, checkGates }, { mountGates }] = await Promise.all([
      import('./pipeline-gate.js'),
      import('./gate-route.js'),
    ]);
    const config = services.config.gates!;
    checkGates(config, services.config.services);
    const gate = new PipelineGate({
      config,
      catalog: services.config.services,
      changes: services.changes,
      whenUnknown: services.config.policy.whenUnknown,
      audit: services.audit,
      events: services.events,
      clock,
    });
    mountGates(routes, { gate, maxBodyBytes: config.maxBodyBytes, logger: logger.child({ part: 'gates' }) });
  },
});
