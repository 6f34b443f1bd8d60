// The store's public face: the Store contract and its embedded lowdb implementation.

export { AtomicJsonFile, type StoreData } from './atomic-json-file.js';
export { type LockRecord, LowdbStore, type LowdbStoreOptions } from './lowdb-store.js';
export type { Store, StoredRecord } from './store.js';
