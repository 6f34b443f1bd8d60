// Two replicas' digest schedulers on one store, with real timers: the digest's lease is renewed for as
// long as a post takes, and a holder that stops renewing (killed) hands the slot over within its lease.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixedClock, silentLogger } from '../../src/core/index.js';
import type { ComposedDigest, DigestRunRecord } from '../../src/digests/index.js';
import { CronSchedule, DigestScheduler, digestsSchema } from '../../src/digests/index.js';
import { LowdbStore } from '../../src/store/index.js';
import { cutShortRun } from './harness.js';

const LEASE_MS = 300;
const [standup] = digestsSchema.parse([
  {
    name: 'standup',
    schedule: '0 9 * * *',
    timeZone: 'Europe/Berlin',
    target: 'C0STANDUP',
    sections: ['incidents'],
  },
]);
const digest = standup!;
const schedule = new CronSchedule(digest.schedule, digest.timeZone);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the digest lease across replicas', () => {
  let dir: string;
  let store: LowdbStore;
  // Five seconds after the 09:00 Berlin slot: due, for every replica.
  const clock = fixedClock('2026-11-26T08:00:05Z');

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-digest-lease-'));
    // The store's own clock is the real one: leases expire in real time.
    store = await LowdbStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A replica whose posts take `postMs` and are recorded in `posts` with its name. */
  function replica(name: string, postMs: number, posts: string[]) {
    return new DigestScheduler({
      digests: [{ digest, schedule }],
      runner: {
        compose: async () => ({ budgets: {} }) as unknown as ComposedDigest,
        deliver: async () => {
          await sleep(postMs);
          posts.push(name);
        },
        audit: async () => {},
      },
      store,
      clock,
      logger: silentLogger(),
      owner: name,
      leaseMs: LEASE_MS,
    });
  }

  it('renews the lease while a post takes many times its length, so the slot is posted once', async () => {
    const posts: string[] = [];
    const a = replica('replica-a', 8 * LEASE_MS, posts);
    const b = replica('replica-b', 8 * LEASE_MS, posts);
    await store.put<DigestRunRecord>('digest-runs', {
      id: 'standup',
      trackingSince: '2026-11-25T12:00:00.000Z',
      history: [],
    });
    const first = a.tick();
    // Replica b's heartbeats keep coming while a posts: every one finds the lease held.
    for (let i = 0; i < 12; i++) {
      await sleep(LEASE_MS / 2);
      await b.tick();
    }
    await first;
    expect(posts).toEqual(['replica-a']);
    const record = await store.get<DigestRunRecord>('digest-runs', 'standup');
    expect(record?.history.map((entry) => entry.result)).toEqual(['posted']);
  });

  it('hands a slot whose holder was killed mid-post to another replica once the lease runs out', async () => {
    const posts: string[] = [];
    // What a killed replica leaves: the slot marked as posting, and a lease nobody renews any more.
    expect(await store.tryLock('digest:standup', 'replica-killed', LEASE_MS)).toBe(true);
    await store.put('digest-runs', cutShortRun('replica-killed', 1, '2026-11-26T08:00:01.000Z'));
    const b = replica('replica-b', 10, posts);
    await b.tick();
    expect(posts).toEqual([]);
    await sleep(LEASE_MS + 50);
    await b.tick();
    expect(posts).toEqual(['replica-b']);
    const record = await store.get<DigestRunRecord>('digest-runs', 'standup');
    expect(record?.history.map((entry) => entry.detail ?? entry.result)).toEqual([
      'posted',
      'attempt 1 was cut short: replica replica-killed stopped while posting',
    ]);
  });
});
