// The Teams surface: Bot Framework activities on POST /api/messages; without authentication it says
// so at every start.
import type { z } from 'zod';
import { optionalSection } from '../../src/config/index.js';
import { defineModule } from '../../src/core/index.js';
import { teamsSchema } from './config.js';
import type { TeamsIO } from './teams-adapter.js';

declare module '../../src/config/schema.js' {
  interface MillwrightConfig {
    teams?: z.output<typeof teamsSchema>;
  }
}

export const teamsModule = defineModule({
  name: 'teams',
  kind: 'surface',
  config: { teams: optionalSection(teamsSchema) },
  needs: ['config', 'store', 'audit', 'actions', 'spentActions', 'notices'],
  enabled: ({ config }) => config.teams !== undefined,
  // What the adapter refuses at start: a single-tenant bot without its tenant, and the like.
  async check({ services }) {
    const { resolveTeamsAuth } = await import('./bot-auth.js');
    resolveTeamsAuth(services.config.teams!);
  },
  async serve({ services, routes, handle, track, clock, logger, options, onClose }) {
    const config = services.config.teams!;
    if (config.allowUnauthenticated) {
      logger.warn(
        'TEAMS AUTHENTICATION IS OFF (teams.allowUnauthenticated: true): anyone who can reach /api/messages can run commands as anyone. Use this for local development only.',
      );
    }
    const { TeamsAdapter } = await import('./teams-adapter.js');
    const io = options.teams as TeamsIO | undefined;
    const teams = new TeamsAdapter({
      config,
      handle,
      services,
      logger: logger.child({ surface: 'teams' }),
      clock,
      track,
      upstreams: services.resilience,
      ...(io ? { io } : {}),
    });
    teams.mount(routes);
    await teams.start();
    services.notices.register(teams);
    onClose(() => teams.stop());
  },
});
