// `deploys SERVICE`: rollout conditions with reasons, current and previous ReplicaSets, pods that are
// not ready and why, the last five GitHub deployments, and drift with its reason.
import { type Reply, replyToText, type TableBlock } from '../../src/core/index.js';
import { SOURCE_REVISION_ANNOTATION } from '../../src/deploys/index.js';
import type { KubeObject } from '../doubles/kubernetes-api.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { type Fleet, NOW, startFleet } from './fleet.js';

/** The table whose first column is `first`, as rows of cells. */
function tableOf(answer: Reply, first: string): string[][] {
  const found = answer.blocks.find((b) => b.type === 'table' && b.columns[0] === first) as
    | TableBlock
    | undefined;
  if (!found) throw new Error(`no table starting with "${first}" in:\n${replyToText(answer)}`);
  return found.rows;
}

/** A pod's container statuses, as the Kubernetes API writes them. */
function containerStatuses(pod: KubeObject): Array<{ restartCount?: number }> {
  return (
    (pod as { status?: { containerStatuses?: Array<{ restartCount?: number }> } }).status
      ?.containerStatuses ?? []
  );
}

function field(answer: Reply, label: string): string | undefined {
  for (const block of answer.blocks) {
    if (block.type === 'fields') return block.fields.find((f) => f.label === label)?.value;
  }
  return undefined;
}

