// `millwright rbac` as an SRE runs it: the Roles for a config, narrowed to the namespaces each runbook
// step can reach, one namespace on request, and plain words when something configured can never work.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { millwright } from '../helpers/spawn.js';

const RUNBOOK = (name: string, namespace: string, params = '') => `apiVersion: millwright/v1
kind: Runbook
metadata:
  name: ${name}
  description: ${name} for the rbac test
  owners: [team-platform]
spec:
  params:
    - name: deployment
      type: string
      required: true
      description: the deployment
${params}
  permissions:
    roles: [admin]
  steps:
    - id: one
      uses: kubernetes.restart
      with:
        namespace: ${namespace}
        deployment: "{{ params.deployment }}"
`;

describe('millwright rbac', () => {
  let root: string;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'millwright-rbac-'));
    dir = path.join(root, 'runbooks');
    await mkdir(dir);
    await writeFile(path.join(dir, 'literal.yml'), RUNBOOK('literal', 'shop'));
    await writeFile(
      path.join(dir, 'enum.yml'),
      RUNBOOK(
        'enum',
        '"{{ params.namespace }}"',
        '    - name: namespace\n      type: enum\n      values: [edge, kube-system]\n      default: edge\n      description: where',
      ),
    );
    await writeFile(
      path.join(dir, 'free.yml'),
      RUNBOOK(
        'free',
        '"{{ params.namespace }}"',
        '    - name: namespace\n      type: string\n      required: true\n      description: where',
      ),
    );
    config = path.join(root, 'millwright.yml');
    await writeFile(
      config,
      `store: { path: ./data }
runbooks: { dir: ${JSON.stringify(dir)} }
kubernetes:
  allowedNamespaces: [shop, edge, payments]
services:
  checkout: { kubernetes: { namespace: shop, deployments: [checkout] } }
`,
    );
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('asks for each namespace only what the runbooks that reach it and the services there need', async () => {
    const result = await millwright(['rbac', '--config', config]);
    expect(result.code).toBe(0);
    const roles = parseAllDocuments(result.stdout).map((doc) => doc.toJSON());
    const summary = Object.fromEntries(
      roles.map((role) => [
        role.metadata.namespace,
        role.rules.map(
          (r: { resources: string[]; verbs: string[] }) => `${r.resources[0]}:${r.verbs.join(',')}`,
        ),
      ]),
    );
    expect(summary).toEqual({
      // literal (shop), free (any allowed namespace) and the checkout service's reads
      shop: ['pods:list', 'deployments:get,patch', 'replicasets:list'],
      // enum: edge is allowed, kube-system is not; free reaches it too
      edge: ['deployments:get,patch'],
      // only free, whose namespace parameter is any string
      payments: ['deployments:get,patch'],
    });
    const shop = roles.find((role) => role.metadata.namespace === 'shop');
    expect(shop.metadata.annotations['millwright.dev/needed-by']).toBe(
      'deploys, incidents and digests of (checkout); runbook free (kubernetes.restart); runbook literal (kubernetes.restart)',
    );
    expect(result.stderr).toBe(
      'warning: runbook enum step one names namespace kube-system, which is not in kubernetes.allowedNamespaces; the executor refuses it, so no rights are asked for\n',
    );
  });

  it('prints one namespace on request, and says which namespaces have a Role when that one has none', async () => {
    const edge = await millwright(['rbac', '--config', config, '--namespace', 'edge']);
    expect(edge.code).toBe(0);
    expect(parseAllDocuments(edge.stdout).map((doc) => doc.toJSON().metadata.namespace)).toEqual(['edge']);
    const none = await millwright(['rbac', '--config', config, '-n', 'kube-system']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(
      'millwright: nothing configured needs rights in namespace kube-system\nhint: namespaces with a Role: edge, payments, shop\n',
    );
  });

  it('says so when nothing configured needs Kubernetes, and names runbooks that cannot run without a kubernetes section', async () => {
    const bare = path.join(root, 'bare.yml');
    await writeFile(bare, `store: { path: ./data }\nrunbooks: { dir: ${JSON.stringify(dir)} }\n`);
    const result = await millwright(['rbac', '--config', bare]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'warning: runbooks enum, free, literal use the kubernetes executor, but millwright.yml has no kubernetes section (allowedNamespaces), so they cannot run\n' +
        'millwright: nothing configured needs Kubernetes rights (no kubernetes runbook steps, no services with a kubernetes section)\n',
    );
  });
});
