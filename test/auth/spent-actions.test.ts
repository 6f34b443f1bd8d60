// Spent tokens in the store: the first claim of a nonce wins, later ones learn who won and when, and
// entries are swept once their token has expired.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SPENT_ACTIONS, StoreSpentActions } from '../../src/auth/index.js';
import { LowdbStore } from '../../src/store/index.js';

describe('spent action tokens in the store', () => {
  let dir: string;
  let store: LowdbStore;
  let now: Date;
  let spent: StoreSpentActions;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-spent-'));
    store = await LowdbStore.open(dir);
    now = new Date('2026-12-04T10:00:00Z');
    spent = new StoreSpentActions(store, () => now);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const use = (by: string, at: Date) => ({ by, at, expiresAt: new Date(at.getTime() + 3600_000) });

  test('the first claim wins; the next learns who used it and when, even from another instance', async () => {
    expect(await spent.claim('n1', use('ana', now))).toEqual({ first: true });
    const other = new StoreSpentActions(store, () => now);
    expect(await other.claim('n1', use('ben', new Date(now.getTime() + 60_000)))).toEqual({
      first: false,
      by: 'ana',
      at: now,
      outcome: 'running',
    });
    expect(await store.get(SPENT_ACTIONS, 'n1')).toEqual({
      id: 'n1',
      by: 'ana',
      at: '2026-12-04T10:00:00.000Z',
      expiresAt: '2026-12-04T11:00:00.000Z',
      outcome: 'running',
    });
  });

  test('a settled run is what the next claim learns: it succeeded, or it failed and why', async () => {
    await spent.claim('n3', use('ana', now));
    await spent.settle('n3', { ok: false, failure: 'the Kubernetes API answered 503\nsecond line' });
    expect(await spent.claim('n3', use('ben', now))).toEqual({
      first: false,
      by: 'ana',
      at: now,
      outcome: 'failed',
      failure: 'the Kubernetes API answered 503',
    });
    await spent.claim('n4', use('ana', now));
    await spent.settle('n4', { ok: true });
    expect(await spent.claim('n4', use('ben', now))).toMatchObject({ first: false, outcome: 'succeeded' });
  });

  test('of many claims at once, exactly one is first', async () => {
    const claims = await Promise.all(
      ['ana', 'ben', 'cho', 'dee'].map((by) => spent.claim('n2', use(by, now))),
    );
    expect(claims.filter((claim) => claim.first)).toHaveLength(1);
  });

  test('a released nonce can be claimed again', async () => {
    await spent.claim('n3', use('ben', now));
    await spent.release('n3');
    expect(await spent.claim('n3', use('ana', now))).toEqual({ first: true });
  });

  test('entries past their token’s expiry are swept by a later claim', async () => {
    await spent.claim('old', use('ana', now));
    now = new Date(now.getTime() + 2 * 3600_000);
    await spent.claim('new', use('ben', now));
    expect((await store.list(SPENT_ACTIONS)).map((record) => record.id)).toEqual(['new']);
  });
});
