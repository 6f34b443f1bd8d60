// The PostgreSQL store against a real PostgreSQL: the same Store contract as the embedded store, and
// what only a shared store must hold: updates and leases stay atomic across separate connection pools.

import { z } from 'zod';
import { fixedClock } from '../../src/core/clock.js';
import { migrate } from '../../src/store/migrations.js';
import { PostgresDatabase } from '../../src/store/postgres-database.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import type { StoredRecord } from '../../src/store/store.js';
import {
  describeWithPostgres,
  postgresStoreConfig,
  type RunningPostgres,
  startPostgres,
} from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

interface Counter extends StoredRecord {
  n: number;
}

describeWithPostgres('PostgresStore', () => {
  let postgres: RunningPostgres;
  let db: PostgresDatabase;
  let url: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.createDatabase();
    db = await PostgresDatabase.open(postgresStoreConfig(url));
    await migrate(db);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await postgres?.close();
  });

  beforeEach(async () => {
    await db.pool.query('TRUNCATE millwright_records');
  });

  describe('the Store contract', () => {
    storeContract(async (options) => new PostgresStore(db, options));
  });

  it('never loses an increment when two pools (two replicas) update one record at once', async () => {
    const other = await PostgresDatabase.open(postgresStoreConfig(url));
    try {
      const stores = [new PostgresStore(db), new PostgresStore(other)];
      await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          stores[i % 2]!.update<Counter>('counters', 'deploys', (counter) => ({
            id: 'deploys',
            n: (counter?.n ?? 0) + 1,
          })),
        ),
      );
      expect(await stores[1]!.get<Counter>('counters', 'deploys')).toEqual({ id: 'deploys', n: 120 });
    } finally {
      await other.close();
    }
  });

  it('gives a lease to exactly one of many owners racing on two pools', async () => {
    const other = await PostgresDatabase.open(postgresStoreConfig(url));
    try {
      const clock = fixedClock('2025-03-01T10:00:00Z');
      const stores = [new PostgresStore(db, { clock }), new PostgresStore(other, { clock })];
      const taken = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2]!.tryLock('change:checkout', `CR-${i}`, 60_000)),
      );
      expect(taken.filter(Boolean)).toHaveLength(1);
      const winner = `CR-${taken.indexOf(true)}`;
      expect(await stores[0]!.get('locks', 'change:checkout')).toMatchObject({ owner: winner });
      // The holder's own renewal works on the other pool too; nobody else's does.
      expect(await stores[1]!.tryLock('change:checkout', winner, 60_000)).toBe(true);
      expect(await stores[1]!.tryLock('change:checkout', 'CR-other', 60_000)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('refuses a record that fails its collection schema, naming the collection and id, never the value', async () => {
    const store = new PostgresStore(db, {
      schemas: { changes: z.looseObject({ id: z.string(), state: z.string() }) },
    });
    await db.pool.query(
      `INSERT INTO millwright_records (collection, id, data) VALUES ('changes', 'CR-9', '{"id":"CR-9","state":42,"note":"secret-value-123"}')`,
    );
    const failure = store.get('changes', 'CR-9');
    await expect(failure).rejects.toMatchObject({
      code: 'millwright_store_corrupt',
      message: expect.stringContaining('collection "changes", id "CR-9"'),
    });
    await expect(store.list('changes')).rejects.not.toThrow(/secret-value-123/);
  });

  it('keeps text PostgreSQL jsonb would refuse (a NUL character) exactly as written', async () => {
    const store = new PostgresStore(db);
    await store.put('notes', { id: 'n1', text: 'before\u0000after', nested: { b: 1, a: [true, null] } });
    expect(await store.get('notes', 'n1')).toEqual({
      id: 'n1',
      text: 'before\u0000after',
      nested: { b: 1, a: [true, null] },
    });
  });
});
