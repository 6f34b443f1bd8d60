// One interaction's response_url: at most 5 posts within 30 minutes of the request, each retried
// a bounded number of times (after Retry-After on a 429).
import {
  abortableSleep,
  type Clock,
  isConnectionError,
  MillwrightError,
  withRetries,
} from '../../src/core/index.js';
import { SlackErrorCode } from './slack-errors.js';

export const RESPONSE_URL_POSTS = 5;
export const RESPONSE_URL_MS = 30 * 60 * 1000;
const MAX_RETRY_AFTER_MS = 10_000;

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
  /** Retry waits; injected by tests. */
  sleep?: (ms: number) => Promise<void>;
}

class RetryableStatus extends Error {
  constructor(readonly status: number) {
    super(`response_url answered ${status}`);
  }
}

/**
 * Posts to one request's response_url within Slack's budget.
 *
 * @example
 * const url = new ResponseUrl(command.response_url, clock.now(), { kind: 'command', fetch, clock });
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
    const sleep = this.options.sleep ?? ((ms: number) => abortableSleep(ms));
    const response = await withRetries(
      async () => {
        const answer = await this.options.fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(message),
          redirect: 'error',
        });
        if (answer.status === 429 || answer.status >= 500) {
          const retryAfter = Number(answer.headers.get('retry-after'));
          await answer.arrayBuffer();
          if (answer.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0) {
            await sleep(Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS));
          }
          throw new RetryableStatus(answer.status);
        }
        return answer;
      },
      {
        attempts: 3,
        baseDelayMs: 200,
        retryable: (error) => error instanceof RetryableStatus || isConnectionError(error),
        sleep: (ms) => sleep(ms),
      },
    ).catch((error: unknown) => {
      throw new MillwrightError(
        SlackErrorCode.Unreachable,
        'Millwright could not reply through Slack (response_url)',
        {
          hint: 'check the network path to hooks.slack.com; Millwright retried a few times',
          cause: error,
        },
      );
    });
    const body = await response.text();
    if (!response.ok) {
      let error = body;
      try {
        error = String((JSON.parse(body) as { error?: unknown }).error ?? body);
      } catch {
        // Slack answers some response_url failures in plain text; keep it as it is.
      }
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
