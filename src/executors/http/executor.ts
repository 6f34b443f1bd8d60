// The http executor: one `request` action against allow-listed targets from config, with a timeout,
// secret headers redacted from everything it returns or logs, reads retried and writes sent once.
import { z } from 'zod';
import { type Clock, systemClock } from '../../core/clock.js';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { limitsFrom, parseRetryAfter, UpstreamResilience } from '../../core/resilience.js';
import { isConnectionError, type Sleep } from '../../core/retry.js';
import { SecretSet } from '../../core/secrets.js';
import { closest } from '../../core/suggest.js';
import { withInputSchema } from '../input-schema.js';
import {
  EXECUTOR_PROTOCOL_VERSION,
  type ExecutionContext,
  type Executor,
  type ExecutorMetadata,
} from '../types.js';
import { headerSecrets } from './header-secrets.js';
import { PATH_PATTERN, parseBaseUrl, targetUrl } from './target-url.js';

/** One allow-listed target, as written under `http.targets.NAME` in millwright.yml. */
export interface HttpTarget {
  /** Every request goes under this URL (`https://api.cdn.example/v1/`). */
  baseUrl: string;
  /** Sent with every request; values usually come from `${ENV}` and are treated as secrets. */
  headers?: Record<string, string> | undefined;
  /** Longest wait for an answer: a duration (`10s`) or milliseconds; default 10 s. */
  timeout?: string | number | undefined;
}

export interface HttpExecutorOptions {
  targets: Record<string, HttpTarget>;
  logger: Logger;
  /** Injected for tests and proxies; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** More values to scrub from outputs, errors and logs: the process's secrets, or literal values. */
  secrets?: SecretSet | readonly string[];
  /** How much of a response body is kept in the output; default 16 KiB. */
  maxResponseBytes?: number;
  retries?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number; sleep?: Sleep };
  /** Reads Retry-After dates against this clock. */
  clock?: Clock;
  /** The shared upstream policies (one circuit per target); a private one when absent. */
  resilience?: UpstreamResilience | undefined;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const TARGET_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const MAX_REQUEST_BODY = 64 * 1024;

interface ResolvedTarget {
  name: string;
  base: URL;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * Creates the http executor.
 *
 * @example
 * const http = createHttpExecutor({ logger, secrets: loaded.secrets, targets: {
 *   cdn: { baseUrl: 'https://api.cdn.example/v1/', headers: { Authorization: `Bearer ${token}` }, timeout: '5s' } } });
 * await http.execute(ctx, { action: 'request', input: { target: 'cdn', method: 'POST', path: '/purge', body: { paths: ['/app.js'] } } });
 */
export function createHttpExecutor(options: HttpExecutorOptions): Executor {
  const targets = new Map<string, ResolvedTarget>();
  const secrets =
    options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets ?? []);
  secrets.add(headerSecrets(options.targets));
  for (const [name, config] of Object.entries(options.targets))
    targets.set(name, resolveTarget(name, config));
  const fetch = options.fetch ?? globalThis.fetch;
  const maxBytes = options.maxResponseBytes ?? 16 * 1024;
  const retries = options.retries ?? {};
  const clock = options.clock ?? systemClock;
  const resilience =
    options.resilience ??
    new UpstreamResilience({ clock, ...(retries.sleep ? { sleep: retries.sleep } : {}) });
  const policyFor = (target: ResolvedTarget) =>
    resilience.policy({
      kind: 'http',
      target: target.name,
      name: `http target ${target.name} (${target.base.origin})`,
      // The resilience: section's limits, unless the caller set its own (tests).
      limits: limitsFrom(retries),
    });
  const names = [...targets.keys()];
  const scrub = <T>(value: T): T => secrets.value(value);
  const scrubText = (text: string) => secrets.text(text);

