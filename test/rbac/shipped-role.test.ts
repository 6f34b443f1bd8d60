// The Role the kustomize base ships (what `millwright rbac` prints for deploy/kubernetes/base/millwright.yml)
// is enough and no more: with the Kubernetes double enforcing exactly it, the shipped runbooks,
// `deploys` and an incident's suspects all work; without any one of its rules something fails; and
// what it does not grant (deleting, other namespaces, the cluster scope) is a 403.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { replyToText } from '../../src/core/index.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  type RoleLike,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { kubectl } from '../executors/kubernetes/support.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { millwright, ROOT } from '../helpers/spawn.js';

const SHIPPED_CONFIG = path.join(ROOT, 'deploy', 'kubernetes', 'base', 'millwright.yml');

/** What an operator does with the shipped config: every Kubernetes runbook, deploys, an incident. */
const COMMANDS = [
  'runbook run restart-deployment deployment=checkout --yes',
  'runbook run scale-deployment deployment=checkout replicas=4 --yes',
  'runbook run scale-deployment deployment=checkout replicas=3 --yes',
  'runbook run rollback-deployment deployment=checkout --yes',
  'deploys',
  'deploys checkout',
  'incident declare "checkout 5xx spike" service=checkout sev=2',
];

/**
 * Rules that no command needs yet: what issue 18 makes rollout-status read (a ReplicaSet or pod by
 * name), declared ahead so the Role stays true once it lands.
 */
const AHEAD_OF_CODE = new Set(['pods get', 'replicasets get']);

describe('the shipped Role against the Kubernetes double enforcing RBAC', () => {
  let k8s: KubernetesApiDouble;
  let bot: TestBot;
  let role: RoleLike;

  beforeAll(async () => {
    const printed = await millwright(['rbac', '--config', SHIPPED_CONFIG], {
      env: {
        SLACK_BOT_TOKEN: 'xoxb-test-0000',
        SLACK_SIGNING_SECRET: 'test-signing-secret',
        MILLWRIGHT_AUDIT_KEY: 'test-audit-key-0123456789abcdef',
        MILLWRIGHT_RUNBOOKS: path.join(ROOT, 'runbooks'),
      },
    });
    expect(printed.code).toBe(0);
    const roles = parseAllDocuments(printed.stdout).map((doc) => doc.toJSON() as RoleLike);
    expect(roles).toHaveLength(1);
    role = roles[0] as RoleLike;
    k8s = await startKubernetesApi({ objects: loadKubernetesScenario('healthy'), roles: [role] });
    // The shipped kubernetes and services sections, pointed at the double; a store in a temp directory.
    const shipped = parse(await readFile(SHIPPED_CONFIG, 'utf8'));
    bot = await startTestBot({
      config: `
runbooks:
  dir: ${path.join(ROOT, 'runbooks')}
kubernetes: ${JSON.stringify({ ...shipped.kubernetes, kubeconfig: k8s.kubeconfigPath })}
services: ${JSON.stringify(shipped.services)}
access:
  defaultRoles: []
  roles:
    admin: { allow: ['*'] }
  subjects:
    ana: [admin]
`,
    });
  });
  afterAll(async () => {
    await bot?.close();
    await k8s?.close();
  });

  it('runs the shipped runbooks, deploys and an incident with exactly those rights', async () => {
    for (const command of COMMANDS) {
      const answer = await bot.run(command);
      expect({ command, ok: answer.ok, text: answer.ok ? '' : replyToText(answer) }).toEqual({
        command,
        ok: true,
        text: '',
      });
    }
    expect(k8s.forbidden).toEqual([]);
    // The incident listed the recent rollouts as suspects, read under the Role.
    expect(k8s.requestsTo('GET', '/apis/apps/v1/namespaces/shop/replicasets').length).toBeGreaterThan(0);
  });

  it('needs every rule: without any one of them, something an operator does fails with 403', async () => {
    const rules = role.rules.flatMap((rule) =>
      rule.verbs.map((verb) => ({
        resource: rule.resources?.[0] ?? '',
        group: rule.apiGroups?.[0] ?? '',
        verb,
      })),
    );
    const unneeded: string[] = [];
    for (const dropped of rules) {
      const without: RoleLike = {
        ...role,
        rules: role.rules
          .map((rule) => ({
            ...rule,
            verbs:
              rule.resources?.[0] === dropped.resource
                ? rule.verbs.filter((v) => v !== dropped.verb)
                : rule.verbs,
          }))
          .filter((rule) => rule.verbs.length > 0),
      };
      k8s.setRoles([without]);
      k8s.forbidden.length = 0;
      for (const command of COMMANDS) await bot.run(command);
      if (k8s.forbidden.length === 0) unneeded.push(`${dropped.resource} ${dropped.verb}`);
    }
    k8s.setRoles([role]);
    expect(new Set(unneeded)).toEqual(AHEAD_OF_CODE);
    // Every rule times every operator command: a few hundred runs, slow on a busy machine.
  }, 300_000);

  it('refuses what it does not grant: deleting, writing pods, other namespaces and the cluster scope', async () => {
    k8s.forbidden.length = 0;
    const attempts = [
      ['delete', 'deployment', 'checkout', '-n', 'shop'],
      ['delete', 'pod', 'checkout-6d9f7c8b5d-x7k2p', '-n', 'shop'],
      ['get', 'deployments', '-n', 'kube-system'],
      ['get', 'pods', '--all-namespaces'],
    ];
    for (const args of attempts) {
      const result = await kubectl(k8s, args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toMatch(/forbidden: User "system:serviceaccount:millwright:millwright" cannot/);
    }
    expect(k8s.forbidden.map((f) => `${f.verb} ${f.resource} ${f.namespace ?? '(cluster)'}`)).toEqual([
      'delete deployments shop',
      'delete pods shop',
      'list deployments kube-system',
      'list pods (cluster)',
    ]);
  });
});
