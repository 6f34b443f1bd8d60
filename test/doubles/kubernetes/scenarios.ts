// Loads the checked-in cluster scenarios (test/fixtures/kubernetes/*.yaml), shifting their times to
// "now" and optionally renaming namespace and deployment so many services can share one double.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject, PodLogFixture } from './cluster-state.js';

export const KUBERNETES_SCENARIOS = [
  'healthy',
  'progressing',
  'progress-deadline-exceeded',
  'crashloop',
  'oomkilled',
  'image-pull-backoff',
] as const;

export type KubernetesScenario = (typeof KUBERNETES_SCENARIOS)[number];

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/kubernetes');
/** The moment the fixture files are written against. */
const FIXTURE_NOW = Date.parse('2025-01-01T12:00:00Z');
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export interface ScenarioOptions {
  /** Put everything in this namespace instead of `shop`. */
  namespace?: string;
  /** Call the deployment (and its ReplicaSets, pods, labels) this instead of `checkout`. */
  deployment?: string;
  /** The moment the scenario's "now" maps to; the real clock by default. */
  now?: Date;
}

/**
 * Objects of a named scenario, ready for `startKubernetesApi({ objects })` or `state.apply()`.
 * Renamed copies get fresh uids, so several copies can live in one double.
 *
 * @example
 * const objects = [
 *   ...loadKubernetesScenario('healthy'),
 *   ...loadKubernetesScenario('crashloop', { deployment: 'cart' }),
 * ];
 */
export function loadKubernetesScenario(
  scenario: KubernetesScenario,
  options: ScenarioOptions = {},
): (KubeObject | PodLogFixture)[] {
  const text = readFileSync(path.join(FIXTURES, `${scenario}.yaml`), 'utf8');
  const documents = parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${scenario}.yaml: ${doc.errors[0]?.message}`);
    return doc.toJS() as KubeObject | PodLogFixture;
  });
  const shift = (options.now ?? new Date()).getTime() - FIXTURE_NOW;
  let json = JSON.stringify(documents, (_key, value: unknown) =>
    typeof value === 'string' && TIMESTAMP.test(value)
      ? new Date(Date.parse(value) + shift).toISOString().replace(/\.000Z$/, 'Z')
      : value,
  );
  if (options.deployment !== undefined && options.deployment !== 'checkout') {
    // Names, label values and ReplicaSet/pod prefixes all start with the deployment name.
    json = json.replace(/(\\?")checkout(?=[-"\\])/g, `$1${options.deployment}`);
    const fresh = new Map<string, string>();
    json = json.replace(UID, (uid) => {
      if (!fresh.has(uid)) fresh.set(uid, randomUUID());
      return fresh.get(uid) ?? uid;
    });
  }
  if (options.namespace !== undefined)
    json = json.replace(/"namespace":"shop"/g, `"namespace":${JSON.stringify(options.namespace)}`);
  return JSON.parse(json) as (KubeObject | PodLogFixture)[];
}
