// The Slack surface: Bolt on POST /slack/events (or Socket Mode), registered as the surface that owns
// Slack ids. A wrong bot or app token stops start-up with a clear error (auth.test runs before listening).
import type { z } from 'zod';
import { optionalSection } from '../../src/config/index.js';
import { defineModule } from '../../src/core/index.js';
import { slackSchema } from './config.js';

declare module '../../src/config/schema.js' {
  interface MillwrightConfig {
    slack?: z.output<typeof slackSchema>;
  }
}

export const slackModule = defineModule({
  name: 'slack',
  kind: 'surface',
  config: { slack: optionalSection(slackSchema) },
  needs: ['config', 'store', 'actions', 'spentActions', 'notices'],
  enabled: ({ config }) => config.slack !== undefined,
  async serve({ services, routes, handle, track, clock, logger, onClose }) {
    const { SlackAdapter } = await import('./slack-adapter.js');
    const slack = new SlackAdapter({
      config: services.config.slack!,
      handle,
      services,
      logger: logger.child({ surface: 'slack' }),
      clock,
      track,
      upstreams: services.resilience,
    });
    slack.mount(routes);
    await slack.start();
    services.notices.register(slack);
    onClose(() => slack.stop());
  },
});
