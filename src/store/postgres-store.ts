// The Store for several replicas: every collection in one PostgreSQL table, each read-modify-write
// one transaction holding the record's row (SELECT ... FOR UPDATE), leases in the `locks` collection.
import type { PoolClient } from 'pg';
import type { ZodType } from 'zod';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { type LockRecord, leaseRecord, newRecords } from './lowdb-store.js';
import type { PostgresDatabase } from './postgres-database.js';
import { recordProblem } from './record-check.js';
import type { Store, StoredRecord } from './store.js';

export interface PostgresStoreOptions {
  clock?: Clock;
  /** Applied to every record before it is written: the process's secrets come out. */
  scrub?: <T>(record: T) => T;
  /** Record schemas by collection: a record that fails its schema is refused when read, naming it. */
  schemas?: Readonly<Record<string, ZodType>>;
}

const LOCKS = 'locks';
/** Two transactions inserting the same new record: the loser starts over, at most this many times. */
const INSERT_RACE_TRIES = 5;
const UNIQUE_VIOLATION = '23505';

/**
 * {@link Store} on the `millwright_records` table. Unlike the embedded store it is shared: `update`
 * and `tryLock` are atomic across every process on the database, not only within one.
 *
 * @example
 * const store = new PostgresStore(db, { schemas });
 * await store.update<Counter>('counters', 'deploys', (c) => ({ id: 'deploys', n: (c?.n ?? 0) + 1 }));
 */
export class PostgresStore implements Store {
  readonly #db: PostgresDatabase;
  readonly #clock: Clock;
  readonly #scrub: <T>(record: T) => T;
  readonly #schemas: Readonly<Record<string, ZodType>>;
  #closed = false;

  constructor(db: PostgresDatabase, options: PostgresStoreOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
    this.#scrub = options.scrub ?? ((record) => record);
    this.#schemas = options.schemas ?? {};
  }

  async get<T extends StoredRecord>(collection: string, id: string): Promise<T | undefined> {
    const rows = await this.#query<{ data: StoredRecord }>(
      'SELECT data FROM millwright_records WHERE collection = $1 AND id = $2',
      [collection, id],
    );
    return rows[0] === undefined ? undefined : (this.#checked(collection, id, rows[0].data) as T);
  }

  async list<T extends StoredRecord>(collection: string, filter?: (record: T) => boolean): Promise<T[]> {
    const rows = await this.#query<{ id: string; data: StoredRecord }>(
      'SELECT id, data FROM millwright_records WHERE collection = $1 ORDER BY position',
      [collection],
    );
    const all = rows.map((row) => this.#checked(collection, row.id, row.data) as T);
    return filter === undefined ? all : all.filter(filter);
  }

  async put<T extends StoredRecord>(collection: string, record: T): Promise<void> {
    if (typeof record.id !== 'string' || record.id === '') {
      throw new MillwrightError(
        ErrorCode.BadArgument,
        `a record in "${collection}" needs a non-empty string id`,
      );
    }
    await this.#query(
      `INSERT INTO millwright_records (collection, id, data) VALUES ($1, $2, $3)
       ON CONFLICT (collection, id) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`,
      [collection, record.id, this.#json(record)],
    );
  }

