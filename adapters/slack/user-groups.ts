// Slack user groups as Millwright groups: the groups named in access.subjects (`group:sre`) are looked
// up with usergroups.users.list and cached with a TTL. When Slack cannot say, nobody gets group roles.
import type { webApi } from '@slack/bolt';
import type { Clock, Logger } from '../../src/core/index.js';
import { slackErrorOf, slackFailure } from './slack-errors.js';

export interface SlackUserGroupsOptions {
  web: webApi.WebClient;
  /** Group names from `access.subjects` keys `group:NAME`: a user group handle (`sre`) or id (`S0614TZR7`). */
  names: readonly string[];
  ttlMs: number;
  clock: Clock;
  logger: Logger;
}

const GROUP_ID = /^S[A-Z0-9]{2,}$/;
/** After a failed refresh, wait this long (or the TTL, if shorter) before asking Slack again. */
const RETRY_AFTER_FAILURE_MS = 30_000;

/**
 * Which configured groups a Slack user belongs to.
 *
 * @example
 * const groups = new SlackUserGroups({ web, names: ['sre', 'S0614TZR7'], ttlMs: 300_000, clock, logger });
 * await groups.groupsOf('U061F7AUR') // ['sre']
 */
export class SlackUserGroups {
  readonly #options: SlackUserGroupsOptions;
  #members = new Map<string, ReadonlySet<string>>();
  #validUntil = 0;
  #refreshing: Promise<void> | undefined;

  constructor(options: SlackUserGroupsOptions) {
    this.#options = options;
  }

  /** Names of the configured groups `userId` is in; empty when Slack could not be asked. */
  async groupsOf(userId: string): Promise<string[]> {
    if (this.#options.names.length === 0) return [];
    if (this.#options.clock.now().getTime() >= this.#validUntil) {
      this.#refreshing ??= this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
    return this.#options.names.filter((name) => this.#members.get(name)?.has(userId));
  }

  async #refresh(): Promise<void> {
    const { web, names, ttlMs, clock, logger } = this.#options;
    const started = clock.now().getTime();
    try {
      const ids = new Map<string, string>();
      const handles = names.filter((name) => !GROUP_ID.test(name));
      for (const name of names) if (GROUP_ID.test(name)) ids.set(name, name);
      if (handles.length > 0) {
        const listed = await web.usergroups.list({});
        for (const handle of handles) {
          const group = listed.usergroups?.find((g) => g.handle === handle || g.id === handle);
          if (group?.id) ids.set(handle, group.id);
          else
            logger.warn(
              { group: handle },
              `access.subjects names group:${handle}, but Slack has no user group @${handle}`,
            );
        }
      }
      const members = new Map<string, ReadonlySet<string>>();
      await Promise.all(
        [...ids].map(async ([name, id]) => {
          try {
            const result = await web.usergroups.users.list({ usergroup: id });
            members.set(name, new Set(result.users ?? []));
          } catch (error) {
            if (slackErrorOf(error) !== 'no_such_subteam') throw error;
            logger.warn(
              { group: name, usergroup: id },
              `Slack has no user group ${id} (group:${name} in access.subjects)`,
            );
          }
        }),
      );
      this.#members = members;
      this.#validUntil = started + ttlMs;
    } catch (error) {
      // Fail closed: without an answer from Slack nobody holds a group role until the next try.
      this.#members = new Map();
      this.#validUntil = started + Math.min(ttlMs, RETRY_AFTER_FAILURE_MS);
      const failure = slackFailure(error, 'user groups');
      logger.warn(
        { code: failure.code, err: error },
        `Slack user groups unavailable, group roles withheld: ${failure.message}`,
      );
    }
  }
}
