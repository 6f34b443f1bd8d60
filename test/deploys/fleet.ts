// Stands up the services of test/fixtures/deploys/fleet.yaml: their deployments in one Kubernetes API
// double, their GitHub deployments in one GitHub double, and the catalog config pointing at both.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { type Clock, fixedClock, parseDuration } from '../../src/core/index.js';
import { type GitHubApiDouble, type StatusSpec, startGitHubApi } from '../doubles/github-api.js';
import {
  type KubeObject,
  type KubernetesApiDouble,
  type KubernetesScenario,
  loadKubernetesScenario,
  type PodLogFixture,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/deploys/fleet.yaml');

interface FleetService {
  kubernetes?: {
    scenario: KubernetesScenario;
    namespace: string;
    selector?: string;
    /** Image tags of the scenario replaced by these (1.4.2 -> a commit sha). */
    tags?: Record<string, string>;
  };
  github?: Array<{
    ref: string;
    sha: string;
    creator: string;
    ago: string;
    statuses: StatusSpec['state'][];
  }>;
}

interface FleetFixture {
  now: string;
  services: Record<string, FleetService>;
}

export const FLEET = parse(readFileSync(FIXTURE, 'utf8')) as FleetFixture;
export const NOW = new Date(FLEET.now);
export const GITHUB_TOKEN = 'ghp_deploys_test_token';

export interface Fleet {
  clock: Clock & { set(at: Date | string): void };
  kubernetes: KubernetesApiDouble;
  github: GitHubApiDouble;
  /**
   * The `services:` catalog (plus kubernetes and github sections) for startTestBot; `githubBatchSize`
   * sets github.batchSize (repositories per GraphQL query).
   */
  config(extra?: string, options?: { githubBatchSize?: number }): string;
  close(): Promise<void>;
}

/** The cluster objects of one fleet service, renamed and retagged. */
export function fleetObjects(name: string, now: Date = NOW): (KubeObject | PodLogFixture)[] {
  const spec = FLEET.services[name]?.kubernetes;
  if (!spec) return [];
  let json = JSON.stringify(
    loadKubernetesScenario(spec.scenario, { deployment: name, namespace: spec.namespace, now }),
  );
  json = json.replaceAll('/shop/checkout:', `/shop/${name}:`);
  for (const [from, to] of Object.entries(spec.tags ?? {})) {
    json = json.replaceAll(`/shop/${name}:${from}"`, `/shop/${name}:${to}"`);
  }
  return JSON.parse(json) as (KubeObject | PodLogFixture)[];
}

/**
 * Starts both doubles with the named fleet services (all of them by default).
 *
 * @example
 * const fleet = await startFleet(['checkout', 'cart']);
 * const bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
 */
export async function startFleet(names: string[] = Object.keys(FLEET.services)): Promise<Fleet> {
  const clock = fixedClock(NOW);
  const kubernetes = await startKubernetesApi({
    now: () => clock.now(),
    objects: names.flatMap((name) => fleetObjects(name)),
  });
  const github = await startGitHubApi({ token: GITHUB_TOKEN, now: () => clock.now() });
  for (const name of names) {
    const deployments = FLEET.services[name]?.github;
    if (!deployments) continue;
    const repo = `acme/${name}`;
    github.state.addRepo(repo);
    for (const d of deployments) {
      const createdAt = new Date(NOW.getTime() - parseDuration(d.ago));
      github.state.addDeployment(repo, {
        ref: d.ref,
        sha: d.sha,
        environment: 'production',
        creator: d.creator,
        createdAt,
        statuses: d.statuses.map((state, i) => ({
          state,
          createdAt: new Date(createdAt.getTime() + (i + 1) * 60_000),
          creator: 'github-actions[bot]',
          logUrl: `https://github.com/${repo}/actions/runs/${1000 + i}`,
        })),
      });
    }
  }
  const config = (extra = '', options: { githubBatchSize?: number } = {}) => {
    const catalog = names
      .map((name) => {
        const spec = FLEET.services[name]!;
        const lines = [`  ${name}:`, `    owners: [ana]`];
        if (spec.kubernetes) {
          lines.push(
            spec.kubernetes.selector
              ? `    kubernetes: { namespace: ${spec.kubernetes.namespace}, selector: "${spec.kubernetes.selector}" }`
              : `    kubernetes: { namespace: ${spec.kubernetes.namespace}, deployments: [${name}] }`,
          );
        }
        if (spec.github) lines.push(`    github: { repo: acme/${name}, environments: [production] }`);
        return lines.join('\n');
      })
      .join('\n');
    return `
kubernetes:
  kubeconfig: ${kubernetes.kubeconfigPath}
github:
  baseUrl: ${github.url}
  token: ${GITHUB_TOKEN}
${options.githubBatchSize === undefined ? '' : `  batchSize: ${options.githubBatchSize}\n`}access:
  roles:
    viewer: { allow: [deploys, help, 'incident.*'] }
  subjects:
    ana: [viewer]
services:
${catalog}
${extra}`;
  };
  return {
    clock,
    kubernetes,
    github,
    config,
    close: async () => {
      await Promise.all([kubernetes.close(), github.close()]);
    },
  };
}