  const inputSchema = z.strictObject({
    target: (names.length > 0 ? z.enum(names as [string, ...string[]]) : z.string()).describe(
      'Name of a target under http.targets in millwright.yml',
    ),
    method: z.enum(METHODS).default('GET'),
    path: z
      .string()
      .max(2048)
      .regex(PATH_PATTERN, {
        error: 'must start with one "/" and use only letters, digits and - . _ ~ / : @ , = + %',
      })
      .describe('Path under the target base URL, like /purge/assets/app.js'),
    query: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9_.\-[\]]{1,100}$/, { error: 'query names are letters, digits and _ . - [ ]' }),
        z.union([
          z
            .string()
            .max(1024)
            .regex(/^[^\p{Cc}]*$/u, { error: 'must be one line without control characters' }),
          z.number(),
          z.boolean(),
        ]),
      )
      .optional(),
    body: z
      .union([z.string().max(MAX_REQUEST_BODY), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .optional()
      .describe('JSON (an object or array) or text'),
  });
  type RequestInput = z.infer<typeof inputSchema>;

  const metadata: ExecutorMetadata = {
    name: 'http',
    version: '1.0.0',
    protocolVersion: EXECUTOR_PROTOCOL_VERSION,
    description: 'HTTP requests to allow-listed targets from http.targets, with secret headers redacted',
    configSchema: {
      type: 'object',
      properties: {
        targets: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: {
              baseUrl: { type: 'string' },
              headers: { type: 'object', additionalProperties: { type: 'string' } },
              timeout: { type: 'string', description: 'A duration like 10s' },
            },
            required: ['baseUrl'],
          },
        },
      },
    },
    actions: {
      request: withInputSchema(
        {
          description:
            'Send one HTTP request to an allow-listed target; GET and HEAD are reads, the rest writes',
          // The effect depends on the method; `write` is the safe reading for the action as a whole.
          effect: 'write' as const,
          dryRun: 'describe' as const,
          output: {
            type: 'object',
            properties: {
              status: { type: 'integer' },
              url: { type: 'string' },
              contentType: { type: ['string', 'null'] },
              body: { description: 'Parsed JSON when the target answered JSON and it fit, else text' },
              truncated: { type: 'boolean' },
            },
          },
        },
        inputSchema,
      ),
    },
  };

  const execute = async (ctx: ExecutionContext, input: RequestInput) => {
    const target = targets.get(input.target);
    if (!target) throw unknownTarget(input.target, names);
    const { method } = input;
    const read = method === 'GET' || method === 'HEAD';
    if (read && input.body !== undefined)
      throw badArgument(`http.request: a ${method} request carries no body`);
    const url = targetUrl(target.base, input.path, input.query);
    const shown = `${method} ${url.pathname}${url.search}`;
    const where = `http target ${target.name}`;
    if (ctx.dryRun) {
      return {
        summary: scrubText(`would ${method} ${url.href}`),
        output: scrub({ method, url: url.href, dryRun: true }),
      };
    }

    const headers: Record<string, string> = { 'user-agent': 'millwright', ...target.headers };
    let body: string | undefined;
    if (input.body !== undefined) {
      const isText = typeof input.body === 'string';
      body = isText ? (input.body as string) : JSON.stringify(input.body);
      if (Buffer.byteLength(body) > MAX_REQUEST_BODY) {
        throw badArgument(`http.request: body is over ${MAX_REQUEST_BODY / 1024} KiB`);
      }
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
        headers['content-type'] = isText ? 'text/plain; charset=utf-8' : 'application/json';
      }
    }

    let attempts = 0;
    const attempt = async () => {
      attempts++;
      const timeout = AbortSignal.timeout(target.timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      try {
        // Redirects are not followed: the next hop could be outside the base URL, and would get the headers.
        const response = await fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal,
          redirect: 'manual',
        });
        const { text, truncated } = await readBounded(response, method === 'HEAD' ? 0 : maxBytes, signal);
        return { response, text, truncated };
      } catch (error) {
        if (ctx.signal.aborted) throw aborted(ctx, where, shown, read, error);
        if (timeout.aborted) {
          throw new MillwrightError(
            ErrorCode.Timeout,
            scrubText(`${where} did not answer ${shown} within ${formatDuration(target.timeoutMs)}`),
            {
              hint: read
                ? `the target may be down or slow; check it, or raise http.targets.${target.name}.timeout`
                : `it may or may not have acted; check before running again, or raise http.targets.${target.name}.timeout`,
              details: { target: target.name, method },
            },
          );
        }
        throw new MillwrightError(
          ErrorCode.DependencyUnavailable,
          scrubText(`cannot reach ${where} (${target.base.origin}) for ${shown}: ${connectionReason(error)}`),
          {
            hint: `check http.targets.${target.name}.baseUrl and the network path`,
            details: { target: target.name, method },
            cause: error,
          },
        );
      }
    };

    let outcome: Awaited<ReturnType<typeof attempt>>;
    try {
      // Writes pass the circuit too (an open one refuses them before anything is sent) but go once.
      outcome = await policyFor(target).call(
        async () => {
          const result = await attempt();
          if (isRetryable(result.response.status)) throw new RetryableStatus(result);
          return result;
        },
        {
          idempotent: read,
          transient: (error) =>
            error instanceof RetryableStatus ||
            (error instanceof MillwrightError &&
              error.code === ErrorCode.DependencyUnavailable &&
              isConnectionError(error.cause)),
          // A hang cut by the target's timeout counts against it; a cancelled command does not.
          counts: (error) =>
            !ctx.signal.aborted &&
            (error instanceof RetryableStatus ||
              (error instanceof MillwrightError &&
                (error.code === ErrorCode.Timeout ||
                  (error.code === ErrorCode.DependencyUnavailable && isConnectionError(error.cause))))),
          retryAfterMs: (error) =>
            error instanceof RetryableStatus
              ? parseRetryAfter(error.result.response.headers.get('retry-after'), clock.now())
              : undefined,
          signal: ctx.signal,
          onRetry: (error, number, delayMs) =>
            ctx.logger.warn(
              {
                executor: 'http',
                target: target.name,
                method,
                attempt: number,
                delayMs: Math.round(delayMs),
                status: error instanceof RetryableStatus ? error.result.response.status : undefined,
              },
              'http read failed; retrying',
            ),
        },
      );
    } catch (error) {
      if (error instanceof RetryableStatus) outcome = error.result;
      else if (ctx.signal.aborted && !(error instanceof MillwrightError))
        throw aborted(ctx, where, shown, read, error);
      else throw error;
    }

    const { response, text, truncated } = outcome;
    const contentType = response.headers.get('content-type');
    const status = response.status;
    ctx.logger.info(
      {
        executor: 'http',
        target: target.name,
        method,
        path: scrubText(url.pathname),
        status,
        attempts,
        ref: ctx.ref,
      },
      'http request answered',
    );
    if (status < 200 || status > 299)
      throw upstreamFailure({
        where,
        shown,
        status,
        response,
        text,
        read,
        attempts,
        target: target.name,
        scrubText,
      });

    let parsed: unknown = text;
    if (!truncated && text !== '' && contentType && /[/+]json\b/i.test(contentType)) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // The target said JSON but sent something else; keep its text as it came.
        parsed = text;
      }
    }
    return {
      summary: scrubText(`${where} answered ${status} to ${shown}`),
      output: scrub({ status, url: url.href, contentType, body: parsed, truncated }),
    };
  };

  return {
    metadata: () => metadata,
    execute: async (ctx, request) => {
      if (request.action !== 'request') {
        throw badArgument(
          `http has no action ${JSON.stringify(request.action)}`,
          'the http executor has one action: http.request',
        );
      }
      const raw = request.input as Record<string, unknown>;
      // The allow-list is checked first, with a name-based hint, before the rest of the shape.
      if (typeof raw?.target === 'string' && !targets.has(raw.target)) throw unknownTarget(raw.target, names);
      const parsed = inputSchema.safeParse(raw);
      if (!parsed.success) throw inputError(parsed.error.issues[0], raw, scrubText);
      try {
        return await execute(ctx, parsed.data);
      } catch (error) {
        // One last pass at the boundary: nothing a secret header held leaves in a message or hint.
        if (!(error instanceof MillwrightError)) throw error;
        throw new MillwrightError(error.code, scrubText(error.message), {
          ...(error.hint === undefined ? {} : { hint: scrubText(error.hint) }),
          ...(error.details === undefined ? {} : { details: scrub(error.details) }),
          ...(error.cause === undefined ? {} : { cause: error.cause }),
        });
      }
    },
  } satisfies Executor;
}