describe('deploys SERVICE', () => {
  let fleet: Fleet;
  let bot: TestBot;

  beforeAll(async () => {
    fleet = await startFleet();
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
  });
  afterAll(async () => {
    await bot.close();
    await fleet.close();
  });
  afterEach(() => fleet.github.state.setRateLimit({ remaining: 5000 }));

  it('shows a ProgressDeadlineExceeded rollout: the condition and its reason, both revisions, the pod that never got ready', async () => {
    const answer = await bot.run('deploys payments');
    expect(answer.ok).toBe(true);
    const text = replyToText(answer);
    expect(text.split('\n\n').slice(0, 2)).toEqual([
      'payments: failed',
      'deployment "payments" exceeded its progress deadline: pod payments-7b9c6f5d48-h5j7c NotReady',
    ]);
    expect(tableOf(answer, 'condition')).toContainEqual([
      'Progressing',
      'False',
      'ProgressDeadlineExceeded',
      'ReplicaSet "payments-7b9c6f5d48" has timed out progressing.',
      '6m ago (2025-01-01 11:54 UTC)',
    ]);
    expect(tableOf(answer, 'revision')).toEqual([
      [
        '5 (current)',
        'payments-7b9c6f5d48',
        'registry.example.com/shop/payments:1.5.0',
        '0/1',
        '14m ago (2025-01-01 11:46 UTC)',
      ],
      [
        '4 (previous)',
        'payments-6d9f7c8b5d',
        'registry.example.com/shop/payments:1.4.2',
        '3/3',
        '1d ago (2024-12-31 12:00 UTC)',
      ],
    ]);
    expect(tableOf(answer, 'pod not ready')).toEqual([
      ['payments-7b9c6f5d48-h5j7c', '5', 'Running', 'NotReady', '0', '14m'],
    ]);
    // What serves is what the ready pods run: the old revision, not the stuck template.
    expect(field(answer, 'version')).toBe('1.4.2 3/3 · 1.5.0 0/1 new');
    expect(field(answer, 'drift')).toMatch(/^no: runs 1\.4\.2, the last successful production deployment/);
    expect(answer.data).toMatchObject({
      service: 'payments',
      state: 'failed',
      versions: ['1.4.2'],
      deployments: [
        {
          name: 'payments',
          serving: [
            { revision: 4, version: '1.4.2', ready: 3, pods: 3, isNew: false },
            { revision: 5, version: '1.5.0', ready: 0, pods: 1, isNew: true },
          ],
        },
      ],
    });
  });

  it('shows CrashLoopBackOff pods with their restart counts and why the last run ended', async () => {
    const answer = await bot.run('deploys cart');
    expect(field(answer, 'replicas')).toBe('1/3 ready');
    const pods = tableOf(answer, 'pod not ready');
    expect(pods.map((p) => [p[0], p[2], p[4]])).toEqual([
      ['cart-6d9f7c8b5d-m4q9z', 'CrashLoopBackOff', '8'],
      ['cart-6d9f7c8b5d-x7k2p', 'CrashLoopBackOff', '9'],
    ]);
    expect(pods[0]?.[3]).toMatch(
      /^CrashLoopBackOff; last exit Error; back-off 5m0s restarting failed container/,
    );
  });

  it('names OOMKilled and ImagePullBackOff as the reasons pods are not ready', async () => {
    const oom = tableOf(await bot.run('deploys orders'), 'pod not ready');
    expect(oom.map((p) => [p[0], p[3]?.split(';')[0], p[4]])).toEqual([
      ['orders-6d9f7c8b5d-m4q9z', 'OOMKilled', '6'],
    ]);
    const pull = tableOf(await bot.run('deploys pricing'), 'pod not ready');
    expect(pull).toEqual([
      [
        'pricing-7b9c6f5d48-q2w8e',
        '5',
        'ImagePullBackOff',
        'ImagePullBackOff; Back-off pulling image "registry.example.com/shop/pricing:1.5.1"',
        '0',
        '3m',
      ],
    ]);
  });

  it('lists the last five GitHub deployments newest first with ref, sha, state, creator, time and link', async () => {
    for (let i = 0; i < 4; i++) {
      fleet.github.state.addDeployment('acme/checkout', {
        ref: 'v1.4.2',
        sha: '42a1b2c3d4e5f60718293a4b5c6d7e8f90123456',
        environment: 'production',
        creator: 'github-actions[bot]',
        createdAt: new Date(NOW.getTime() - (10 + i) * 60_000),
        statuses: [{ state: 'inactive', createdAt: new Date(NOW.getTime() - (9 + i) * 60_000) }],
      });
    }
    const answer = await bot.run('deploys checkout');
    const rows = tableOf(answer, 'environment');
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual([
      'production',
      'v1.4.2',
      '42a1b2c',
      'inactive',
      'github-actions[bot]',
      '10m ago (2025-01-01 11:50 UTC)',
      // A status without a log URL links to the environment's deployments page.
      `${fleet.github.url}/acme/checkout/deployments/production`,
    ]);
    expect(rows.map((r) => r[5])).toEqual([
      '10m ago (2025-01-01 11:50 UTC)',
      '11m ago (2025-01-01 11:49 UTC)',
      '12m ago (2025-01-01 11:48 UTC)',
      '13m ago (2025-01-01 11:47 UTC)',
      '1d2h ago (2024-12-31 10:00 UTC)',
    ]);
    expect(rows[4]).toEqual([
      'production',
      'v1.4.2',
      '42a1b2c',
      'success',
      'ana',
      '1d2h ago (2024-12-31 10:00 UTC)',
      'https://github.com/acme/checkout/actions/runs/1001',
    ]);
    // The newest is no success, so the last successful one is looked for further back: still in sync.
    expect(field(answer, 'drift')).toBe(
      'no: runs 1.4.2, the last successful production deployment v1.4.2 (42a1b2c)',
    );
  });

  it('flags image drift: the cluster runs a commit GitHub never deployed successfully', async () => {
    const answer = await bot.run('deploys inventory');
    expect(field(answer, 'drift')).toBe(
      'DRIFT: runs 9f8e7d6c5b4a, but the last successful production deployment is main (0c1d2e3) by github-actions[bot]',
    );
    expect(field(answer, 'version')).toBe('9f8e7d6c5b4a');
    expect(field(answer, 'last deploy')).toBe(
      'production main (0c1d2e3) by github-actions[bot], success, 2h ago (2025-01-01 10:00 UTC)',
    );
  });

  it('says when drift cannot be determined, and how to make it so', async () => {
    const answer = await bot.run('deploys legacy');
    expect(field(answer, 'drift')).toBe(
      `unknown: image tag latest moves from build to build, so it names no commit; tag images with the commit sha (sha-COMMIT works too), or set the ${SOURCE_REVISION_ANNOTATION} annotation on the pod template`,
    );
  });

  it('reads the commit from the org.opencontainers.image.revision annotation when the tag names none', async () => {
    const deployment = fleet.kubernetes.state.get('Deployment', 'shop', 'legacy')!;
    deployment.spec.template.metadata = {
      ...deployment.spec.template.metadata,
      annotations: { [SOURCE_REVISION_ANNOTATION]: '1234abcd405162738495a6b7c8d9e0f1a2b3c4d5' },
    };
    fleet.kubernetes.state.apply(deployment);
    try {
      expect(field(await bot.run('deploys legacy'), 'drift')).toBe(
        'no: runs latest (commit 1234abc), the last successful production deployment main (1234abc)',
      );
    } finally {
      delete deployment.spec.template.metadata.annotations;
      fleet.kubernetes.state.apply(deployment);
    }
  });

  it('still shows the cluster when GitHub is rate limited, and says so', async () => {
    fleet.github.state.setRateLimit({ remaining: 0, resetAt: new Date(NOW.getTime() + 60 * 60_000) });
    // A fresh bot: the first bot's GitHub gate would otherwise remember the limit.
    const other = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    try {
      const answer = await other.run('deploys cart');
      expect(answer.ok).toBe(false);
      expect(answer.error?.message).toMatch(/^cart: GitHub: /);
      expect(replyToText(answer)).toContain('CrashLoopBackOff');
      expect(field(answer, 'last deploy')).toBe('unknown (GitHub rate-limited)');
      expect(field(answer, 'drift')).toMatch(
        /^unknown: GitHub could not be read \(GitHub rate limit reached; resets at 13:00 UTC \(in 1h\)\)/,
      );
      expect(replyToText(answer)).toContain('GitHub: GitHub rate limit reached; resets at 13:00 UTC (in 1h)');
    } finally {
      await other.close();
    }
  });

  /**
   * `deploys SERVICE` from a fresh bot (no remembered GitHub state) while GitHub answers every
   * deployments read with `status` and its JSON error body, as its API does.
   */
  async function detailWhileGitHubAnswers(status: number, message: string, service: string): Promise<Reply> {
    fleet.github.state.fail({
      path: /\/deployments$/,
      times: Number.POSITIVE_INFINITY,
      answer: {
        status,
        body: { message, documentation_url: 'https://docs.github.com/rest/deployments/deployments' },
      },
    });
    const other = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    try {
      return await other.run(`deploys ${service}`);
    } finally {
      fleet.github.state.clearFaults();
      await other.close();
    }
  }

  it('says the last deploy is unknown when GitHub answers 5xx, exits non-zero, and carries the error in data', async () => {
    const answer = await detailWhileGitHubAnswers(502, 'Server Error', 'cart');
    expect(field(answer, 'last deploy')).toBe('unknown (GitHub 502)');
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatchObject({
      code: 'millwright_dependency_unavailable',
      message: expect.stringMatching(/^cart: GitHub: GitHub answered 502 to list production deployments in /),
    });
    expect(answer.data).toMatchObject({
      lastDeployment: null,
      problems: [{ source: 'github', code: 'millwright_dependency_unavailable', status: 502 }],
    });
    // The cluster side still stands.
    expect(replyToText(answer)).toContain('CrashLoopBackOff');
  });

  it("a 403 on reading deployments asks for the read permission GitHub's docs name, not write", async () => {
    const answer = await detailWhileGitHubAnswers(
      403,
      'Resource not accessible by personal access token',
      'cart',
    );
    expect(answer.ok).toBe(false);
    expect(field(answer, 'last deploy')).toBe('unknown (GitHub 403)');
    const note = replyToText(answer)
      .split('\n')
      .find((line) => line.startsWith('GitHub: GitHub refused'));
    expect(note).toMatch(/may read deployments in .*repository permission deployments: read\)\)$/);
    expect(note).not.toContain('write');
  });

  it('calls a crash-looping rollout "failing" in the detail, the word its list row uses', async () => {
    const list = await bot.run('deploys');
    const row = (list.data as { services: Array<{ service: string; state: string }> }).services.find(
      (service) => service.service === 'cart',
    );
    expect(row?.state).toBe('failing');
    const answer = await bot.run('deploys cart');
    expect(answer.blocks[0]).toEqual({ type: 'header', text: 'cart: failing' });
    // Kubernetes' own word (degraded) stays in rolloutState; deploys shows its own word everywhere.
    expect(replyToText(answer)).toMatch(/Deployment shop\/cart\*?: failing, revision/);
    expect(answer.data).toMatchObject({
      deployments: [{ name: 'cart', state: 'failing', rolloutState: 'degraded' }],
    });
  });

  it('counts in the right number: one restart is "1 restart"', async () => {
    const [pod] = fleet.kubernetes.state.list(
      'Pod',
      'shop',
      (object) =>
        object.metadata.name.startsWith('orders-') && (containerStatuses(object)[0]?.restartCount ?? 0) > 0,
    );
    const status = pod && containerStatuses(pod)[0];
    if (!pod || !status) throw new Error('no OOMKilled orders pod in the fixture');
    const original = structuredClone(pod);
    status.restartCount = 1;
    fleet.kubernetes.state.apply(pod);
    try {
      const list = replyToText(await bot.run('deploys'));
      // One restart is below the crash-loop threshold: degraded, not failing; counted in the singular.
      expect(list).toContain('degraded (1 OOMKilled; 1 restart)');
      expect(list).not.toContain('1 restarts');
    } finally {
      fleet.kubernetes.state.apply(original);
    }
  });

  it('suggests the nearest service name for a typo', async () => {
    const answer = await bot.run('deploys chekout');
    expect(answer.error).toEqual({
      code: 'millwright_not_found',
      message: 'no service "chekout" in the catalog',
      hint: 'did you mean "checkout"? deploys lists them all',
    });
  });

  it('judges a service with several deployments by the worst one, and shows each', async () => {
    const other = await startTestBot({
      clock: fleet.clock,
      config: fleet.config(`  storefront:
    kubernetes: { namespace: shop, deployments: [ledger, inventory] }
    github: { repo: acme/ledger }
`),
    });
    try {
      const answer = await other.run('deploys storefront');
      expect(field(answer, 'version')).toBe('sha-7638417, 9f8e7d6c5b4a');
      expect(field(answer, 'replicas')).toBe('6/6 ready');
      expect(field(answer, 'drift')).toBe(
        'DRIFT: inventory runs 9f8e7d6c5b4a, but the last successful production deployment is main (7638417) by ana',
      );
      const text = replyToText(answer);
      expect(text).toContain('Deployment shop/ledger: healthy, revision 4, 3/3 ready');
      expect(text).toContain(
        'drift: no: runs sha-7638417, the last successful production deployment main (7638417)',
      );
      expect(text).toContain('Deployment shop/inventory: healthy, revision 4, 3/3 ready');
    } finally {
      await other.close();
    }
  });
});
