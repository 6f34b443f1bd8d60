// Work that must happen once across replicas, against a real PostgreSQL with one pool per replica: a
// lease is held by one replica at a time and handed over when its holder stops renewing, a claim is won
// once, and a GitHub rate limit one replica learned stops the others from calling GitHub.
import { createLogger } from '../../src/core/logger.js';
import { claimOnce, withLease } from '../../src/store/coordination.js';
import type { PostgresStore } from '../../src/store/postgres-store.js';
import { RetentionSweep } from '../../src/store/retention-sweep.js';
import { createGitHubClient } from '../../src/upstreams/github/client.js';
import { storeRateLimitMemory } from '../../src/upstreams/github/rate-limit-memory.js';
import { startGitHubApi } from '../doubles/github-api.js';
import { describeWithPostgres, type ReplicaStores, replicaStores } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithPostgres('coordination across replicas on one PostgreSQL database', () => {
  let replicas: ReplicaStores;
  let stores: PostgresStore[];

  beforeAll(async () => {
    replicas = await replicaStores(3);
    stores = replicas.stores;
  }, 60_000);

  afterAll(() => replicas?.close());

  it('lets one replica at a time hold a lease, renewed for as long as its work runs', async () => {
    let inside = 0;
    let most = 0;
    let ran = 0;
    const work = async () => {
      inside += 1;
      most = Math.max(most, inside);
      // Longer than the ttl: only the renewals keep the others out.
      await sleep(700);
      inside -= 1;
      ran += 1;
    };
    const tries = await Promise.all(
      stores.map((store) => withLease(store, 'job:renewed', { ttlMs: 300, renewEveryMs: 100 }, work)),
    );
    expect(tries.filter((run) => run.held)).toHaveLength(1);
    expect(most).toBe(1);
    expect(ran).toBe(1);
    // Freed when the work ended: the next replica takes it at once.
    expect((await withLease(stores[2]!, 'job:renewed', { ttlMs: 300 }, async () => 'mine')).held).toBe(true);
  });

  it('hands a lease whose holder stopped renewing (killed) to another replica after its ttl', async () => {
    // A holder that died right after taking the lease: it never renews nor frees it.
    expect(await stores[0]!.tryLock('job:orphaned', 'replica-a:dead', 400)).toBe(true);
    expect((await withLease(stores[1]!, 'job:orphaned', { ttlMs: 400 }, async () => 'early')).held).toBe(
      false,
    );
    const deadline = Date.now() + 10_000;
    let taken: Awaited<ReturnType<typeof withLease<string>>> = { held: false };
    while (!taken.held && Date.now() < deadline) {
      await sleep(50);
      taken = await withLease(stores[1]!, 'job:orphaned', { ttlMs: 400 }, async () => 'taken over');
    }
    expect(taken).toEqual({ held: true, value: 'taken over' });
  });

  it('gives a claim to exactly one of many callers racing on three replicas', async () => {
    const clock = { now: () => new Date() };
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        claimOnce(stores[i % 3]!, 'remediation:fp-1@2026-12-04T10:00:00Z', `replica-${i % 3}`, clock, {
          retainMs: 60_000,
        }),
      ),
    );
    const winners = claims.filter((claim) => claim.first);
    expect(winners).toHaveLength(1);
    // Everyone agrees on who won.
    expect(new Set(claims.map((claim) => claim.claim.by))).toEqual(new Set([winners[0]!.claim.by]));
  });

  it('sweeps records past their retention on one replica at a time, and keeps the rest', async () => {
    const now = new Date('2026-12-04T12:00:00Z');
    const clock = { now: () => now };
    const old = new Date(now.getTime() - 1_000).toISOString();
    const kept = new Date(now.getTime() + 60_000).toISOString();
    // More than one delete batch (1,000) of expired keys, as a busy Slack hour leaves behind.
    await stores[0]!.insertNew(
      'slack_replay',
      Array.from({ length: 2_500 }, (_, i) => ({ id: `sig-${i}`, retainUntil: i < 2_400 ? old : kept })),
    );
    await claimOnce(
      stores[1]!,
      'remediation:fp-9@2026-12-04T09:00:00Z',
      'replica-1',
      { now: () => new Date(now.getTime() - 10 * 86_400_000) },
      { retainMs: 86_400_000 },
    );
    const logger = createLogger({ level: 'silent' });
    const sweeps = stores.map((store) => new RetentionSweep({ store, clock, logger }));
    const swept = await Promise.all(sweeps.map((sweep) => sweep.sweepOnce()));
    // One replica held the lease and deleted everything expired; the others skipped this round.
    expect(swept.filter((count) => count !== undefined)).toEqual([2_401]);
    expect(await stores[2]!.list('slack_replay')).toHaveLength(100);
    expect(await stores[2]!.get('claims', 'remediation:fp-9@2026-12-04T09:00:00Z')).toBeUndefined();
    // The lease itself was freed: the next round runs, with nothing left to delete.
    expect(await sweeps[2]!.sweepOnce()).toBe(0);
  });

  it('stops every replica from calling GitHub once one of them learned the rate limit is used up', async () => {
    const now = new Date('2026-12-04T10:00:00Z');
    const clock = { now: () => now };
    const github = await startGitHubApi({ token: 'ghp_replicas', now: () => now });
    try {
      github.state.setRateLimit({ remaining: 0, resetAt: new Date(now.getTime() + 20 * 60_000) });
      const logger = createLogger({ level: 'silent' });
      const clients = stores.map((store) =>
        createGitHubClient({
          baseUrl: github.url,
          token: 'ghp_replicas',
          logger,
          clock,
          rateLimits: storeRateLimitMemory(store),
        }),
      );
      const list = (i: number) =>
        clients[i]!.run(
          { verb: 'list deployments', owner: 'acme', repo: 'shop', write: false, permission: 'deployments' },
          () => clients[i]!.octokit.rest.repos.listDeployments({ owner: 'acme', repo: 'shop' }),
        );
      await expect(list(0)).rejects.toMatchObject({ code: 'millwright_rate_limited' });
      expect(github.requests).toHaveLength(1);
      // The other replicas never asked GitHub: they read the limit replica 0 stored.
      await expect(list(1)).rejects.toMatchObject({ code: 'millwright_rate_limited' });
      await expect(list(2)).rejects.toMatchObject({
        code: 'millwright_rate_limited',
        message: expect.stringContaining('(in 20m)'),
      });
      expect(github.requests).toHaveLength(1);
    } finally {
      await github.close();
    }
  });
});
