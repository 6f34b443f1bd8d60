// The Alertmanager intake: POST /hooks/alertmanager, alerts turned into events (src/notices posts
// them with suggested runbooks), incidents and remediations.
import type { z } from 'zod';
import { optionalSection } from '../../src/config/index.js';
import { defineModule, parseDuration } from '../../src/core/index.js';
import { alertmanagerSchema, seenAlertSchema } from '../../src/incidents/alert-schema.js';

declare module '../../src/config/schema.js' {
  interface MillwrightConfig {
    alertmanager?: z.output<typeof alertmanagerSchema>;
  }
}

export const alertmanagerModule = defineModule({
  name: 'alertmanager',
  config: { alertmanager: optionalSection(alertmanagerSchema) },
  records: { alerts: seenAlertSchema },
  needs: ['config', 'store', 'audit', 'changes', 'incidents', 'access', 'notices', 'events'],
  enabled: ({ config }) => config.alertmanager !== undefined,
  async serve({ services, routes, clock, logger }) {
    const { AlertIntake } = await import('../../src/incidents/index.js');
    const { mountAlertmanager } = await import('./alertmanager-route.js');
    const config = services.config.alertmanager!;
    const intake = new AlertIntake({
      config,
      audit: services.audit,
      store: services.store,
      clock,
      logger: logger.child({ adapter: 'alertmanager' }),
      changes: services.changes,
      incidents: services.incidents,
      access: services.access,
      channelOf: (service) => services.config.services[service]?.channel,
      notices: services.notices,
      events: services.events,
      handOverMs: parseDuration(services.config.policy.handOverAfter),
    });
    mountAlertmanager(routes, { intake, config, logger });
  },
});
