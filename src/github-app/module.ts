// The github-app module: Millwright as a GitHub App answering custom deployment protection rules
// through the policy gate (`POST /hooks/github`), with the `githubApp:` section.
import type { z } from 'zod';
import { optionalSection } from '../config/index.js';
import { defineModule } from '../core/module.js';
import { githubAppSchema } from './config.js';
import type { DeploymentProtection } from './protection-rules.js';
import { deliveryRecordSchema, reviewRecordSchema } from './records.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    githubApp?: z.output<typeof githubAppSchema>;
  }
}

declare module '../core/context.js' {
  interface Services {
    deploymentProtection: DeploymentProtection;
  }
}

export const githubAppModule = defineModule({
  name: 'github-app',
  config: { githubApp: optionalSection(githubAppSchema) },
  records: { github_deliveries: deliveryRecordSchema, github_reviews: reviewRecordSchema },
  needs: ['config', 'store', 'audit', 'changes', 'events', 'resilience'],
  provides: ['deploymentProtection'],
  enabled: ({ config }) => config.githubApp !== undefined,
  // The key and the webhook secret, whatever key or variable they came from.
  secrets: ({ config }) =>
    config.githubApp ? [config.githubApp.privateKey, config.githubApp.webhookSecret] : [],
  async check({ services }) {
    const [{ checkGitHubApp }, { checkPrivateKey }] = await Promise.all([
      import('./mapping.js'),
      import('./config.js'),
    ]);
    checkPrivateKey(services.config.githubApp!.privateKey);
    checkGitHubApp(services.config.githubApp!, services.config.services);
  },
  async create({ services, clock, logger }) {
    const [
      { checkGitHubApp },
      { checkPrivateKey },
      { GitHubAppClient },
      { DeploymentProtection },
      { parseDuration },
    ] = await Promise.all([
      import('./mapping.js'),
      import('./config.js'),
      import('./app-client.js'),
      import('./protection-rules.js'),
      import('../core/duration.js'),
    ]);
    const config = services.config.githubApp!;
    checkPrivateKey(config.privateKey);
    checkGitHubApp(config, services.config.services);
    const github = new GitHubAppClient({
      appId: config.appId,
      privateKey: config.privateKey,
      webhookSecret: config.webhookSecret,
      baseUrl: (config.baseUrl ?? services.config.github?.baseUrl ?? 'https://api.github.com').replace(
        /\/+$/,
        '',
      ),
      timeoutMs: parseDuration(config.timeout),
      resilience: services.resilience,
      clock,
      logger: logger.child({ part: 'github-app' }),
    });
    const deploymentProtection = new DeploymentProtection({
      config,
      catalog: services.config.services,
      changes: services.changes,
      github,
      store: services.store,
      audit: services.audit,
      events: services.events,
      scrub: (text) => services.secrets.text(text),
      clock,
      logger: logger.child({ part: 'github-app' }),
    });
    return { deploymentProtection };
  },
  async serve({ services, routes, logger, track, onClose }) {
    const { mountGitHubWebhook } = await import('./webhook-route.js');
    const { pipelineOf } = await import('./protection-rules.js');
    const protection = services.deploymentProtection;
    mountGitHubWebhook(routes, { protection, logger: logger.child({ part: 'github-app' }) });
    // A person's approval or denial in chat (or the change expiring) answers the waiting run.
    const prefix = pipelineOf('');
    const unsubscribe = services.events.on('change.transitioned', ({ change }) => {
      if (!change.delivery?.pipeline.startsWith(prefix)) return;
      void track(protection.settle(change.id)).catch((error: unknown) =>
        logger.error({ err: error, change: change.id }, 'github review could not be settled'),
      );
    });
    onClose(async () => unsubscribe());
  },
  async start({ services, track }) {
    // What a stopped process owed, failed reviews included without waiting out their delay.
    await services.deploymentProtection.recover({ retryNow: true });
    services.deploymentProtection.startSweeps(track);
  },
  stop({ services }) {
    // Absent when the module was never built (a shell that did not need it).
    services.deploymentProtection?.stopSweeps();
  },
});
