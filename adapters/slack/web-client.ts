// The Slack Web API client Millwright calls through: every call under the shared upstream policy
// (retries, Retry-After, circuit), and the bounded Socket Mode connect.
import { webApi } from '@slack/bolt';
import { formatDuration, type Logger, MillwrightError, type UpstreamPolicy } from '../../src/core/index.js';
import { SlackErrorCode } from './slack-errors.js';

/** The WebClient sends each call once and hands a 429 back; the shared policy retries. */
export const NO_CLIENT_RETRIES: webApi.RetryOptions = { retries: 0 };
/**
 * Socket Mode's own client opens its connection (apps.connections.open) with a WebClient of its
 * own, outside the policy; it keeps a few bounded retries, and slack.startTimeout bounds the whole.
 */
export const SOCKET_MODE_RETRIES: webApi.RetryOptions = {
  retries: 2,
  factor: 2,
  minTimeout: 250,
  maxTimeout: 2_000,
};
/** Socket Mode's connect, bounded: Slack's client retries a failing connection for about half an hour. */
export async function withinStartTimeout<T>(starting: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MillwrightError(
            SlackErrorCode.Unreachable,
            `Slack did not accept the Socket Mode connection within ${formatDuration(timeoutMs)} (slack.startTimeout)`,
            {
              hint: 'check that slack.appToken is an app-level token with connections:write, that Socket Mode is on for the app, and the network path to Slack; the log has each attempt',
            },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([starting, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A WebClient whose every call goes through the Slack API's shared policy: reads and chat.update are
 * retried on an outage, any call after a 429 once its Retry-After has passed (Slack did not act on
 * it), and after repeated outages calls fail fast with "the Slack API ... circuit open since ...".
 * The client itself sends each call once (`retries: 0`, `rejectRateLimitedCalls`). A subclass,
 * because the client binds its method table to `apiCall` while it is constructed.
 */
export class PolicyWebClient extends webApi.WebClient {
  readonly #policy: UpstreamPolicy;
  readonly #log: Logger;

  constructor(token: string, options: webApi.WebClientOptions, policy: UpstreamPolicy, log: Logger) {
    super(token, options);
    this.#policy = policy;
    this.#log = log;
  }

  override apiCall(method: string, options?: Record<string, unknown>): Promise<webApi.WebAPICallResult> {
    return this.#policy.call(() => super.apiCall(method, options), {
      idempotent: isRepeatableMethod(method),
      notActedOn: isRateLimited,
      transient: (error) => isSlackOutage(error) || isRateLimited(error),
      retryAfterMs: (error) => (isRateLimited(error) ? error.retryAfter * 1000 : undefined),
      onRetry: (error, attempt, delayMs) =>
        this.#log.warn(
          { method, attempt, delayMs: Math.round(delayMs), slackError: (error as { code?: unknown }).code },
          'Slack API call failed; retrying',
        ),
    });
  }
}

/**
 * Calls that change nothing, or that land on the same result when sent twice, so an outage may be
 * retried: reads (auth.test, *.info, *.list, *.history, ...) and edits of one message.
 */
function isRepeatableMethod(method: string): boolean {
  return (
    /\.(test|info|list|history|replies|lookupByEmail)$/.test(method) ||
    method === 'chat.update' ||
    method === 'conversations.setTopic'
  );
}

function isRateLimited(error: unknown): error is webApi.WebAPIRateLimitedError {
  return (error as { code?: unknown } | null)?.code === webApi.ErrorCode.RateLimitedError;
}

/** A dropped connection, a timeout or a 5xx from Slack; never a Slack "no". */
function isSlackOutage(error: unknown): boolean {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === webApi.ErrorCode.RequestError) return true;
  return code === webApi.ErrorCode.HTTPError && typeof statusCode === 'number' && statusCode >= 500;
}
