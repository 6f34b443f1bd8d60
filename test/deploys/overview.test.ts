// `deploys`: one row per service, worst first, merged from the Kubernetes and GitHub doubles; a
// failing cluster or repository is an error on that row, never a failed command.
import { fixedClock, replyToText, silentLogger, type TableBlock } from '../../src/core/index.js';
import { createDeployService } from '../../src/deploys/index.js';
import { createGitHubClient } from '../../src/upstreams/github/index.js';
import { startTestBot, TEST_ACCESS, type TestBot } from '../helpers/runtime.js';
import { type Fleet, GITHUB_TOKEN, NOW, startFleet } from './fleet.js';

function rowsOf(answer: { blocks: unknown[] }): Record<string, Record<string, string>> {
  const tableBlock = answer.blocks.find((b) => (b as TableBlock).type === 'table') as TableBlock;
  return Object.fromEntries(
    tableBlock.rows.map((row) => [
      row[0],
      Object.fromEntries(tableBlock.columns.map((column, i) => [column, row[i] ?? ''])),
    ]),
  );
}

function order(answer: { blocks: unknown[] }): string[] {
  const tableBlock = answer.blocks.find((b) => (b as TableBlock).type === 'table') as TableBlock;
  return tableBlock.rows.map((row) => row[0]!);
}

