// One interaction's response_url: at most 5 posts within 30 minutes of the request, each through the
// shared upstream policy (a 429 waited out, a hang cut at slack.timeout, one circuit per host).
import {
  type Clock,
  formatDuration,
  isConnectionError,
  MillwrightError,
  parseRetryAfter,
  type UpstreamPolicy,
} from '../../src/core/index.js';
import { SlackErrorCode } from './slack-errors.js';

export const RESPONSE_URL_POSTS = 5;
export const RESPONSE_URL_MS = 30 * 60 * 1000;

/** What Slack accepts on a response_url (a message plus how to place it). */
export interface ResponseUrlMessage {
  text: string;
  blocks?: unknown[];
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
  delete_original?: boolean;
  thread_ts?: string;
}

/**
 * Whose response_url this is. A slash command's replaces its own earlier reply with
 * `replace_original`; an interaction's (a button click) would replace the message with the button.
 */
export type ResponseUrlKind = 'command' | 'interaction';

export interface ResponseUrlOptions {
  kind: ResponseUrlKind;
  fetch: typeof fetch;
  clock: Clock;
  /** A post not answered by then is cut (slack.timeout). */
  timeoutMs: number;
  /** The shared policy for response_url posts to this origin (https://hooks.slack.com). */
  policyFor: (origin: string) => UpstreamPolicy;
}

/** Slack answered 429 or 5xx: not a refusal of this message, an outage or a rate limit. */
class ResponseUrlStatus extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | null,
  ) {
    super(`response_url answered ${status}`);
  }
}

/** The post was cut at slack.timeout. */
class ResponseUrlTimeout extends Error {}

/**
 * Posts to one request's response_url within Slack's budget.
 *
 * @example
 * const url = new ResponseUrl(command.response_url, clock.now(), { kind: 'command', fetch, clock, timeoutMs, policyFor });
 * if (url.usable) await url.post({ text: 'done', response_type: 'ephemeral' });
 */
export class ResponseUrl {
  #posted = 0;

  constructor(
    readonly url: string,
    private readonly receivedAt: Date,
    private readonly options: ResponseUrlOptions,
  ) {}

  get kind(): ResponseUrlKind {
    return this.options.kind;
  }

  /** Whether a later post can replace an earlier reply (`replace_original`) without touching anything else. */
  get editsOwnReplies(): boolean {
    return this.options.kind === 'command';
  }

  /** Posts left before Slack refuses the URL. */
  get remaining(): number {
    const expired = this.options.clock.now().getTime() - this.receivedAt.getTime() >= RESPONSE_URL_MS;
    return expired ? 0 : RESPONSE_URL_POSTS - this.#posted;
  }

  get usable(): boolean {
    return this.remaining > 0;
  }

  async post(message: ResponseUrlMessage): Promise<void> {
    if (!this.usable) {
      throw new MillwrightError(
        SlackErrorCode.Refused,
        'this interaction can take no more replies through Slack',
        {
          hint: 'Slack allows 5 replies within 30 minutes per command',
        },
      );
    }
    const { fetch, clock, timeoutMs } = this.options;
    const origin = new URL(this.url).origin;
    const send = async (signal: AbortSignal) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const answer = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(message),
          redirect: 'error',
          signal: AbortSignal.any([signal, timeout]),
        });
        const body = await answer.text();
        // Slack refuses a bad message with a 500 and its error word (no_text, invalid_blocks): an
        // answer, not an outage. A 5xx without one, or a 429, is.
        if (answer.status === 429 || (answer.status >= 500 && slackErrorWord(body) === undefined)) {
          throw new ResponseUrlStatus(answer.status, answer.headers.get('retry-after'));
        }
        return { status: answer.status, ok: answer.ok, body };
      } catch (error) {
        if (timeout.aborted && !signal.aborted) throw new ResponseUrlTimeout('timed out', { cause: error });
        throw error;
      }
    };
    const response = await this.options
      .policyFor(origin)
      .call((_attempt, signal) => send(signal), {
        // Replacing or deleting the original lands on the same message however often it is sent.
        idempotent: message.replace_original === true || message.delete_original === true,
        notActedOn: (error) => error instanceof ResponseUrlStatus && error.status === 429,
        transient: (error) =>
          error instanceof ResponseUrlStatus ||
          error instanceof ResponseUrlTimeout ||
          isConnectionError(error),
        retryAfterMs: (error) =>
          error instanceof ResponseUrlStatus ? parseRetryAfter(error.retryAfter, clock.now()) : undefined,
      })
      .catch((error: unknown) => {
        throw unreachable(error, origin, timeoutMs);
      });
    const { body } = response;
    if (!response.ok) {
      const error = slackErrorWord(body) ?? body;
      if (response.status === 404) this.#posted = RESPONSE_URL_POSTS;
      throw new MillwrightError(
        SlackErrorCode.Refused,
        `Slack refused the reply (${response.status} ${error})`,
        {
          hint: 'the reply went another way if it could; the log has the details',
          details: { slackError: error },
        },
      );
    }
    this.#posted++;
  }
}

/** A post that never got an answer from Slack, as one line naming the upstream and what happened. */
function unreachable(error: unknown, origin: string, timeoutMs: number): MillwrightError {
  // The open circuit's own line already says it all.
  if (error instanceof MillwrightError) return error;
  const what =
    error instanceof ResponseUrlTimeout
      ? `no answer within ${formatDuration(timeoutMs)}`
      : error instanceof ResponseUrlStatus
        ? error.status === 429
          ? `rate limited (HTTP 429${error.retryAfter ? `, retry after ${error.retryAfter}s` : ''})`
          : `HTTP ${error.status}`
        : `connection failed${connectionCodeOf(error)}`;
  return new MillwrightError(
    error instanceof ResponseUrlStatus && error.status === 429
      ? SlackErrorCode.RateLimited
      : SlackErrorCode.Unreachable,
    `Millwright could not reply through Slack's response_url at ${origin}: ${what}`,
    {
      hint: 'check the network path to hooks.slack.com; a post that may have arrived is not sent again',
      cause: error,
      details: { upstream: 'slack', target: origin },
    },
  );
}

/** ` (ECONNRESET)`: the system error under a failed fetch, when there is one. */
function connectionCodeOf(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return ` (${code})`;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}

/** Slack's error word in a response_url answer: `{"ok":false,"error":"no_text"}` or plain `no_text`. */
function slackErrorWord(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown } | null)?.error;
    return typeof error === 'string' ? error : undefined;
  } catch {
    // Slack answers some response_url failures in plain text.
    return /^[a-z_]+$/.test(body.trim()) ? body.trim() : undefined;
  }
}
