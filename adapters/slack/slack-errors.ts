// Turns Web API failures (channel_not_found, not_in_channel, ratelimited, a bad token, Slack out of
// reach) into one-line MillwrightErrors with stable codes and a hint a Slack admin can act on.
import { MillwrightError } from '../../src/core/index.js';

/** Stable codes for Slack failures; add new ones, never rename one. */
export const SlackErrorCode = {
  NotInChannel: 'millwright_slack_not_in_channel',
  ChannelNotFound: 'millwright_slack_channel_not_found',
  RateLimited: 'millwright_slack_rate_limited',
  AuthFailed: 'millwright_slack_auth_failed',
  MissingScope: 'millwright_slack_missing_scope',
  Unreachable: 'millwright_slack_unreachable',
  Refused: 'millwright_slack_refused',
} as const;

const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
]);

/** The Slack error string of a WebClient failure (`channel_not_found`), when Slack answered one. */
export function slackErrorOf(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * Explains a failed Web API call made to `where` (a channel id, or a description like "the bot token").
 *
 * @example
 * try { await client.chat.postMessage(args) } catch (e) { throw slackFailure(e, channel) }
 */
export function slackFailure(error: unknown, where: string): MillwrightError {
  if (error instanceof MillwrightError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const slackError = slackErrorOf(error);
  const details = { slackError: slackError ?? code };
  const cause = error;
  if (slackError === 'not_in_channel') {
    return new MillwrightError(
      SlackErrorCode.NotInChannel,
      `Millwright is not a member of channel ${where}, so it cannot post there`,
      {
        hint: 'invite it with /invite @Millwright in that channel, or run the command without --public for a private answer',
        cause,
        details,
      },
    );
  }
  if (slackError === 'channel_not_found' || slackError === 'invalid_channel') {
    return new MillwrightError(
      SlackErrorCode.ChannelNotFound,
      `Slack has no channel ${where} that Millwright can see`,
      {
        hint: 'use a channel id like C0123ABCD (channel details, bottom of the About tab); for a private channel, invite Millwright first',
        cause,
        details,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (
    slackError === 'ratelimited' ||
    code === 'slack_webapi_rate_limited_error' ||
    /rate limit was exceeded/i.test(message)
  ) {
    return new MillwrightError(SlackErrorCode.RateLimited, 'Slack is rate limiting Millwright right now', {
      hint: 'wait a minute and try again; Millwright waits out a short Retry-After itself, and this one was longer or kept coming',
      cause,
      details,
    });
  }
  if (slackError && AUTH_ERRORS.has(slackError)) {
    // Socket Mode's connection is opened with the app-level token; every other call with the bot token.
    if (where.includes('slack.appToken')) {
      return new MillwrightError(
        SlackErrorCode.AuthFailed,
        `Slack rejected the app-level token (${slackError})`,
        {
          hint: "set slack.appToken (SLACK_APP_TOKEN) to an app-level token (xapp-...) with the connections:write scope, from the app's Basic Information page",
          cause,
          details,
        },
      );
    }
    return new MillwrightError(SlackErrorCode.AuthFailed, `Slack rejected the bot token (${slackError})`, {
      hint: "set slack.botToken (SLACK_BOT_TOKEN) to the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page, and reinstall the app if it was removed",
      cause,
      details,
    });
  }
  if (slackError === 'missing_scope') {
    const needed = (error as { data?: { needed?: unknown } }).data?.needed;
    return new MillwrightError(
      SlackErrorCode.MissingScope,
      `the Slack app lacks the scope ${typeof needed === 'string' ? needed : 'this call needs'}`,
      {
        hint: 'add it under oauth_config.scopes.bot in manifest.yml (or the app settings) and reinstall the app',
        cause,
        details,
      },
    );
  }
  if (
    slackError === undefined &&
    (code === 'slack_webapi_request_error' || code === 'slack_webapi_http_error')
  ) {
    return new MillwrightError(SlackErrorCode.Unreachable, 'Millwright cannot reach Slack right now', {
      hint: 'check the network path to slack.apiUrl (proxy, firewall, DNS); Millwright retried what was safe to send again',
      cause,
      details,
    });
  }
  return new MillwrightError(
    SlackErrorCode.Refused,
    `Slack refused the request for ${where}: ${slackError ?? message}`,
    {
      hint: 'the Slack API reference lists this error under the method that failed; the log has the details',
      cause,
      details,
    },
  );
}

/** A failed start-up check (auth.test, the Socket Mode connection) as one line naming what to fix. */
export function slackStartupError(error: unknown, what: string): MillwrightError {
  const failure = slackFailure(error, what);
  return new MillwrightError(failure.code, `Slack start-up failed, checking ${what}: ${failure.message}`, {
    ...(failure.hint ? { hint: failure.hint } : {}),
    cause: error,
  });
}
