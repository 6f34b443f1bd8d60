// The Kubernetes double's healthy scenario made ready for a release: the stable Deployment selects
// its pods by `track: stable`, as the plain-Kubernetes canary requires; and the release e2e tests'
// server, started and stopped (a restart mid-release) on one config file and an injected clock.
import { EventEmitter } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app.js';
import { type Clock, createLogger, silentLogger } from '../../src/core/index.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { SIGNING_SECRET } from '../adapters/slack/harness.js';
import { type KubeObject, loadKubernetesScenario, type PodLogFixture } from '../doubles/kubernetes-api.js';
import { availabilitySloAt } from './traffic.js';

/** `releaseConfig` written to millwright.yml in a fresh temp directory (the store goes there too). */
export async function writeReleaseConfig(
  options: Parameters<typeof releaseConfig>[0],
): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-releases-'));
  const file = path.join(dir, 'millwright.yml');
  await writeFile(file, releaseConfig(options));
  return { dir, file };
}

/**
 * The release e2e tests' millwright.yml: Slack on its double, Prometheus, the Kubernetes double, the
 * catalog lines given, a 99% availability SLO per service, 5-minute steps judged by hand (tick 1h).
 */
export function releaseConfig(options: {
  slack: { botToken: string; apiUrl: string };
  prometheusUrl: string;
  kubeconfigPath: string;
  services: readonly string[];
  catalog: (service: string) => string;
  access: string;
}): string {
  return `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
slack:
  botToken: ${options.slack.botToken}
  signingSecret: ${SIGNING_SECRET}
  apiUrl: ${options.slack.apiUrl}
prometheus: { url: ${options.prometheusUrl} }
kubernetes: { kubeconfig: ${options.kubeconfigPath}, allowedNamespaces: [shop] }
services:
${options.services.map((service) => `  ${service}: ${options.catalog(service)}`).join('\n')}
slos:${options.services.map((service) => availabilitySloAt(service, 99)).join('')}
releases: { interval: 5m, maxWaits: 2, tick: 1h }
${options.access}`;
}

/**
 * The real server on `file`, restartable: `serve()` starts it (again), `stop()` sends it SIGTERM and
 * waits. Set DEBUG_RELEASES to see its warnings.
 *
 * @example
 * const server = releaseServer(file, clock); await server.serve(); server.running.router.handle(...);
 */
export function releaseServer(file: string, clock: Clock) {
  let signals = new EventEmitter();
  const server = {
    running: undefined as unknown as RunningServer,
    serve: async () => {
      signals = new EventEmitter();
      server.running = await startServer(await loadConfig(file, { env: {} }), {
        logger: process.env.DEBUG_RELEASES ? createLogger({ level: 'warn' }) : silentLogger(),
        clock,
        signals,
        port: 0,
      });
    },
    stop: async () => {
      signals.emit('SIGTERM', 'SIGTERM');
      await server.running.stopped;
    },
  };
  return server;
}

type Deployment = {
  kind?: string;
  metadata: { name?: string };
  spec: { replicas: number; selector: { matchLabels: object }; template: { metadata: { labels: object } } };
};

/**
 * The healthy scenario for `deployment`, its stable tracked; `replicas` changes its pod count.
 *
 * @example
 * await startKubernetesApi({ objects: trackedScenario('checkout', { replicas: 10 }) });
 */
export function trackedScenario(
  deployment = 'checkout',
  options: { replicas?: number } = {},
): (KubeObject | PodLogFixture)[] {
  return loadKubernetesScenario('healthy', { deployment }).map((object) => {
    const o = object as unknown as Deployment;
    if (o.kind !== 'Deployment' || o.metadata.name !== deployment) return object;
    const d = structuredClone(o);
    if (options.replicas !== undefined) d.spec.replicas = options.replicas;
    d.spec.selector.matchLabels = { ...d.spec.selector.matchLabels, track: 'stable' };
    d.spec.template.metadata.labels = { ...d.spec.template.metadata.labels, track: 'stable' };
    return d as unknown as KubeObject;
  });
}
