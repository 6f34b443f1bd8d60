// The embedded default Store: every collection in one lowdb JSON file, every change serialized
// and on disk before its promise resolves. Changes made while a write is under way go to disk
// together in the next one (group commit), so a burst costs a few file writes, not one per change.

import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import type { ZodType } from 'zod';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { AtomicJsonFile, emptyStoreData, type StoreData, serializeStore } from './atomic-json-file.js';
import { recordProblem } from './record-check.js';
import type { Store, StoredRecord } from './store.js';

export interface LowdbStoreOptions {
  clock?: Clock;
  /** Applied to every record before it is kept and written: the process's secrets come out. */
  scrub?: <T>(record: T) => T;
  /** Record schemas by collection, checked for every record at open; other collections get the basic checks. */
  schemas?: Readonly<Record<string, ZodType>>;
  /** Where the removal of temp files left by a crash is told. */
  logger?: Logger;
}

/** A temp file older than this is left over from a crash, never a write in progress (those take milliseconds). */
const ORPHAN_AGE_MS = 60_000;

/** A lease in the `locks` collection. */
export interface LockRecord extends StoredRecord {
  owner: string;
  acquiredAt: string;
  expiresAt: string;
}

const LOCKS = 'locks';

/** A lease record for `owner` from `now`; the retention sweep removes it once it has expired. */
export function leaseRecord(name: string, owner: string, now: Date, ttlMs: number): LockRecord {
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  return { id: name, owner, acquiredAt: now.toISOString(), expiresAt, retainUntil: expiresAt };
}

/** The records of an insertNew, each id once (the first wins), every id checked. */
export function newRecords<T extends StoredRecord>(collection: string, records: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const record of records) {
    if (typeof record.id !== 'string' || record.id === '') {
      throw new MillwrightError(
        ErrorCode.BadArgument,
        `a record in "${collection}" needs a non-empty string id`,
      );
    }
    if (!byId.has(record.id)) byId.set(record.id, record);
  }
  return [...byId.values()];
}

/**
 * {@link Store} on `<dir>/store.json`. Reads and changes go through one queue, so no two
 * read-modify-writes interleave and a read sees every change made before it. A change's promise
 * resolves once the file holding it is on disk; when that write fails, memory goes back to the last
 * file on disk and every change not in it fails with `millwright_store_unavailable`.
 *
 * @example
 * const store = await LowdbStore.open(config.store.path);
 * await store.update<Counter>('counters', 'deploys', (c) => ({ id: 'deploys', n: (c?.n ?? 0) + 1 }));
 * await store.close();
 */
export class LowdbStore implements Store {
  private readonly db: Low<StoreData>;
  private readonly clock: Clock;
  private readonly scrub: <T>(record: T) => T;
  private readonly file: AtomicJsonFile;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The store as the file on disk holds it: what memory goes back to when a write fails. */
  private durable: string;
  /** Changes made since the write under way began, waiting for the next one. */
  private waiting: Array<{ what: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  /** The write loop, while it runs. */
  private writing: Promise<void> | undefined;

  private constructor(db: Low<StoreData>, file: AtomicJsonFile, options: LowdbStoreOptions) {
    this.db = db;
    this.file = file;
    this.durable = serializeStore(db.data);
    this.clock = options.clock ?? systemClock;
    this.scrub = options.scrub ?? ((record) => record);
  }

  /**
   * Opens the store under `dir` (created if missing). A missing `store.json` starts empty; a
   * damaged one stops start-up with `millwright_store_corrupt` and is left untouched.
   *
   * @example
   * const store = await LowdbStore.open('./.millwright', { clock: fixedClock('2025-01-01T00:00:00Z') });
   */
  static async open(dir: string, options: LowdbStoreOptions = {}): Promise<LowdbStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const clock = options.clock ?? systemClock;
    const file = new AtomicJsonFile(join(dir, 'store.json'));
    await removeOrphanedTempFiles(dir, clock, options.logger);
    const db = new Low(file, emptyStoreData());
    await db.read();
    checkRecords(file.path, db.data, options.schemas ?? {});
    return new LowdbStore(db, file, options);
  }

  get<T extends StoredRecord>(collection: string, id: string): Promise<T | undefined> {
    return this.serialized(async () => copy(this.records(collection)[id]) as T | undefined);
  }

  list<T extends StoredRecord>(collection: string, filter?: (record: T) => boolean): Promise<T[]> {
    return this.serialized(async () => {
      const all = Object.values(this.records(collection)).map((record) => copy(record) as T);
      return filter === undefined ? all : all.filter(filter);
    });
  }

  put<T extends StoredRecord>(collection: string, record: T): Promise<void> {
    return this.change(async () => {
      if (typeof record.id !== 'string' || record.id === '') {
        throw new MillwrightError(
          ErrorCode.BadArgument,
          `a record in "${collection}" needs a non-empty string id`,
        );
      }
      return { value: undefined, durable: this.commit(collection, record.id, record) };
    });
  }

  update<T extends StoredRecord>(
    collection: string,
    id: string,
    change: (current: T | undefined) => T | undefined,
  ): Promise<T | undefined> {
    return this.change(async () => {
      const next = change(copy(this.records(collection)[id]) as T | undefined);
      if (next !== undefined && next.id !== id) {
        throw new MillwrightError(
          ErrorCode.BadArgument,
          `update of "${collection}/${id}" returned a record with id "${next.id}"`,
        );
      }
      return { value: copy(next), durable: this.commit(collection, id, next) };
    });
  }

