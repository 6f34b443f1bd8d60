// People's display names from users.info, cached per user, so every kind of request (a slash command,
// a mention, a direct message, a click) names the person the same way. Without an answer, no name.
import type { webApi } from '@slack/bolt';
import type { Clock, Logger } from '../../src/core/index.js';
import { slackFailure } from './slack-errors.js';

export interface SlackUserNamesOptions {
  web: webApi.WebClient;
  ttlMs: number;
  clock: Clock;
  logger: Logger;
}

/** After a failed lookup, wait this long (or the TTL, if shorter) before asking Slack about that person again. */
const RETRY_AFTER_FAILURE_MS = 30_000;
/** Enough for a large workspace's active people; the oldest entry goes first beyond it. */
const MAX_ENTRIES = 10_000;

/**
 * The name Slack shows for a user: their display name, else their full name, else their handle.
 *
 * @example
 * const names = new SlackUserNames({ web, ttlMs: 300_000, clock, logger });
 * await names.nameOf('U061F7AUR') // 'Ada Lovelace'
 */
export class SlackUserNames {
  readonly #options: SlackUserNamesOptions;
  readonly #cache = new Map<string, { name: string | undefined; until: number }>();
  readonly #asking = new Map<string, Promise<string | undefined>>();
  /** When the last failure was logged: once per TTL window, not once per person or request. */
  #reportedUntil = 0;

  constructor(options: SlackUserNamesOptions) {
    this.#options = options;
  }

  /** The person's name as Slack shows it, or undefined when Slack could not say. */
  async nameOf(userId: string): Promise<string | undefined> {
    const cached = this.#cache.get(userId);
    if (cached && this.#options.clock.now().getTime() < cached.until) return cached.name;
    let asking = this.#asking.get(userId);
    if (!asking) {
      asking = this.#lookUp(userId).finally(() => this.#asking.delete(userId));
      this.#asking.set(userId, asking);
    }
    return asking;
  }

  async #lookUp(userId: string): Promise<string | undefined> {
    const { web, ttlMs, clock, logger } = this.#options;
    const started = clock.now().getTime();
    let name: string | undefined;
    let validMs = ttlMs;
    try {
      const { user } = await web.users.info({ user: userId });
      name =
        [user?.profile?.display_name, user?.profile?.real_name, user?.real_name, user?.name].find(
          (candidate): candidate is string => typeof candidate === 'string' && candidate.trim() !== '',
        ) ?? undefined;
    } catch (error) {
      validMs = Math.min(ttlMs, RETRY_AFTER_FAILURE_MS);
      const failure = slackFailure(error, `user ${userId}`);
      if (started >= this.#reportedUntil) {
        this.#reportedUntil = started + ttlMs;
        logger.warn(
          { code: failure.code, slackError: failure.details?.slackError },
          `Slack could not give a person's name (users.info), so they are shown by id: ${failure.message}`,
        );
      }
    }
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.delete(userId);
    this.#cache.set(userId, { name, until: started + validMs });
    return name;
  }
}