class RetryableStatus extends Error {
  constructor(readonly result: { response: Response; text: string; truncated: boolean }) {
    super(`status ${result.response.status}`);
  }
}

/** 429 and 5xx other than 501: the target is unwell or busy, not saying no. */
function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

function resolveTarget(name: string, config: HttpTarget): ResolvedTarget {
  const problem = (text: string) =>
    new MillwrightError(ErrorCode.ConfigInvalid, `http.targets.${name}: ${text}`, {
      hint: 'fix http.targets in millwright.yml',
    });
  if (!TARGET_NAME.test(name)) throw problem('target names are lowercase letters, digits and -');
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(config.headers ?? {})) {
    if (!HEADER_NAME.test(header))
      throw problem(`header ${JSON.stringify(header)} is not a valid header name`);
    // A newline in a header value is request smuggling; the value itself is a secret, so it is not shown.
    if (/[\r\n\0]/.test(value)) throw problem(`header ${header} has a line break or NUL in its value`);
    headers[header] = value;
  }
  const timeoutMs =
    config.timeout === undefined
      ? 10_000
      : typeof config.timeout === 'number'
        ? config.timeout
        : parseDuration(config.timeout);
  if (!(timeoutMs > 0)) throw problem('timeout must be positive');
  return { name, base: parseBaseUrl(name, config.baseUrl), headers, timeoutMs };
}

