// The incidents module: declared incidents, their rooms, timelines and postmortem drafts.
import { defineModule } from '../core/module.js';
import type { IncidentService } from './incident-service.js';

declare module '../core/context.js' {
  interface Services {
    incidents: IncidentService;
  }
}

export const incidentsModule = defineModule({
  name: 'incidents',
  needs: ['config', 'store', 'audit', 'runbooks', 'deploys', 'notices', 'events'],
  uses: ['slo'],
  provides: ['incidents'],
  async create({ services, clock, logger }) {
    const [{ IncidentService }, { sloIncidentNumbers }] = await Promise.all([
      import('./incident-service.js'),
      import('./slo-numbers.js'),
    ]);
    const { config, store, audit, runbooks, deploys, slo, notices, events } = services;
    const incidents = new IncidentService({
      store,
      audit,
      runbooks,
      clock,
      logger: logger.child({ service: 'incidents' }),
      contacts: (service) => config.services[service],
      catalog: config.services,
      notices,
      events,
      ...(slo ? { numbers: sloIncidentNumbers(slo) } : {}),
      deploys,
    });
    return { incidents };
  },
});
