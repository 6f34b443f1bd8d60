// One Octokit per GitHub endpoint, with the only retry policy in play (bounded, reads only), a
// per-request timeout, and a rate-limit gate that stops calling GitHub until the limit resets.
import { Octokit } from '@octokit/rest';
import { type Clock, systemClock } from '../../core/clock.js';
import { formatDuration } from '../../core/duration.js';
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/redact.js';
import { limitsFrom, parseRetryAfter, UpstreamResilience } from '../../core/resilience.js';
import { isConnectionError, type Sleep } from '../../core/retry.js';
import { describeGitHubFailure, type GitHubOperation, rateLimitError } from './failures.js';
import type { PrimaryLimit, RateLimitMemory } from './rate-limit-memory.js';

export interface GitHubRetryOptions {
  /** Total attempts for a read, including the first; default: the shared policy's (resilience.attempts). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?: Sleep;
}

export interface GitHubClientOptions {
  /** REST API root: https://api.github.com, https://ghe.example.com/api/v3, or a test double. */
  baseUrl: string;
  /** A token; without one GitHub answers only public data, 60 requests an hour. */
  token?: string | undefined;
  logger: Logger;
  /** Injected for tests and proxies; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Reads rate-limit reset times against this clock. */
  clock?: Clock;
  retries?: GitHubRetryOptions;
  /** Longest wait for one HTTP answer; default 10 s. The caller's signal still cuts it sooner. */
  requestTimeoutMs?: number;
  /** Web root for links people click; derived from baseUrl when absent (api.github.com -> github.com). */
  webUrl?: string;
  /** The shared upstream policies (one circuit per base URL); a private one when absent. */
  resilience?: UpstreamResilience | undefined;
  /**
   * Where used-up rate limits are kept besides this process (the store: every replica reads what one
   * learned). Without it only this process remembers.
   */
  rateLimits?: RateLimitMemory | undefined;
}

/** A GitHub connection shared by the executor and by readers such as `deploys`. */
export interface GitHubClient {
  readonly octokit: Octokit;
  readonly baseUrl: string;
  /** Web root for links (https://github.com, or the GHE host). */
  readonly webUrl: string;
  readonly clock: Clock;
  /**
   * Runs one operation (which may make several requests) and turns any failure into a
   * MillwrightError naming what was asked: 404 "repository acme/shop not found, or the token
   * cannot see it", 403 rate limit with its reset time, 5xx after bounded retries.
   */
  run<T>(operation: GitHubOperation, work: () => Promise<T>): Promise<T>;
  /** The MillwrightError `run` would throw for this failure of `operation`. */
  describe(operation: GitHubOperation, error: unknown): MillwrightError;
}

/** Where each request's attempt count is kept, so failure messages can say "after 3 attempts". */
const attemptsMade = new WeakMap<object, number>();