function unknownTarget(name: string, names: string[]): MillwrightError {
  const suggestion = closest(name, names);
  return new MillwrightError(
    ErrorCode.PermissionDenied,
    `http target ${JSON.stringify(name).slice(0, 60)} is not in http.targets`,
    {
      hint: suggestion
        ? `did you mean "${suggestion}"? Requests go only to targets listed under http.targets in millwright.yml`
        : `allowed targets: ${names.join(', ') || 'none configured'}; add one under http.targets in millwright.yml`,
    },
  );
}

function inputError(
  issue: z.core.$ZodIssue | undefined,
  input: unknown,
  scrubText: (text: string) => string,
): MillwrightError {
  if (!issue) return badArgument('http.request: invalid input');
  if (issue.code === 'unrecognized_keys') {
    return badArgument(
      `http.request: unknown input ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`,
      'http.request takes target, method, path, query and body; headers come from config',
    );
  }
  const field = issue.path.map(String).join('.') || 'input';
  let value: unknown = input;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  const shown = value === undefined ? '' : `, got ${(JSON.stringify(value) ?? String(value)).slice(0, 60)}`;
  const message = issue.code === 'invalid_type' && value === undefined ? 'is required' : issue.message;
  return badArgument(scrubText(`http.request: ${field} ${message}${shown}`));
}

function upstreamFailure(failure: {
  where: string;
  shown: string;
  status: number;
  response: Response;
  text: string;
  read: boolean;
  attempts: number;
  target: string;
  scrubText: (text: string) => string;
}): MillwrightError {
  const { where, shown, status, response, read, attempts, scrubText } = failure;
  const excerpt = scrubText(failure.text.replace(/\s+/g, ' ').trim()).slice(0, 200);
  const said = excerpt ? `: ${excerpt}` : '';
  const details = { status, target: failure.target };
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    return new MillwrightError(
      ErrorCode.UpstreamError,
      scrubText(
        `${where} answered ${status} to ${shown}${location ? ` (redirect to ${location})` : ''}; redirects are not followed`,
      ),
      { hint: 'point http.targets baseUrl at where the target really answers', details },
    );
  }
  if (status === 429) {
    const retryAfter = response.headers.get('retry-after');
    return new MillwrightError(
      ErrorCode.RateLimited,
      scrubText(`${where} is rate limiting ${shown}${retryAfter ? `; retry after ${retryAfter}s` : ''}`),
      { hint: 'wait, then try again once', details },
    );
  }
  if (status >= 500) {
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    return new MillwrightError(
      ErrorCode.DependencyUnavailable,
      scrubText(
        `${where} answered ${status}${statusText} to ${shown}${tries}${read ? '' : '; not repeated, since it may have acted'}${said}`,
      ),
      {
        hint: read
          ? 'the target is failing; check it, then try again'
          : 'check the target before running again',
        details,
      },
    );
  }
  return new MillwrightError(
    ErrorCode.UpstreamError,
    scrubText(`${where} answered ${status}${statusText} to ${shown}${said}`),
    {
      hint:
        status === 401 || status === 403
          ? 'check the credentials in http.targets headers'
          : 'check the path and body the step sends',
      details,
    },
  );
}

function aborted(
  ctx: ExecutionContext,
  where: string,
  shown: string,
  read: boolean,
  cause: unknown,
): MillwrightError {
  const reason = ctx.signal.reason as { name?: unknown; code?: unknown } | undefined;
  const timedOut =
    Date.now() >= ctx.deadline.getTime() ||
    reason?.name === 'TimeoutError' ||
    reason?.code === ErrorCode.Timeout;
  const unsure = read ? '' : '; it may or may not have acted, check before running again';
  return timedOut
    ? new MillwrightError(
        ErrorCode.Timeout,
        `${where} did not answer ${shown} before the step's deadline${unsure}`,
        { cause },
      )
    : new MillwrightError(
        ErrorCode.Cancelled,
        `cancelled while waiting for ${where} to answer ${shown}${unsure}`,
        { cause },
      );
}

function connectionReason(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Reads at most `limit` bytes of the body, then stops reading (the rest is never downloaded). */
async function readBounded(
  response: Response,
  limit: number,
  signal: AbortSignal,
): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > limit) {
        truncated = true;
        break;
      }
    }
  } finally {
    if (truncated || signal.aborted) await reader.cancel().catch(() => undefined);
    else reader.releaseLock();
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  // A cut may land inside a multi-byte character; the decoder replaces the partial one.
  return { text: new TextDecoder().decode(bytes), truncated };
}
