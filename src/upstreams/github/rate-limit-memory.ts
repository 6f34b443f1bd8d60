// What GitHub said about a used-up rate limit, kept where every replica reads it: a replica that
// learned a limit is used up stops the others from calling GitHub until it resets, too.
import type { Store, StoredRecord } from '../../store/store.js';

/** A used-up primary rate limit: calls for `resource` wait until `resetAt`. */
export interface PrimaryLimit {
  resetAt: Date;
  resource: string;
  limit: string | undefined;
}

/** Where the client keeps used-up limits, per GitHub endpoint and resource. */
export interface RateLimitMemory {
  get(key: string): Promise<PrimaryLimit | undefined>;
  set(key: string, limit: PrimaryLimit): Promise<void>;
}

interface LimitRecord extends StoredRecord {
  resetAt: string;
  resource: string;
  limit?: string;
}

export const RATE_LIMITS = 'github_rate_limits';

/**
 * The memory in the store: shared by every replica on it (PostgreSQL), or the one process (embedded).
 *
 * @example
 * const github = createGitHubClient({ baseUrl, token, logger, rateLimits: storeRateLimitMemory(store) });
 */
export function storeRateLimitMemory(store: Store): RateLimitMemory {
  return {
    async get(key) {
      const record = await store.get<LimitRecord>(RATE_LIMITS, key);
      return record === undefined
        ? undefined
        : { resetAt: new Date(record.resetAt), resource: record.resource, limit: record.limit };
    },
    async set(key, limit) {
      await store.put<LimitRecord>(RATE_LIMITS, {
        id: key,
        resetAt: limit.resetAt.toISOString(),
        resource: limit.resource,
        ...(limit.limit === undefined ? {} : { limit: limit.limit }),
      });
    },
  };
}
