// The upstreams module: one GitHub client shared by the github executor and `deploys`, so both stop
// at the same rate-limit gate. Kubernetes clients are built per context by their users.
import type { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { defineModule } from '../core/module.js';
import { upstreamSections } from './config.js';
import type { GitHubClient } from './github/client.js';

declare module '../config/schema.js' {
  interface MillwrightConfig {
    github?: z.output<typeof upstreamSections.github>;
    kubernetes?: z.output<typeof upstreamSections.kubernetes>;
  }
}

declare module '../core/context.js' {
  interface Services {
    /** Present when `github` is configured. */
    github: GitHubClient | undefined;
  }
}

export const upstreamsModule = defineModule({
  name: 'upstreams',
  config: upstreamSections,
  configPaths: ['kubernetes.kubeconfig'],
  needs: ['config', 'resilience', 'store'],
  provides: ['github'],
  async create({ services, clock, logger }) {
    const { github } = services.config;
    if (!github) return { github: undefined };
    const { createGitHubClient } = await import('./github/client.js');
    const { storeRateLimitMemory } = await import('./github/rate-limit-memory.js');
    return {
      github: createGitHubClient({
        baseUrl: github.baseUrl,
        token: github.token,
        requestTimeoutMs: parseDuration(github.timeout),
        logger: logger.child({ client: 'github' }),
        clock,
        resilience: services.resilience,
        // A limit one replica learned stops every replica on the store until it resets.
        rateLimits: storeRateLimitMemory(services.store),
      }),
    };
  },
});