describe('deploys (every service)', () => {
  let fleet: Fleet | undefined;
  let bot: TestBot | undefined;

  afterEach(async () => {
    await bot?.close();
    await fleet?.close();
    bot = undefined;
    fleet = undefined;
  });

  it('lists every service worst first with state, version, replicas, last deploy and drift', async () => {
    fleet = await startFleet();
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    const answer = await bot.run('deploys');
    expect(answer.ok).toBe(true);
    expect(order(answer)).toEqual([
      'payments', // failed
      'cart', // failing: crash loop
      'orders', // failing: OOMKilled
      'pricing', // failing: its new pod cannot pull; the previous version serves
      'search', // progressing
      'inventory', // healthy, drifted
      'legacy', // healthy, drift unknown
      'checkout', // healthy, in sync
      'ledger',
    ]);
    const rows = rowsOf(answer);
    expect(rows.payments).toEqual({
      service: 'payments',
      state: 'failed (1 NotReady)',
      // The previous revision's three ready pods serve; the stuck new one serves nothing.
      version: '1.4.2 3/3 · 1.5.0 0/1 new',
      ready: '3/3',
      'last deploy': 'v1.5.0 by bo, in progress, 40m ago (2025-01-01 11:20 UTC)',
      drift: 'no',
    });
    expect(rows.cart).toMatchObject({
      state: 'failing (2 CrashLoopBackOff; 17 restarts)',
      version: '1.4.2 1/3 new',
      ready: '1/3',
      drift: 'no',
    });
    expect(rows.orders).toMatchObject({
      state: 'failing (1 OOMKilled; 6 restarts)',
      version: '1.4.2 2/3 new',
    });
    expect(rows.pricing).toMatchObject({
      state: 'failing (1 ImagePullBackOff)',
      version: '1.4.2 3/3 · 1.5.1 0/1 new',
      drift: 'no',
    });
    expect(rows.search).toMatchObject({
      state: 'progressing (1 NotReady)',
      version: '1.4.2 2/2 · 1.5.0 1/2 new',
      'last deploy': 'v1.5.0 by ana, in progress, 5m ago (2025-01-01 11:55 UTC)',
    });
    expect(rows.inventory).toMatchObject({ state: 'healthy', version: '9f8e7d6c5b4a', drift: 'DRIFT' });
    expect(rows.legacy).toMatchObject({ version: 'latest', drift: 'unknown' });
    expect(rows.checkout).toEqual({
      service: 'checkout',
      state: 'healthy',
      version: '1.4.2',
      ready: '3/3',
      'last deploy': 'v1.4.2 by ana, 1d2h ago (2024-12-31 10:00 UTC)',
      drift: 'no',
    });
    expect(rows.ledger).toMatchObject({ version: 'sha-7638417', drift: 'no' });

    const text = replyToText(answer);
    expect(text.split('\n')[0]).toBe(
      '4 of 9 services need attention: payments failed, cart failing, orders failing, ...; 1 drifted from GitHub (inventory)',
    );
    expect(text).toContain(
      'inventory drift: runs 9f8e7d6c5b4a, but the last successful production deployment is main (0c1d2e3) by github-actions[bot]',
    );
    expect(text).toContain('Detail, pods and drift: deploys SERVICE');
  });

  it('reads each service with the fewest calls: one per deployment (plus its ReplicaSets and pods when not healthy), one GitHub query for every repository', async () => {
    fleet = await startFleet(['checkout', 'payments']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    fleet.kubernetes.clearRequests();
    expect((await bot.run('deploys')).ok).toBe(true);
    const kube = fleet.kubernetes.requests.map((r) => `${r.method} ${r.path}`).sort();
    // checkout is healthy, so its template is what serves; payments is not, so its pods are read.
    expect(kube).toEqual([
      'GET /api/v1/namespaces/shop/pods',
      'GET /apis/apps/v1/namespaces/shop/deployments/checkout',
      'GET /apis/apps/v1/namespaces/shop/deployments/payments',
      'GET /apis/apps/v1/namespaces/shop/replicasets',
    ]);
    // Both repositories' newest deployments, with their statuses, in one GraphQL query; no REST calls.
    expect(fleet.github.count('POST', '/graphql')).toBe(1);
    expect(fleet.github.requests).toHaveLength(1);
    const { variables } = fleet.github.requests[0]!.body as { variables: Record<string, unknown> };
    expect(variables).toMatchObject({ first: 10, n0: 'checkout', e0: ['production'], n1: 'payments' });
  });

  it('asks GitHub one query per batch of repositories (github.batchSize)', async () => {
    fleet = await startFleet(['checkout', 'cart', 'payments']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config('', { githubBatchSize: 2 }) });
    const answer = await bot.run('deploys');
    expect(Object.values(rowsOf(answer)).map((r) => r['last deploy'])).toEqual([
      'v1.5.0 by bo, in progress, 40m ago (2025-01-01 11:20 UTC)',
      expect.stringMatching(/^v1\.4\.2 by /),
      'v1.4.2 by ana, 1d2h ago (2024-12-31 10:00 UTC)',
    ]);
    expect(
      fleet.github.requests.map((r) => Object.keys((r.body as { variables: object }).variables).length),
    ).toEqual([7, 4]);
  });

  it('lists a namespace once when the catalog names several deployments in it', async () => {
    fleet = await startFleet(['checkout', 'cart', 'payments', 'search']);
    bot = await startTestBot({
      clock: fleet.clock,
      config: fleet.config(`  ghost:
    kubernetes: { namespace: shop, deployments: [ghost] }
`),
    });
    fleet.kubernetes.clearRequests();
    const answer = await bot.run('deploys');
    expect(
      fleet.kubernetes.requests
        .map((r) => `${r.method} ${r.path} ${r.query.labelSelector ?? ''}`.trim())
        .sort(),
    ).toEqual([
      'GET /api/v1/namespaces/catalog/pods app=search',
      'GET /api/v1/namespaces/shop/pods app=cart',
      'GET /api/v1/namespaces/shop/pods app=payments',
      'GET /apis/apps/v1/namespaces/catalog/deployments app=search',
      'GET /apis/apps/v1/namespaces/catalog/replicasets app=search',
      'GET /apis/apps/v1/namespaces/shop/deployments',
      'GET /apis/apps/v1/namespaces/shop/replicasets app=cart',
      'GET /apis/apps/v1/namespaces/shop/replicasets app=payments',
    ]);
    const rows = rowsOf(answer);
    expect(rows.ghost).toMatchObject({ state: 'error', version: '-' });
    expect(rows.payments).toMatchObject({
      state: 'failed (1 NotReady)',
      version: '1.4.2 3/3 · 1.5.0 0/1 new',
    });
    expect(replyToText(answer)).toContain(
      'ghost: Kubernetes: deployment ghost not found in namespace shop (check the name and namespace: kubectl get deployments -n shop --context double)',
    );
  });

  it('shows the other services when GitHub answers 403 rate-limited for one of them', async () => {
    fleet = await startFleet(['checkout', 'cart', 'payments']);
    // One repository per query, so the query for cart is the one GitHub refuses.
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config('', { githubBatchSize: 1 }) });
    fleet.github.state.fail({
      path: '/graphql',
      when: (request) => (request.body as { variables?: { n0?: string } }).variables?.n0 === 'cart',
      times: Number.POSITIVE_INFINITY,
      answer: 'secondaryRateLimited',
    });
    const answer = await bot.run('deploys');
    // A part could not be read, so the answer is not ok (exit 1), yet every row is there.
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe('millwright_rate_limited');
    const rows = rowsOf(answer);
    // cart still shows what the cluster runs; only its GitHub columns are missing.
    expect(rows.cart).toMatchObject({
      state: 'failing (2 CrashLoopBackOff; 17 restarts)',
      version: '1.4.2 1/3 new',
      ready: '1/3',
      'last deploy': 'unknown (GitHub rate-limited)',
      drift: 'unknown',
    });
    expect(rows.checkout).toMatchObject({
      'last deploy': 'v1.4.2 by ana, 1d2h ago (2024-12-31 10:00 UTC)',
      drift: 'no',
    });
    expect(rows.payments).toMatchObject({
      'last deploy': 'v1.5.0 by bo, in progress, 40m ago (2025-01-01 11:20 UTC)',
    });
    expect(replyToText(answer)).toContain(
      'cart: GitHub: GitHub secondary rate limit hit while trying to list production deployments in acme/cart; retry after 1m',
    );
  });

  it('stops calling GitHub once its primary rate limit is used up, and still shows every cluster', async () => {
    fleet = await startFleet(['checkout', 'cart', 'payments']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    fleet.github.state.setRateLimit({
      remaining: 0,
      resetAt: new Date(fleet.clock.now().getTime() + 20 * 60_000),
    });
    const answer = await bot.run('deploys');
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toMatch(/^3 services: GitHub: GitHub rate limit reached/);
    const rows = rowsOf(answer);
    expect(Object.values(rows).map((r) => [r.service, r.state, r['last deploy']])).toEqual([
      ['payments', 'failed (1 NotReady)', 'unknown (GitHub rate-limited)'],
      ['cart', 'failing (2 CrashLoopBackOff; 17 restarts)', 'unknown (GitHub rate-limited)'],
      ['checkout', 'healthy', 'unknown (GitHub rate-limited)'],
    ]);
    expect(replyToText(answer)).toContain('GitHub: GitHub rate limit reached; resets at 12:20 UTC (in 20m)');
    // Until the reset, the shared gate answers without calling GitHub at all.
    const seen = fleet.github.requests.length;
    const again = await bot.run('deploys');
    expect(rowsOf(again).checkout).toMatchObject({
      state: 'healthy',
      'last deploy': 'unknown (GitHub rate-limited)',
    });
    expect(fleet.github.requests.length).toBe(seen);
  });

  it.each([
    ['a 502 after its retries', 'error502' as const],
    [
      'an answer that says it timed out',
      {
        status: 200,
        body: {
          errors: [
            {
              message:
                'Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `0000:1111:2222:3333` when reporting this issue.',
            },
          ],
        },
      },
    ],
  ])('asks again in halves when GitHub cannot finish a query in time (%s)', async (_name, answer) => {
    fleet = await startFleet(['checkout', 'cart', 'payments']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    // GitHub gives up on any query for more than two repositories.
    const repositoriesIn = (request: { body: unknown }) =>
      Object.keys((request.body as { variables: object }).variables).filter((key) => key.startsWith('n'))
        .length;
    fleet.github.state.fail({
      path: '/graphql',
      when: (request) => repositoriesIn(request) > 2,
      times: Number.POSITIVE_INFINITY,
      answer,
    });
    const reply = await bot.run('deploys');
    expect(Object.values(rowsOf(reply)).map((r) => [r.service, r['last deploy']])).toEqual([
      ['payments', 'v1.5.0 by bo, in progress, 40m ago (2025-01-01 11:20 UTC)'],
      ['cart', expect.stringMatching(/^v1\.4\.2 by /)],
      ['checkout', 'v1.4.2 by ana, 1d2h ago (2024-12-31 10:00 UTC)'],
    ]);
    const asked = fleet.github.requests.map(repositoriesIn);
    expect(asked.filter((count) => count === 3).length).toBeGreaterThanOrEqual(1);
    expect(asked.filter((count) => count < 3)).toEqual([2, 1]);
  });

  it('keeps REST reads going when only the GraphQL budget is used up', async () => {
    fleet = await startFleet(['checkout', 'cart']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    fleet.github.state.setRateLimit({
      resource: 'graphql',
      remaining: 0,
      resetAt: new Date(fleet.clock.now().getTime() + 30 * 60_000),
    });
    const overview = await bot.run('deploys');
    expect(rowsOf(overview).checkout).toMatchObject({
      state: 'healthy',
      'last deploy': 'unknown (GitHub rate-limited)',
    });
    expect(replyToText(overview)).toContain(
      'GitHub: GitHub rate limit reached; resets at 12:30 UTC (in 30m)',
    );
    // The detail view reads REST (the core budget), which GitHub still answers.
    const detail = await bot.run('deploys checkout');
    expect(replyToText(detail)).toContain('v1.4.2');
    expect(replyToText(detail)).not.toContain('rate limit');
  });

  it('fails only the service whose repository GitHub cannot resolve, in a query shared with others', async () => {
    fleet = await startFleet(['checkout', 'cart']);
    bot = await startTestBot({
      clock: fleet.clock,
      config: fleet.config(`  ghost:
    kubernetes: { namespace: shop, deployments: [checkout] }
    github: { repo: acme/ghost, environments: [production] }
`),
    });
    const answer = await bot.run('deploys');
    expect(fleet.github.count('POST', '/graphql')).toBe(1);
    const rows = rowsOf(answer);
    expect(rows.ghost).toMatchObject({
      state: 'healthy',
      'last deploy': 'unknown (repo not found)',
      drift: 'unknown',
    });
    expect(rows.checkout).toMatchObject({ 'last deploy': 'v1.4.2 by ana, 1d2h ago (2024-12-31 10:00 UTC)' });
    expect(replyToText(answer)).toContain(
      'ghost: GitHub: repository acme/ghost not found, or the token cannot see it (check the owner/repo spelling, and that github.token has access to it)',
    );
  });

  it('turns a cluster that refuses one service, and a context that does not exist, into error rows', async () => {
    fleet = await startFleet(['checkout', 'cart']);
    bot = await startTestBot({
      clock: fleet.clock,
      config: fleet.config(`  billing:
    kubernetes: { context: staging, namespace: billing, deployments: [billing] }
`),
    });
    fleet.kubernetes.inject({
      path: '/apis/apps/v1/namespaces/shop/deployments/cart',
      method: 'GET',
      times: Number.POSITIVE_INFINITY,
      fault: 403,
    });
    const answer = await bot.run('deploys');
    // Exit non-zero: cart's Kubernetes side could not be read (the rest stands).
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toMatch(
      /^cart: Kubernetes: the Kubernetes API refused to get deployment shop\/cart \(403 Forbidden/,
    );
    const alone = await bot.run('deploys cart');
    expect(alone.ok).toBe(false);
    expect(alone.error?.code).toBe(answer.error?.code);
    const rows = rowsOf(answer);
    expect(order(answer)).toEqual(['billing', 'cart', 'checkout']);
    expect(rows.billing).toMatchObject({
      state: 'error',
      version: '-',
      ready: '-',
      'last deploy': '-',
      drift: 'unknown',
    });
    expect(rows.cart).toMatchObject({
      state: 'error',
      'last deploy': 'v1.4.2 by ana, 5h ago (2025-01-01 07:00 UTC)',
    });
    expect(rows.checkout).toMatchObject({ state: 'healthy', drift: 'no' });
    const text = replyToText(answer);
    expect(text).toContain('billing: Kubernetes: kubeconfig context "staging" has no cluster');
    expect(text).toContain(
      'cart: Kubernetes: the Kubernetes API refused to get deployment shop/cart (403 Forbidden, RBAC)',
    );
  });

  it('reads services in parallel, never more GitHub calls at once than the bound', async () => {
    fleet = await startFleet(['checkout']);
    let inFlight = 0;
    let most = 0;
    const github = createGitHubClient({
      baseUrl: fleet.github.url,
      token: GITHUB_TOKEN,
      logger: silentLogger(),
      clock: fleet.clock,
      // Twelve services, two per GraphQL query: six requests, never more than three at once.
      fetch: async (input, init) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await fetch(input, init);
        } finally {
          inFlight--;
        }
      },
    });
    const catalog = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `svc-${i}`,
        {
          owners: [],
          tags: [],
          slos: [],
          kubernetes: { namespace: 'shop', deployments: ['checkout'] },
          github: { repo: 'acme/checkout', environments: ['production'] },
        },
      ]),
    );
    const deploys = createDeployService(
      {
        services: catalog,
        kubernetes: { kubeconfig: fleet.kubernetes.kubeconfigPath, allowedNamespaces: [], timeout: '10s' },
      },
      {
        github,
        clock: fixedClock(NOW),
        logger: silentLogger(),
        concurrency: { github: 3 },
        githubBatchSize: 2,
      },
    );
    const rows = await deploys.overview();
    expect(rows).toHaveLength(12);
    expect(rows.every((row) => row.state === 'healthy' && row.drift.status === 'in-sync')).toBe(true);
    expect(most).toBe(3);
    expect(fleet.github.count('POST', '/graphql')).toBe(6);
  });

  it('says once that GitHub is not configured, and still shows what the cluster runs', async () => {
    fleet = await startFleet(['checkout', 'cart']);
    const withoutGitHub = fleet.config().replace(/\ngithub:\n {2}baseUrl: .*\n {2}token: .*\n/, '\n');
    bot = await startTestBot({ clock: fleet.clock, config: withoutGitHub });
    const answer = await bot.run('deploys');
    expect(Object.values(rowsOf(answer)).map((r) => [r.service, r.state, r['last deploy'], r.drift])).toEqual(
      [
        ['cart', 'failing (2 CrashLoopBackOff; 17 restarts)', 'GitHub not configured', 'unknown'],
        ['checkout', 'healthy', 'GitHub not configured', 'unknown'],
      ],
    );
    expect(replyToText(answer)).toContain(
      'cart, checkout: GitHub: GitHub is not configured (set github.token (and github.baseUrl for GitHub Enterprise) in millwright.yml)',
    );
    expect(fleet.github.requests).toHaveLength(0);
  });

  it('says how to fill an empty catalog', async () => {
    bot = await startTestBot({ config: `${TEST_ACCESS}services: {}\n` });
    const answer = await bot.run('deploys');
    expect(answer.error).toMatchObject({
      code: 'millwright_not_configured',
      message: 'the service catalog is empty',
    });
  });

  it('shows times in the time zone asked for, and refuses an unknown one', async () => {
    fleet = await startFleet(['checkout']);
    bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
    const berlin = await bot.run('deploys tz=Europe/Berlin');
    expect(rowsOf(berlin).checkout?.['last deploy']).toBe('v1.4.2 by ana, 1d2h ago (2024-12-31 11:00 CET)');
    const bad = await bot.run('deploys tz=Mars/Olympus');
    expect(bad.error).toMatchObject({
      code: 'millwright_bad_argument',
      message: 'unknown time zone "Mars/Olympus"',
    });
  });
});
