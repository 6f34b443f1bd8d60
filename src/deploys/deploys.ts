// What the rest of Millwright may ask about deployments; DeployService answers it for a catalog, and
// an empty catalog answers it without loading the Kubernetes client library at all.
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { WatchOptions } from './deploy-service.js';
import type {
  RecentDeploy,
  RecentDeploysOptions,
  ServiceDetail,
  ServiceOverview,
  WatchResult,
} from './types.js';

export interface Deploys {
  services(): string[];
  overview(options?: { signal?: AbortSignal | undefined; services?: string[] }): Promise<ServiceOverview[]>;
  detail(service: string, options?: { signal?: AbortSignal | undefined }): Promise<ServiceDetail>;
  watch(service: string, options: WatchOptions): Promise<WatchResult>;
  recentDeploys(service: string, since: Date, options?: RecentDeploysOptions): Promise<RecentDeploy[]>;
  close(): void;
}

/** Deploys for a config with no services: every question about a service says how to add one. */
export function emptyCatalogDeploys(): Deploys {
  const none = (service: string) =>
    new MillwrightError(ErrorCode.NotFound, `no service "${service}" in the catalog`, {
      hint: 'add it under services: in millwright.yml, with its kubernetes and github sections',
    });
  return {
    services: () => [],
    overview: async () => [],
    detail: async (service) => {
      throw none(service);
    },
    watch: async (service) => {
      throw none(service);
    },
    recentDeploys: async () => [],
    close: () => {},
  };
}