/**
 * Builds the client. Octokit here carries no retry or throttling plugin (@octokit/rest 22 ships
 * none), so the policy below is the only one: reads retried on 5xx and connection errors, writes
 * sent once, rate limits never retried.
 *
 * @example
 * const github = createGitHubClient({ baseUrl: 'https://api.github.com', token: process.env.GITHUB_TOKEN, logger });
 * const deployments = await listDeployments(github, { owner: 'acme', repo: 'shop', environment: 'production', limit: 5 });
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const retries = options.retries ?? {};
  const resilience =
    options.resilience ??
    new UpstreamResilience({ clock, ...(retries.sleep ? { sleep: retries.sleep } : {}) });
  const policy = resilience.policy({
    kind: 'github',
    target: baseUrl,
    name: `GitHub at ${baseUrl}`,
    // The resilience: section's limits, unless the caller set its own (tests).
    limits: limitsFrom(retries),
  });
  const octokit = new Octokit({
    baseUrl,
    userAgent: 'millwright',
    ...(options.token ? { auth: options.token } : {}),
    request: options.fetch ? { fetch: options.fetch } : {},
    // Octokit's own request log would print request options at debug level; ours says less.
    log: {
      debug: () => {},
      info: (message: string) => logger.debug({ github: redactText(String(message)) }, 'github request'),
      warn: (message: string) => logger.warn({ github: redactText(String(message)) }, 'github warning'),
      error: (message: string) =>
        logger.debug({ github: redactText(String(message)) }, 'github request failed'),
    },
  });

  // One gate per rate-limit resource: a used-up GraphQL budget leaves REST (core) calls alone. What
  // this process learned is checked first; what another replica learned is read from the shared memory.
  const limited = new Map<string, PrimaryLimit>();
  const shared = options.rateLimits;
  const sharedKey = (resource: string) => `${baseUrl}|${resource}`;
  const gate = async (resource: string) => {
    let limit = limited.get(resource);
    if (!limit && shared) {
      limit = await shared.get(sharedKey(resource)).catch((error: unknown) => {
        // Unreadable for a moment: GitHub itself still answers 403 when the limit is used up.
        logger.warn({ err: error, resource }, 'could not read the shared GitHub rate-limit memory');
        return undefined;
      });
      if (limit) limited.set(resource, limit);
    }
    if (!limit) return;
    const now = clock.now();
    if (now.getTime() >= limit.resetAt.getTime()) {
      limited.delete(resource);
      return;
    }
    // Calling again before the reset only burns goodwill (GitHub may ban integrations that do).
    throw rateLimitError(limit.resetAt, now, { resource: limit.resource, limit: limit.limit });
  };
  const observe = async (headers: Record<string, unknown> | undefined) => {
    if (!headers || String(headers['x-ratelimit-remaining']) !== '0') return;
    const reset = Number(headers['x-ratelimit-reset']);
    if (!Number.isFinite(reset)) return;
    const resource = String(headers['x-ratelimit-resource'] ?? 'core');
    const limit: PrimaryLimit = {
      resetAt: new Date(reset * 1000),
      resource,
      limit: headers['x-ratelimit-limit'] === undefined ? undefined : String(headers['x-ratelimit-limit']),
    };
    limited.set(resource, limit);
    await shared?.set(sharedKey(resource), limit).catch((error: unknown) => {
      logger.warn(
        { err: error, resource },
        'could not share a used-up GitHub rate limit with other replicas',
      );
    });
  };

  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method ?? 'GET').toUpperCase();
    const graphql = /\/graphql$/.test(String(requestOptions.url ?? ''));
    const resource = graphql ? 'graphql' : 'core';
    // A GraphQL query is a read (retried like a GET); a mutation is a write (sent once).
    const read =
      method === 'GET' ||
      method === 'HEAD' ||
      (graphql && !/^\s*mutation\b/.test(String((requestOptions as { query?: unknown }).query ?? '')));
    const callerSignal = requestOptions.request?.signal as AbortSignal | undefined;
    const attempt = async () => {
      await gate(resource);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
      // before-after-hook binds the original options object into every inner hook, so an outer hook
      // changes what is sent by changing that object, not by passing a new one.
      requestOptions.request = { ...requestOptions.request, signal };
      try {
        const response = await request(requestOptions);
        await observe(response.headers as Record<string, unknown>);
        return response;
      } catch (error) {
        await observe((error as { response?: { headers?: Record<string, unknown> } }).response?.headers);
        if (callerSignal?.aborted) throw callerSignal.reason ?? error;
        if (timeout.aborted) {
          throw new MillwrightError(
            ErrorCode.Timeout,
            `GitHub did not answer within ${formatDuration(timeoutMs)}`,
            {
              hint: 'GitHub may be slow or unreachable from here; try again, or check https://www.githubstatus.com',
              cause: error,
            },
          );
        }
        throw error;
      }
    };
    let attempts = 0;
    try {
      // Writes go through the circuit too (an open one fails them fast) but are sent once.
      return await policy.call(
        () => {
          attempts++;
          return attempt();
        },
        {
          idempotent: read,
          // A secondary rate limit (403/429 with Retry-After) was not acted on: a short one is
          // waited out, for a write too; a long one fails at once saying when (the policy's maxRetryAfter).
          notActedOn: (error) => retryAfterMsOf(error, clock.now()) !== undefined,
          transient: (error) => isTransientFailure(error) || retryAfterMsOf(error, clock.now()) !== undefined,
          retryAfterMs: (error) => retryAfterMsOf(error, clock.now()),
          // A hang cut by our own request timeout counts against GitHub; a cancelled command does not.
          counts: (error) =>
            !callerSignal?.aborted &&
            (isTransientFailure(error) ||
              (error instanceof MillwrightError && error.code === ErrorCode.Timeout)),
          signal: callerSignal,
          onRetry: (error, attempt, delayMs) =>
            logger.warn(
              {
                method,
                url: requestOptions.url,
                status: statusOf(error),
                attempt,
                delayMs: Math.round(delayMs),
              },
              'GitHub read failed; retrying',
            ),
        },
      );
    } catch (error) {
      if (error !== null && typeof error === 'object') attemptsMade.set(error, attempts);
      throw error;
    }
  });

  const describe = (operation: GitHubOperation, error: unknown) =>
    describeGitHubFailure(error, operation, {
      now: clock.now(),
      attempts: error !== null && typeof error === 'object' ? attemptsMade.get(error) : undefined,
      baseUrl,
    });
  return {
    octokit,
    baseUrl,
    webUrl: (options.webUrl ?? webUrlFor(baseUrl)).replace(/\/+$/, ''),
    clock,
    describe,
    run: async (operation, work) => {
      try {
        return await work();
      } catch (error) {
        throw describe(operation, error);
      }
    },
  };
}

/** 5xx (not 501) and dropped connections; never 4xx, rate limits, timeouts or cancellations. */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof MillwrightError) return false;
  const status = statusOf(error);
  if (status !== undefined && status >= 500 && status !== 501) {
    // Octokit reports a failed fetch as a 500 without a response; only a real answer counts here.
    return (error as { response?: unknown }).response !== undefined || isConnectionError(error);
  }
  return isConnectionError(error);
}

/** The wait a secondary rate limit asks for (403 or 429 with Retry-After), in ms. */
export function retryAfterMsOf(error: unknown, now: Date): number | undefined {
  const status = statusOf(error);
  if (status !== 403 && status !== 429) return undefined;
  const headers = (error as { response?: { headers?: Record<string, unknown> } }).response?.headers;
  const value = headers?.['retry-after'];
  return value === undefined ? undefined : parseRetryAfter(String(value), now);
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The web root for links people click, from the API root.
 *
 * @example
 * webUrlFor('https://api.github.com')          // 'https://github.com'
 * webUrlFor('https://ghe.example.com/api/v3')  // 'https://ghe.example.com'
 */
export function webUrlFor(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  if (url.hostname.startsWith('api.') && url.hostname.endsWith('.ghe.com')) {
    return `${url.protocol}//${url.hostname.slice(4)}`;
  }
  const path = url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '');
  return `${url.origin}${path}`;
}