  /**
   * One transaction holding the record's row. When two processes create the same record at once, the
   * one that loses the insert runs `change` again on the winner's record, so `change` must be a pure
   * function of the record it is given.
   */
  update<T extends StoredRecord>(
    collection: string,
    id: string,
    change: (current: T | undefined) => T | undefined,
  ): Promise<T | undefined> {
    return this.#readModifyWrite<T, T | undefined>(collection, id, (current) => {
      const next = change(current);
      if (next !== undefined && next.id !== id) {
        throw new MillwrightError(
          ErrorCode.BadArgument,
          `update of "${collection}/${id}" returned a record with id "${next.id}"`,
        );
      }
      return { write: next === undefined ? 'delete' : next, result: next };
    });
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const rows = await this.#query(
      'DELETE FROM millwright_records WHERE collection = $1 AND id = $2 RETURNING id',
      [collection, id],
    );
    return rows.length > 0;
  }

  async insertNew<T extends StoredRecord>(collection: string, records: readonly T[]): Promise<Set<string>> {
    const fresh = newRecords(collection, records);
    if (fresh.length === 0) return new Set();
    // One statement for the whole batch: the primary key decides who was first, on any replica.
    const rows = await this.#query<{ id: string }>(
      `INSERT INTO millwright_records (collection, id, data)
       SELECT $1, fresh.id, fresh.data::json FROM unnest($2::text[], $3::text[]) AS fresh(id, data)
       ON CONFLICT (collection, id) DO NOTHING RETURNING id`,
      [collection, fresh.map((record) => record.id), fresh.map((record) => this.#json(record))],
    );
    return new Set(rows.map((row) => row.id));
  }

  async deleteExpired(now: Date, limit: number): Promise<number> {
    const rows = await this.#query(
      `DELETE FROM millwright_records WHERE (collection, id) IN (
         SELECT collection, id FROM millwright_records WHERE retain_until < $1 LIMIT $2
       ) AND retain_until < $1 RETURNING id`,
      [now.toISOString(), limit],
    );
    return rows.length;
  }

  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#readModifyWrite<LockRecord, boolean>(LOCKS, name, (held) => {
      const now = this.#clock.now();
      if (held !== undefined && held.owner !== owner && Date.parse(held.expiresAt) > now.getTime()) {
        return { write: 'keep', result: false };
      }
      return { write: leaseRecord(name, owner, now, ttlMs), result: true };
    });
  }

  async unlock(name: string, owner: string): Promise<void> {
    // Releasing a lease someone else took over after ours expired must not free theirs.
    await this.#query(
      `DELETE FROM millwright_records WHERE collection = $1 AND id = $2 AND data->>'owner' = $3`,
      [LOCKS, name, owner],
    );
  }

  async close(): Promise<void> {
    // The pool belongs to the postgres module, which ends it after the store and the trail closed.
    this.#closed = true;
  }

  /**
   * Reads the record under a row lock, decides, writes, commits; a lost race to insert a new record
   * starts over on the record that won.
   */
  async #readModifyWrite<T extends StoredRecord, R>(
    collection: string,
    id: string,
    decide: (current: T | undefined) => { write: T | 'delete' | 'keep'; result: R },
  ): Promise<R> {
    this.#open();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction(async (client) => {
          const { rows } = await client.query<{ data: StoredRecord }>(
            'SELECT data FROM millwright_records WHERE collection = $1 AND id = $2 FOR UPDATE',
            [collection, id],
          );
          const current =
            rows[0] === undefined ? undefined : (this.#checked(collection, id, rows[0].data) as T);
          const { write, result } = decide(current);
          if (write === 'delete') {
            if (current !== undefined) await deleteRow(client, collection, id);
          } else if (write !== 'keep') {
            await writeRow(client, collection, id, this.#json(write), current !== undefined);
          }
          return result;
        });
      } catch (error) {
        const lostInsert = (error as { code?: unknown }).code === UNIQUE_VIOLATION;
        if (lostInsert && attempt < INSERT_RACE_TRIES) continue;
        throw this.#failure(error, `${collection}/${id}`);
      }
    }
  }

  async #query<R extends object>(sql: string, values: unknown[]): Promise<R[]> {
    this.#open();
    try {
      return (await this.#db.pool.query<R>(sql, values)).rows;
    } catch (error) {
      throw this.#failure(error, String(values[0]));
    }
  }

  /** The record as the JSON text kept: scrubbed, and in exactly the form a read gives back. */
  #json(record: StoredRecord): string {
    return JSON.stringify(this.#scrub(record));
  }

  /** A record read back must be an object with its own id and pass its collection's schema. */
  #checked(collection: string, id: string, record: unknown): StoredRecord {
    const problem = recordProblem(record, id, this.#schemas[collection]);
    if (problem !== undefined)
      throw damaged(this.#db.name, `collection "${collection}", id "${id}"`, problem);
    return record as StoredRecord;
  }

  #open(): void {
    if (this.#closed) throw new MillwrightError(ErrorCode.StoreUnavailable, 'the store is closed');
  }

  #failure(error: unknown, what: string): MillwrightError {
    if (error instanceof MillwrightError) return error;
    const failure = this.#db.unavailable(error);
    return new MillwrightError(failure.code, `could not reach ${what}: ${failure.message}`, {
      ...(failure.hint ? { hint: failure.hint } : {}),
      cause: error,
    });
  }
}

async function writeRow(client: PoolClient, collection: string, id: string, json: string, exists: boolean) {
  await client.query(
    exists
      ? 'UPDATE millwright_records SET data = $3, updated_at = now() WHERE collection = $1 AND id = $2'
      : 'INSERT INTO millwright_records (collection, id, data) VALUES ($1, $2, $3)',
    [collection, id, json],
  );
}

async function deleteRow(client: PoolClient, collection: string, id: string) {
  await client.query('DELETE FROM millwright_records WHERE collection = $1 AND id = $2', [collection, id]);
}

function damaged(database: string, where: string, problem: string): MillwrightError {
  return new MillwrightError(
    ErrorCode.StoreCorrupt,
    `the store in PostgreSQL at ${database} has a damaged record (${where}): ${problem}`,
    {
      hint: 'fix or delete that row in millwright_records (or restore the database from a backup); Millwright writes only records that pass',
    },
  );
}
