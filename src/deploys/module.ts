// The deploys module: rollout status per service from Kubernetes and GitHub. A config without
// services never loads the Kubernetes client library.
import { defineModule } from '../core/module.js';
import { type Deploys, emptyCatalogDeploys } from './deploys.js';

declare module '../core/context.js' {
  interface Services {
    /** Deployment status per service (Kubernetes rollouts merged with GitHub deployments). */
    deploys: Deploys;
  }
}

export const deploysModule = defineModule({
  name: 'deploys',
  needs: ['config', 'resilience'],
  uses: ['github'],
  provides: ['deploys'],
  async create({ services, clock, logger, onClose }) {
    const { config, github } = services;
    if (Object.keys(config.services).length === 0) return { deploys: emptyCatalogDeploys() };
    const { createDeployService } = await import('./deploy-service.js');
    const deploys = createDeployService(config, {
      github,
      clock,
      logger: logger.child({ service: 'deploys' }),
      resilience: services.resilience,
    });
    // Kubernetes connections kept open between reads.
    onClose(async () => deploys.close());
    return { deploys };
  },
});
