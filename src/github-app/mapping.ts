// Which catalog service a deployment to a repository's environment is: `githubApp.repositories` when
// it names the repository, else the catalog's `services.NAME.github` (repo and environments).
import type { ServiceCatalog } from '../changes/workloads.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { GitHubAppConfig } from './config.js';

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The services the catalog's `github:` entries give for `repo` and `environment`. */
function fromCatalog(catalog: ServiceCatalog, repo: string, environment: string): string[] {
  return Object.entries(catalog)
    .filter(
      ([, service]) =>
        service.github &&
        same(service.github.repo, repo) &&
        service.github.environments.some((name) => same(name, environment)),
    )
    .map(([name]) => name);
}

/**
 * The service a deployment of `repo` to `environment` belongs to, or undefined when nothing maps it.
 *
 * @example
 * serviceFor(config, catalog, 'acme/shop', 'production') // 'checkout'
 */
export function serviceFor(
  config: Pick<GitHubAppConfig, 'repositories'>,
  catalog: ServiceCatalog,
  repo: string,
  environment: string,
): string | undefined {
  const entry = Object.entries(config.repositories).find(([name]) => same(name, repo))?.[1];
  if (entry) {
    const exact = Object.entries(entry).find(([name]) => same(name, environment))?.[1];
    return exact ?? entry['*'];
  }
  const found = fromCatalog(catalog, repo, environment);
  return found.length === 1 ? found[0] : undefined;
}

/**
 * `config check` and start-up: every service `githubApp.repositories` names is in the catalog, and
 * no repository's environment is claimed by two catalog services (the deployment would be ambiguous).
 */
export function checkGitHubApp(config: Pick<GitHubAppConfig, 'repositories'>, catalog: ServiceCatalog): void {
  const known = () => Object.keys(catalog).join(', ') || 'none; add them under services:';
  for (const [repo, environments] of Object.entries(config.repositories)) {
    for (const [environment, service] of Object.entries(environments)) {
      if (!Object.hasOwn(catalog, service))
        throw new MillwrightError(
          ErrorCode.ConfigInvalid,
          `githubApp.repositories.${repo}.${environment}: ${service} is not in the service catalog`,
          { hint: `known services: ${known()}` },
        );
    }
  }
  const claimed = new Map<string, string>();
  for (const [name, service] of Object.entries(catalog)) {
    // A repository githubApp.repositories names is decided there, whatever the catalog says.
    if (!service.github || Object.keys(config.repositories).some((repo) => same(repo, service.github!.repo)))
      continue;
    for (const environment of service.github.environments) {
      const key = `${service.github.repo.toLowerCase()} ${environment.toLowerCase()}`;
      const other = claimed.get(key);
      if (other)
        throw new MillwrightError(
          ErrorCode.ConfigInvalid,
          `services.${other}.github and services.${name}.github both deploy ${service.github.repo} to ${environment}`,
          {
            hint: `say which service a deployment there is under githubApp.repositories.${service.github.repo}.${environment}`,
          },
        );
      claimed.set(key, name);
    }
  }
}
