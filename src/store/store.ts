// The storage contract later features keep their records behind (changes, incidents, locks,
// conversation references, schedules). lowdb is the embedded default.

/** A stored record: any JSON object with a string `id`. */
export interface StoredRecord {
  id: string;
  /** When set (ISO 8601), the store's retention sweep deletes the record after this time. */
  retainUntil?: string;
  [field: string]: unknown;
}

/**
 * Records grouped in named collections. Every method that writes resolves only after the
 * change is durable on disk.
 *
 * @example
 * await store.put('changes', { id: 'CR-12', state: 'requested' });
 * const cr = await store.get<ChangeRequest>('changes', 'CR-12');
 */
export interface Store {
  get<T extends StoredRecord>(collection: string, id: string): Promise<T | undefined>;
  list<T extends StoredRecord>(collection: string, filter?: (record: T) => boolean): Promise<T[]>;
  /** Inserts or replaces the record with the same id. */
  put<T extends StoredRecord>(collection: string, record: T): Promise<void>;
  /**
   * Atomic read-modify-write of one record: `change` sees the current record (or undefined)
   * and returns the new one, or undefined to delete it. Calls on one store never interleave.
   */
  update<T extends StoredRecord>(
    collection: string,
    id: string,
    change: (current: T | undefined) => T | undefined,
  ): Promise<T | undefined>;
  delete(collection: string, id: string): Promise<boolean>;
  /**
   * Inserts, in one write, each record whose id `collection` does not hold yet, and resolves with
   * the ids it inserted; a record already there is kept (another caller, on any replica, had it first).
   */
  insertNew<T extends StoredRecord>(collection: string, records: readonly T[]): Promise<Set<string>>;
  /**
   * Deletes at most `limit` records, in any collection, whose `retainUntil` (ISO 8601) is before
   * `now`; resolves with how many it deleted. Records without `retainUntil` are kept for ever.
   */
  deleteExpired(now: Date, limit: number): Promise<number>;
  /**
   * Takes a named lease if it is free or expired (or already held by `owner`), for `ttlMs`.
   * Returns true when `owner` holds it afterwards.
   */
  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  unlock(name: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
