// Slack user groups as Millwright groups: the groups named in access.subjects (`group:sre`) are looked
// up with usergroups.users.list and cached with a TTL. When Slack cannot say, nobody gets group roles.
import type { webApi } from '@slack/bolt';
import { type Clock, formatDuration, type Logger, type UnreadGroups } from '../../src/core/index.js';
import { slackErrorOf } from './slack-errors.js';

export interface SlackUserGroupsOptions {
  web: webApi.WebClient;
  /** Group names from `access.subjects` keys `group:NAME`: a user group handle (`sre`) or id (`S0614TZR7`). */
  names: readonly string[];
  ttlMs: number;
  clock: Clock;
  logger: Logger;
}

/** What Slack says about one person's groups. */
export interface GroupMembership {
  /** The configured groups they are in. */
  groups: string[];
  /** The configured groups Slack could not list, and why; none of their roles apply meanwhile. */
  unread?: UnreadGroups;
}

const GROUP_ID = /^S[A-Z0-9]{2,}$/;
/** After a failed refresh, wait this long (or the TTL, if shorter) before asking Slack again. */
const RETRY_AFTER_FAILURE_MS = 30_000;
const SOURCE = 'Slack user groups';

/** Why one group could not be read: the method, Slack's error code (or HTTP status) and the fix. */
interface LookupFailure {
  slackError: string;
  cause: string;
}

/**
 * Which configured groups a Slack user belongs to.
 *
 * @example
 * const groups = new SlackUserGroups({ web, names: ['sre', 'S0614TZR7'], ttlMs: 300_000, clock, logger });
 * await groups.membershipOf('U061F7AUR') // { groups: ['sre'] }
 */
export class SlackUserGroups {
  readonly #options: SlackUserGroupsOptions;
  #members = new Map<string, ReadonlySet<string>>();
  #unread = new Map<string, LookupFailure>();
  #validUntil = 0;
  #refreshing: Promise<void> | undefined;
  /** The failure last logged and until when it stays quiet: one warning per TTL window, not per request. */
  #reported: { key: string; until: number } | undefined;

  constructor(options: SlackUserGroupsOptions) {
    this.#options = options;
  }

  /** The configured groups `userId` is in, and those Slack could not list (their roles withheld). */
  async membershipOf(userId: string): Promise<GroupMembership> {
    if (this.#options.names.length === 0) return { groups: [] };
    if (this.#options.clock.now().getTime() >= this.#validUntil) {
      this.#refreshing ??= this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
    const groups = this.#options.names.filter((name) => this.#members.get(name)?.has(userId));
    if (this.#unread.size === 0) return { groups };
    const causes = [...new Set([...this.#unread.values()].map((failure) => failure.cause))];
    return { groups, unread: { source: SOURCE, groups: [...this.#unread.keys()], cause: causes.join('; ') } };
  }

  async #refresh(): Promise<void> {
    const { web, names, ttlMs, clock, logger } = this.#options;
    const started = clock.now().getTime();
    const retryMs = Math.min(ttlMs, RETRY_AFTER_FAILURE_MS);
    const members = new Map<string, ReadonlySet<string>>();
    const unread = new Map<string, LookupFailure>();
    const ids = new Map<string, string>();
    const handles = names.filter((name) => !GROUP_ID.test(name));
    for (const name of names) if (GROUP_ID.test(name)) ids.set(name, name);
    if (handles.length > 0) {
      try {
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
      } catch (error) {
        // Fail closed: a group Slack cannot name has no members until the next try.
        const failure = lookupFailure('usergroups.list', error, retryMs);
        for (const handle of handles) unread.set(handle, failure);
      }
    }
    await Promise.all(
      [...ids].map(async ([name, id]) => {
        try {
          const result = await web.usergroups.users.list({ usergroup: id });
          members.set(name, new Set(result.users ?? []));
        } catch (error) {
          if (slackErrorOf(error) === 'no_such_subteam') {
            logger.warn(
              { group: name, usergroup: id },
              `Slack has no user group ${id} (group:${name} in access.subjects)`,
            );
            return;
          }
          unread.set(name, lookupFailure('usergroups.users.list', error, retryMs));
        }
      }),
    );
    this.#members = members;
    this.#unread = unread;
    // A failed lookup is asked again soon, so a passing outage does not withhold roles for the whole TTL.
    this.#validUntil = started + (unread.size > 0 ? retryMs : ttlMs);
    this.#report(unread, started);
  }

  #report(unread: ReadonlyMap<string, LookupFailure>, now: number): void {
    const { logger, ttlMs } = this.#options;
    if (unread.size === 0) {
      if (this.#reported) logger.info({}, 'Slack user groups can be read again; their roles apply');
      this.#reported = undefined;
      return;
    }
    const failures = [...new Set(unread.values())];
    const key = failures.map((failure) => failure.cause).join('; ');
    if (this.#reported && this.#reported.key === key && now < this.#reported.until) return;
    this.#reported = { key, until: now + ttlMs };
    logger.warn(
      { slackError: failures.map((failure) => failure.slackError).join(','), groups: [...unread.keys()] },
      `Slack user groups could not be read, so their roles are withheld: ${key}`,
    );
  }
}

/** One line on a failed lookup: the method, what Slack said, and what fixes it. Never the token. */
function lookupFailure(method: string, error: unknown, retryMs: number): LookupFailure {
  const slackError = slackErrorOf(error);
  const again = `Millwright asks again in ${formatDuration(retryMs)}`;
  if (slackError === 'missing_scope') {
    const needed = (error as { data?: { needed?: unknown } }).data?.needed;
    const scope = typeof needed === 'string' ? needed : 'usergroups:read';
    return { slackError, cause: `${method}: missing_scope; the app needs ${scope}` };
  }
  if (slackError === 'not_allowed_token_type')
    return {
      slackError,
      cause: `${method}: not_allowed_token_type; slack.botToken must be the bot token (xoxb-...)`,
    };
  if (slackError !== undefined) return { slackError, cause: `${method}: ${slackError}; ${again}` };
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === 'slack_webapi_rate_limited_error')
    return { slackError: 'ratelimited', cause: `${method}: ratelimited (HTTP 429); ${again}` };
  if (typeof statusCode === 'number')
    return { slackError: `http_${statusCode}`, cause: `${method}: HTTP ${statusCode} from Slack; ${again}` };
  if (code === 'slack_webapi_request_error')
    return { slackError: 'unreachable', cause: `${method}: Slack could not be reached; ${again}` };
  // The shared policy's own refusal (its circuit is open) already reads as one line.
  const message = error instanceof Error ? error.message : String(error);
  return { slackError: String(code ?? 'unknown'), cause: `${method}: ${message}; ${again}` };
}