  delete(collection: string, id: string): Promise<boolean> {
    return this.change(async () => {
      if (this.records(collection)[id] === undefined) return { value: false };
      return { value: true, durable: this.commit(collection, id, undefined) };
    });
  }

  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.change(async () => {
      const now = this.clock.now();
      const held = this.records(LOCKS)[name] as LockRecord | undefined;
      if (held !== undefined && held.owner !== owner && Date.parse(held.expiresAt) > now.getTime())
        return { value: false };
      return { value: true, durable: this.commit(LOCKS, name, leaseRecord(name, owner, now, ttlMs)) };
    });
  }

  insertNew<T extends StoredRecord>(collection: string, records: readonly T[]): Promise<Set<string>> {
    return this.change(async () => {
      const inserted = new Set<string>();
      const written: Promise<void>[] = [];
      for (const record of newRecords(collection, records)) {
        if (this.records(collection)[record.id] !== undefined) continue;
        inserted.add(record.id);
        written.push(this.commit(collection, record.id, record));
      }
      return { value: inserted, durable: Promise.all(written).then(() => undefined) };
    });
  }

  deleteExpired(now: Date, limit: number): Promise<number> {
    return this.change(async () => {
      const written: Promise<void>[] = [];
      for (const [collection, records] of Object.entries(this.db.data.collections)) {
        for (const [id, record] of Object.entries(records)) {
          if (written.length >= limit) break;
          const until = typeof record.retainUntil === 'string' ? Date.parse(record.retainUntil) : Number.NaN;
          if (until < now.getTime()) written.push(this.commit(collection, id, undefined));
        }
      }
      return { value: written.length, durable: Promise.all(written).then(() => undefined) };
    });
  }

  unlock(name: string, owner: string): Promise<void> {
    return this.change(async () => {
      const held = this.records(LOCKS)[name] as LockRecord | undefined;
      // Releasing a lease someone else took over after ours expired must not free theirs.
      return {
        value: undefined,
        ...(held?.owner === owner ? { durable: this.commit(LOCKS, name, undefined) } : {}),
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.writing;
  }

  /**
   * A change: runs in the queue until memory holds it, then waits outside the queue for the write
   * that carries it, so changes queued behind it share that write or the next.
   */
  private async change<T>(operation: () => Promise<{ value: T; durable?: Promise<void> }>): Promise<T> {
    const { value, durable } = await this.serialized(operation);
    await durable;
    return value;
  }

  /** Runs `operation` after everything queued before it, whether that succeeded or not. */
  private serialized<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new MillwrightError(ErrorCode.StoreUnavailable, 'the store is closed'));
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => {
      // The caller gets this failure through `result`; the queue itself must keep going.
    });
    return result;
  }

  private records(collection: string): Record<string, StoredRecord> {
    return this.db.data.collections[collection] ?? {};
  }

  /** Sets or removes one record in memory; resolves once a file holding the change is on disk. */
  private commit(collection: string, id: string, next: StoredRecord | undefined): Promise<void> {
    this.db.data.collections[collection] ??= {};
    const records = this.db.data.collections[collection];
    if (next === undefined) delete records[id];
    else records[id] = copy(this.scrub(next));
    const written = new Promise<void>((resolve, reject) => {
      this.waiting.push({ what: `${collection}/${id}`, resolve, reject });
    });
    this.writing ??= this.writeLoop();
    return written;
  }

  /** Writes the file while changes wait for it; each write carries every change made before it began. */
  private async writeLoop(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      // Taken at once: changes made from here on wait for the next write.
      const text = serializeStore(this.db.data);
      try {
        await this.file.writeText(text);
        this.durable = text;
        for (const change of batch) change.resolve();
      } catch (cause) {
        // Memory goes back to the file on disk, at once, and every change it does not hold fails:
        // this write's and those made while it ran.
        this.db.data = JSON.parse(this.durable) as StoreData;
        const lost = [...batch, ...this.waiting.splice(0)];
        for (const change of lost) {
          change.reject(
            new MillwrightError(
              ErrorCode.StoreUnavailable,
              `could not save ${change.what}: ${(cause as Error).message}`,
              {
                hint: 'check free space and permissions under store.path',
                cause,
              },
            ),
          );
        }
      }
    }
    this.writing = undefined;
  }
}

/** A detached copy in exactly the form the file holds, so memory and disk never disagree. */
function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Every record is an object whose `id` is its key, and passes its collection's schema: a damaged
 * record stops start-up here, naming the file, collection and id, instead of failing later as an
 * internal error in whatever reads it. Messages never echo values (records may hold secrets).
 */
function checkRecords(path: string, data: StoreData, schemas: Readonly<Record<string, ZodType>>): void {
  for (const [collection, records] of Object.entries(data.collections)) {
    for (const [id, record] of Object.entries(records)) {
      const problem = recordProblem(record, id, schemas[collection]);
      if (problem !== undefined) throw damaged(path, `collection "${collection}", id "${id}"`, problem);
    }
  }
}

function damaged(path: string, where: string, problem: string): MillwrightError {
  return new MillwrightError(
    ErrorCode.StoreCorrupt,
    `the store file ${path} has a damaged record (${where}): ${problem}`,
    {
      hint: `Millwright did not start and left the file as it is: fix or remove that record in ${path} (stop Millwright first), or restore the file from a backup`,
    },
  );
}

/** `.store.json.<random>.tmp` files a crash left between write and rename. */
async function removeOrphanedTempFiles(dir: string, clock: Clock, logger: Logger | undefined): Promise<void> {
  const now = clock.now().getTime();
  for (const name of await readdir(dir)) {
    if (!/^\.store\.json\.[0-9a-f]+\.tmp$/.test(name)) continue;
    const path = join(dir, name);
    try {
      if (now - (await stat(path)).mtimeMs < ORPHAN_AGE_MS) continue;
      await unlink(path);
      logger?.info({ file: path }, 'removed a store temp file left by a crash');
    } catch (error) {
      // Another process may have renamed or removed it meanwhile; either way it is gone.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
