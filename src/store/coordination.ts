// Work that must happen once across replicas, through the Store contract so the embedded store keeps
// working in one process: a lease held while work runs (renewed, and expiring when its holder dies)
// and a claim that only the first caller on any replica wins.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../core/clock.js';
import type { Store, StoredRecord } from './store.js';

/** This process among the replicas: host, pid and a random tail (a restarted pid is a new replica). */
export const REPLICA_ID = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

export interface LeaseOptions {
  /** How long the lease outlives its last renewal when its holder stops renewing (dies). */
  ttlMs: number;
  /** How often the holder renews; a third of the ttl by default. */
  renewEveryMs?: number;
  /** The holder's name; one per work item, so two runs in one process never share a lease. */
  owner?: string;
}

/** A lease while it is held: `lost` turns true when a renewal found another holder. */
export interface HeldLease {
  readonly name: string;
  readonly owner: string;
  readonly lost: boolean;
}

/**
 * Runs `work` while holding the store lease `name`, renewing it every `renewEveryMs`; frees it after.
 * Returns `{ held: false }` at once when another live holder has it. A holder killed mid-way stops
 * renewing, so another replica can take the lease `ttlMs` later at most: that is the hand-over bound.
 *
 * @example
 * const run = await withLease(store, 'change-run:CR-7', { ttlMs: 15_000 }, () => runTheChange());
 * if (!run.held) return; // another replica is on it
 */
export async function withLease<T>(
  store: Store,
  name: string,
  options: LeaseOptions,
  work: (lease: HeldLease) => Promise<T>,
): Promise<{ held: true; value: T } | { held: false }> {
  const owner = options.owner ?? `${REPLICA_ID}:${randomBytes(4).toString('hex')}`;
  if (!(await store.tryLock(name, owner, options.ttlMs))) return { held: false };
  const lease = { name, owner, lost: false };
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = renewing
        .then(async () => {
          if (!lease.lost && !(await store.tryLock(name, owner, options.ttlMs))) lease.lost = true;
        })
        .catch(() => {
          // The store is unreachable for a moment: the lease still runs until its expiry, and the
          // next renewal tries again.
        });
    },
    options.renewEveryMs ?? Math.max(50, Math.floor(options.ttlMs / 3)),
  );
  timer.unref();
  try {
    return { held: true, value: await work(lease) };
  } finally {
    clearInterval(timer);
    await renewing;
    await store.unlock(name, owner).catch(() => {
      // It expires by itself; the work's own outcome is what the caller needs.
    });
  }
}

/** Who won a claim, and when. */
export interface ClaimRecord extends StoredRecord {
  by: string;
  at: string;
  /** A nonce: tells the winner's call from another call by the same replica. */
  token: string;
}

export const CLAIMS = 'claims';

/**
 * Records `key` as taken, once: `first` is true for exactly one caller across every replica on the
 * store; the others get the winner's record. Record the claim before acting on it. The claim is kept
 * `retainMs` (then the retention sweep deletes it, and the key could be claimed again).
 *
 * @example
 * const { first } = await claimOnce(store, `remediation:${fingerprint}@${startsAt}`, REPLICA_ID, clock, { retainMs: DAY_MS });
 * if (!first) return 'duplicate';
 */
export async function claimOnce<T extends Record<string, unknown> = Record<string, never>>(
  store: Store,
  key: string,
  by: string,
  clock: Clock,
  options: { retainMs: number; details?: T },
): Promise<{ first: boolean; claim: ClaimRecord & Partial<T> }> {
  const now = clock.now();
  const mine = {
    ...options.details,
    id: key,
    by,
    at: now.toISOString(),
    token: randomBytes(8).toString('hex'),
    retainUntil: new Date(now.getTime() + options.retainMs).toISOString(),
  } as ClaimRecord & Partial<T>;
  // One insert: the store's key decides who was first, on whichever replica.
  if ((await store.insertNew(CLAIMS, [mine])).has(key)) return { first: true, claim: mine };
  const winner = await store.get<ClaimRecord & Partial<T>>(CLAIMS, key);
  // Swept between the insert and the read (its retention just ended): nobody holds it any more.
  if (winner === undefined) return claimOnce(store, key, by, clock, options);
  return { first: false, claim: winner };
}
