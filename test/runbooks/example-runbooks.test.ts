// The shipped runbooks against the Kubernetes, GitHub and HTTP doubles through the real clients,
// and every role x runbook x channel: the only runs that happen are the allowed ones.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replyToText } from '../../src/core/index.js';
import { type GitHubApiDouble, startGitHubApi } from '../doubles/github-api.js';
import { startHttpTarget } from '../doubles/http-target.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const RUNBOOKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runbooks');

describe('the shipped runbooks', () => {
  let k8s: KubernetesApiDouble;
  let github: GitHubApiDouble;
  let cdn: Awaited<ReturnType<typeof startHttpTarget>>;
  let bot: TestBot;
  let runId: number;

  beforeAll(async () => {
    k8s = await startKubernetesApi({ objects: loadKubernetesScenario('healthy') });
    github = await startGitHubApi({ token: 'ghp_testtoken0000000000000000', repos: ['acme/checkout'] });
    github.state.addWorkflow('acme/checkout', { path: '.github/workflows/ci.yml' });
    runId = github.state.addRun('acme/checkout', {
      workflow: '.github/workflows/ci.yml',
      status: 'completed',
      conclusion: 'failure',
    }).id;
    cdn = await startHttpTarget();
    cdn.on('POST', '/v1/purge', { status: 200, body: { purged: true } });
    bot = await startTestBot({
      config: `
runbooks:
  dir: ${RUNBOOKS}
kubernetes:
  kubeconfig: ${k8s.kubeconfigPath}
  allowedNamespaces: [shop]
github:
  baseUrl: ${github.url}
  token: ghp_testtoken0000000000000000
http:
  targets:
    cdn:
      baseUrl: ${cdn.url}/v1/
      headers: { authorization: "Bearer cdn-secret-token-123" }
access:
  defaultRoles: []
  roles:
    viewer: { allow: [runbook.list, runbook.show] }
    operator: { allow: ['runbook.*'], channels: [C-OPS, shell] }
    admin: { allow: ['*'] }
  subjects:
    vic: [viewer]
    opal: [operator]
    ada: [admin]
`,
    });
  });
  afterAll(async () => {
    await bot.close();
    await Promise.all([k8s.close(), github.close(), cdn.close()]);
  });

  it('restarts a deployment with the patch kubectl rollout restart sends', async () => {
    k8s.clearRequests();
    const answer = await bot.run('runbook run restart-deployment deployment=checkout --yes', 'ada');
    expect(replyToText(answer)).toMatch(/^restart-deployment succeeded/);
    const [patch] = k8s.requestsTo('PATCH', '/apis/apps/v1/namespaces/shop/deployments/checkout');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch?.body).toEqual({
      spec: {
        template: {
          metadata: {
            annotations: {
              'kubectl.kubernetes.io/restartedAt': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/),
            },
          },
        },
      },
    });
  });

  it('refuses a deployment name with shell in it, and audits the command as an error, not ok', async () => {
    const answer = await bot.run(
      'runbook run restart-deployment deployment="checkout; rm -rf /" --yes',
      'ada',
    );
    expect(answer.error?.code).toBe('millwright_bad_argument');
    const [record] = await bot.runtime.services.audit.recent({ limit: 1 });
    expect(record).toMatchObject({
      action: 'command.runbook.run',
      outcome: 'error',
      code: 'millwright_bad_argument',
      ref: answer.ref,
    });
  });

  it('dry-runs a scale with the server-side dry run and refuses replicas out of bounds', async () => {
    k8s.clearRequests();
    const dry = await bot.run('runbook run scale-deployment deployment=checkout replicas=5 --dry-run', 'ada');
    expect(dry.ok).toBe(true);
    const writes = k8s.requests.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r.query.dryRun === 'All')).toBe(true);
    const tooMany = await bot.run(
      'runbook run scale-deployment deployment=checkout replicas=50 --yes',
      'ada',
    );
    expect(tooMany.error?.message).toBe('replicas must be between 2 and 20, got 50');
  });

  it('re-runs failed jobs through GitHub and purges the CDN through the allow-listed target', async () => {
    const rerun = await bot.run(`runbook run rerun-failed-workflow runId=${runId}`, 'ada');
    expect(rerun.ok).toBe(true);
    expect(github.count('POST', `/repos/acme/checkout/actions/runs/${runId}/rerun-failed-jobs`)).toBe(1);
    const purge = await bot.run('runbook run purge-cache prefix=/static/js --yes', 'ada');
    expect(purge.ok).toBe(true);
    expect(cdn.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/purge' });
    const trail = JSON.stringify(await bot.runtime.services.audit.recent({ limit: 200 }));
    expect(trail).not.toContain('cdn-secret-token-123');
    expect(trail).not.toContain('ghp_testtoken');
  });

  it('runs only what each role may run in each channel', async () => {
    const runbooks = [
      'restart-deployment',
      'scale-deployment',
      'rollback-deployment',
      'rerun-failed-workflow',
      'purge-cache',
    ];
    const params: Record<string, string> = {
      'restart-deployment': 'deployment=checkout',
      'scale-deployment': 'deployment=checkout replicas=3',
      'rollback-deployment': 'deployment=checkout',
      'rerun-failed-workflow': `runId=${runId}`,
      'purge-cache': 'prefix=/img',
    };
    const people = { vic: 'viewer', opal: 'operator', ada: 'admin', nobody: 'none' } as const;
    const channels = ['shell', 'C-OPS', 'C-RANDOM'];
    const expected: string[] = [];
    const happened: string[] = [];
    for (const [person, role] of Object.entries(people)) {
      for (const channel of channels) {
        for (const runbook of runbooks) {
          const allowed = role === 'admin' || (role === 'operator' && channel !== 'C-RANDOM');
          if (allowed) expected.push(`${person}/${channel}/${runbook}`);
          const before = (await bot.runtime.services.audit.recent({ limit: 1 }))[0]?.seq ?? 0;
          const answer = await bot.router.handle({
            actor: { id: person },
            surface: channel === 'shell' ? 'shell' : 'slack',
            channel,
            text: `runbook run ${runbook} ${params[runbook]} --yes`,
          });
          const records = await bot.runtime.services.audit.recent({ limit: 50 });
          const ran = records.some(
            (r) => r.seq > before && r.action === 'runbook.run' && r.outcome === 'started',
          );
          if (ran) happened.push(`${person}/${channel}/${runbook}`);
          if (!allowed) expect(answer.error?.code).toBe('millwright_permission_denied');
        }
      }
    }
    expect(happened).toEqual(expected);
  });
});
