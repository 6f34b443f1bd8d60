// deploy/kubernetes as an SRE applies it: `kubectl kustomize` renders the base and each overlay
// offline, every object conforms to the Kubernetes API models, the pod is locked down, the probes,
// replicas and PDB fit together, and the Role is exactly what `millwright rbac` prints.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { quantityValue, schemaProblems } from '../helpers/kubernetes-schema.js';
import { millwright, ROOT } from '../helpers/spawn.js';

const KUBERNETES = path.join(ROOT, 'deploy', 'kubernetes');
const BASE_CONFIG = path.join(KUBERNETES, 'base', 'millwright.yml');

type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field below
  [key: string]: any;
};

async function render(dir: string): Promise<KubeObject[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(stdout).map((doc) => doc.toJSON() as KubeObject);
}

function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found).toHaveLength(1);
  return found[0] as KubeObject;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** The environment `millwright rbac` needs to load the shipped config outside the image. */
const CONFIG_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-test-0000',
  SLACK_SIGNING_SECRET: 'test-signing-secret',
  MILLWRIGHT_AUDIT_KEY: 'test-audit-key-0123456789abcdef',
  MILLWRIGHT_RUNBOOKS: path.join(ROOT, 'runbooks'),
};

describe('deploy/kubernetes', () => {
  let base: KubeObject[];
  let postgres: KubeObject[];
  let single: KubeObject[];

  beforeAll(async () => {
    [base, postgres, single] = await Promise.all([
      render(KUBERNETES),
      render(path.join(KUBERNETES, 'overlays', 'postgres')),
      render(path.join(KUBERNETES, 'overlays', 'single')),
    ]);
  });

  it('renders objects that conform to the Kubernetes API models, base, overlays and the example Secret', async () => {
    const example = parse(await readFile(path.join(KUBERNETES, 'base', 'secret.example.yaml'), 'utf8'));
    const all = [...base, ...postgres, ...single, example];
    expect(all.flatMap(schemaProblems)).toEqual([]);
    expect(base.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('catches what the API server would refuse: an unknown field, a wrong type, a missing required field', () => {
    const deployment = structuredClone(one(base, 'Deployment'));
    deployment.spec.replicas = '2';
    deployment.spec.template.spec.containers[0].readinessProbe.httpGet.paht = '/readyz';
    delete deployment.spec.selector;
    expect(schemaProblems(deployment)).toEqual([
      'Deployment millwright.spec.replicas: expected int32, got "2"',
      expect.stringMatching(
        /^Deployment millwright\.spec\.template\.spec\.containers\[0\]\.readinessProbe\.httpGet\.paht: unknown field/,
      ),
      'Deployment millwright.spec.selector: required',
    ]);
  });

  it('runs at least two replicas with readiness on /readyz and liveness on /healthz, on a named port', () => {
    const deployment = one(base, 'Deployment', 'millwright');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const [container] = deployment.spec.template.spec.containers;
    const ports = container.ports.map((p: { name: string }) => p.name);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(ports).toContain(container.readinessProbe.httpGet.port);
    expect(container.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(
      container.readinessProbe.periodSeconds,
    );
    const service = one(base, 'Service', 'millwright');
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(ports).toContain(service.spec.ports[0].targetPort);
  });

  it('locks the pod down: non-root, no privilege escalation, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const pod = one(base, 'Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: expect.any(Number),
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    for (const container of pod.containers) {
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext.capabilities.add).toBeUndefined();
      // Writable only where the store lives and scratch: everything else is the read-only image or config.
      const volumes = new Map(pod.volumes.map((v: { name: string }) => [v.name, v]));
      const writable = container.volumeMounts
        .filter((m: { readOnly?: boolean }) => m.readOnly !== true)
        .map((m: { mountPath: string; name: string }) => [
          m.mountPath,
          Object.keys(volumes.get(m.name) as object),
        ]);
      expect(writable).toEqual([
        ['/var/lib/millwright', ['emptyDir', 'name']],
        ['/tmp', ['emptyDir', 'name']],
      ]);
      const { requests, limits } = container.resources;
      for (const resource of ['cpu', 'memory']) {
        expect(quantityValue(requests[resource])).toBeLessThanOrEqual(quantityValue(limits[resource]));
      }
    }
    expect(one(base, 'Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('takes config from the ConfigMap and every secret variable the config names from the Secret', () => {
    const deployment = one(base, 'Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const configVolume = pod.volumes.find((v: { configMap?: unknown }) => v.configMap);
    const configMap = one(base, 'ConfigMap', configVolume.configMap.name);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === configVolume.name);
    const env = new Map(container.env.map((e: { name: string }) => [e.name, e]));
    expect(env.get('MILLWRIGHT_CONFIG')).toEqual({
      name: 'MILLWRIGHT_CONFIG',
      value: `${mount.mountPath}/millwright.yml`,
    });
    const needed = [...String(configMap.data['millwright.yml']).matchAll(/\$\{([A-Z0-9_]+)\}/g)].map(
      (m) => m[1],
    );
    expect(needed.length).toBeGreaterThan(0);
    for (const name of needed) {
      expect(env.get(name)).toMatchObject({
        valueFrom: { secretKeyRef: { name: 'millwright', key: expect.any(String) } },
      });
    }
    expect(pod.serviceAccountName).toBe(one(base, 'ServiceAccount').metadata.name);
  });

  it('keeps one replica up through a drain, and lets the single-replica overlay drain', () => {
    const deployment = one(base, 'Deployment');
    const pdb = one(base, 'PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const one_ = one(single, 'Deployment');
    expect(one_.spec.replicas).toBe(1);
    expect(one_.spec.strategy).toEqual({ type: 'Recreate' });
    expect(one(single, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    expect(one(single, 'PodDisruptionBudget').spec.minAvailable).toBeUndefined();
    const data = one_.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
    expect(data).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'millwright-data' } });
    one(single, 'PersistentVolumeClaim', 'millwright-data');
  });

  it('lets in HTTP on the bot port only and out DNS and HTTPS', () => {
    const policy = one(base, 'NetworkPolicy');
    expect(
      matches(policy.spec.podSelector.matchLabels, one(base, 'Deployment').spec.template.metadata.labels),
    ).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    const egressPorts = policy.spec.egress.flatMap((rule: { ports: { port: number }[] }) =>
      rule.ports.map((p) => p.port),
    );
    expect(egressPorts).toEqual([53, 53, 443, 6443, 9090]);
    const pgPorts = one(postgres, 'NetworkPolicy').spec.egress.flatMap(
      (rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port),
    );
    expect(pgPorts).toContain(5432);
  });

  it('binds a Role equal to what `millwright rbac` prints for the shipped config, and nothing cluster-wide', async () => {
    const printed = await millwright(['rbac', '--config', BASE_CONFIG], { env: CONFIG_ENV });
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    const expected = parseAllDocuments(printed.stdout).map((doc) => doc.toJSON() as KubeObject);
    const rendered = base.filter((o) => o.kind === 'Role');
    const comparable = (role: KubeObject) => ({
      apiVersion: role.apiVersion,
      name: role.metadata.name,
      namespace: role.metadata.namespace,
      annotations: role.metadata.annotations,
      rules: role.rules,
    });
    expect(rendered.map(comparable)).toEqual(expected.map(comparable));
    expect(JSON.stringify(rendered)).not.toContain('*');
    expect(base.some((o) => o.kind.startsWith('Cluster'))).toBe(false);
    const binding = one(base, 'RoleBinding');
    expect(binding.metadata.namespace).toBe(rendered[0]?.metadata.namespace);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'millwright',
    });
    const account = one(base, 'ServiceAccount');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace },
    ]);
  });

  it('the PostgreSQL overlay sets store.kind postgres with DATABASE_URL from a Secret, and is otherwise the base config', async () => {
    const configOf = (objects: KubeObject[]) =>
      parse(String(one(objects, 'ConfigMap').data['millwright.yml']));
    const baseConfig = configOf(base);
    const pgConfig = configOf(postgres);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} reference, read literally
    expect(pgConfig.store).toEqual({ ...baseConfig.store, kind: 'postgres', url: '${DATABASE_URL}' });
    expect({ ...pgConfig, store: undefined }).toEqual({ ...baseConfig, store: undefined });
    const [container] = one(postgres, 'Deployment').spec.template.spec.containers;
    expect(container.env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'millwright-postgres', key: 'url' } },
    });
    expect(one(postgres, 'Deployment').spec.replicas).toBeGreaterThanOrEqual(2);
  });
});
