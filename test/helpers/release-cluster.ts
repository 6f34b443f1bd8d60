// The Kubernetes double's healthy scenario made ready for a release: the stable Deployment selects
// its pods by `track: stable`, as the plain-Kubernetes canary requires.
import { type KubeObject, loadKubernetesScenario, type PodLogFixture } from '../doubles/kubernetes-api.js';

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
