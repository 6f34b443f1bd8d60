// Spent button and form tokens in the store (collection `spent_actions`), keyed by nonce, kept until
// the token expires, so a decision runs once across restarts and replicas sharing the store.
import type { SpendClaim, SpentActions, SpentOutcome, SpentUse } from '../core/spent-actions.js';
import type { Store, StoredRecord } from '../store/store.js';

export const SPENT_ACTIONS = 'spent_actions';
/** Expired entries are swept at most this often, by whichever claim comes along. */
const SWEEP_EVERY_MS = 3600_000;

interface SpentRecord extends StoredRecord {
  by: string;
  at: string;
  expiresAt: string;
  /** Absent on records written before outcomes were kept: read as done. */
  outcome?: SpentOutcome;
  failure?: string;
}

/**
 * The store-backed SpentActions: `store.update` makes a claim atomic.
 *
 * @example
 * const spent = new StoreSpentActions(store, () => clock.now());
 * const claim = await spent.claim(payload.nonce, { by: 'ana', at: now, expiresAt: new Date(payload.exp * 1000) });
 */
export class StoreSpentActions implements SpentActions {
  #sweptAt = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
  ) {}

  async claim(nonce: string, use: SpentUse & { expiresAt: Date }): Promise<SpendClaim> {
    let holder: SpentRecord | undefined;
    const now = this.now().getTime();
    await this.store.update<SpentRecord>(SPENT_ACTIONS, nonce, (current) => {
      // An entry past its token's expiry is garbage: the token is refused as expired before it gets here.
      if (current && new Date(current.expiresAt).getTime() >= now) {
        holder = current;
        return current;
      }
      return {
        id: nonce,
        by: use.by,
        at: use.at.toISOString(),
        expiresAt: use.expiresAt.toISOString(),
        outcome: 'running',
      };
    });
    await this.#sweep(now);
    if (!holder) return { first: true };
    return {
      first: false,
      by: holder.by,
      at: new Date(holder.at),
      ...(holder.outcome ? { outcome: holder.outcome } : {}),
      ...(holder.failure ? { failure: holder.failure } : {}),
    };
  }

  async settle(nonce: string, result: { ok: boolean; failure?: string }): Promise<void> {
    await this.store.update<SpentRecord>(SPENT_ACTIONS, nonce, (current) =>
      current
        ? {
            ...current,
            outcome: result.ok ? 'succeeded' : 'failed',
            ...(result.failure ? { failure: result.failure.split('\n')[0]!.slice(0, 200) } : {}),
          }
        : current,
    );
  }

  async release(nonce: string): Promise<void> {
    await this.store.delete(SPENT_ACTIONS, nonce);
  }

  async #sweep(now: number): Promise<void> {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    const expired = await this.store.list<SpentRecord>(
      SPENT_ACTIONS,
      (record) => new Date(record.expiresAt).getTime() < now,
    );
    for (const record of expired) await this.store.delete(SPENT_ACTIONS, record.id);
  }
}
