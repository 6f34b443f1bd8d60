// The executors module: the built-in executors for the configured systems and every third-party
// plugin from the config, behind the one audited host.
import type { z } from 'zod';
import type { MillwrightConfig } from '../config/schema.js';
import type { AuditLog } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { defineModule } from '../core/module.js';
import type { UpstreamResilience } from '../core/resilience.js';
import type { SecretSet } from '../core/secrets.js';
import type { GitHubClient } from '../upstreams/github/client.js';
import { executorSections } from './config.js';
import type { ExecutorHost } from './host.js';
import { headerSecrets } from './http/header-secrets.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    http?: z.output<typeof executorSections.http>;
    executors: z.output<typeof executorSections.executors>;
  }
}

declare module '../core/context.js' {
  interface Services {
    executors: ExecutorHost;
  }
}

/**
 * The built-in executors for the configured systems, and every third-party plugin from the config.
 *
 * @example
 * const host = await buildExecutorHost(config, { audit, logger, clock, secrets: new SecretSet(), configDir: '.' });
 */
export async function buildExecutorHost(
  config: MillwrightConfig,
  options: {
    audit: AuditLog;
    logger: Logger;
    clock: Clock;
    secrets: SecretSet;
    configDir: string;
    github?: GitHubClient | undefined;
    /** The shared upstream policies (retries, one circuit per upstream); a private one when absent. */
    resilience?: UpstreamResilience | undefined;
  },
): Promise<ExecutorHost> {
  const [{ ExecutorHost }, { registerBuiltInExecutors }] = await Promise.all([
    import('./host.js'),
    import('./builtins.js'),
  ]);
  const executors = new ExecutorHost(options);
  await registerBuiltInExecutors(executors, config, options);
  for (const plugin of config.executors) {
    await executors.load(plugin.module, plugin.config, options.configDir);
  }
  return executors;
}

/** The trail for a host built only to be checked: nothing may run through it. */
const CHECK_ONLY_AUDIT: AuditLog = {
  append: async () => {
    throw new Error('config check runs no executor');
  },
  recent: async () => [],
  flush: async () => {},
  close: async () => {},
};

export const executorsModule = defineModule({
  name: 'executors',
  config: executorSections,
  needs: ['config', 'secrets', 'audit', 'resilience'],
  uses: ['github'],
  provides: ['executors'],
  // Header values of http targets are secrets whatever their names (`Fastly-Key: ${FASTLY_KEY}`).
  secrets: ({ config }) => headerSecrets(config.http?.targets ?? {}),
  // Every plugin module loads, passes the contract and its configSchema, as at start.
  async check({ services, clock, logger, configDir }) {
    const host = await buildExecutorHost(services.config, {
      audit: CHECK_ONLY_AUDIT,
      logger,
      clock,
      secrets: services.secrets,
      configDir,
    });
    await host.close();
  },
  async create({ services, clock, logger, configDir, onClose }) {
    const executors = await buildExecutorHost(services.config, {
      audit: services.audit,
      logger,
      clock,
      secrets: services.secrets,
      configDir,
      github: services.github,
      resilience: services.resilience,
    });
    onClose(() => executors.close());
    return { executors };
  },
});
