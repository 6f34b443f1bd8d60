// The incidents module: declared incidents, their rooms, timelines and postmortem drafts.
import { defineModule } from '../core/module.js';
import { IncidentService } from './incident-service.js';
import { sloIncidentNumbers } from './slo-numbers.js';

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
  create({ services, clock, logger }) {
    const { config, store, audit, runbooks, deploys, slo, notices, events } = services;
    const incidents = new IncidentService({
      store,
      audit,
      runbooks,
      clock,
      logger: logger.child({ service: 'incidents' }),
      contacts: (service) => config.services[service],
      notices,
      events,
      ...(slo ? { numbers: sloIncidentNumbers(slo) } : {}),
      deploys,
    });
    return { incidents };
  },
});
