// The Prometheus HTTP API client (`/api/v1/query`, `/api/v1/query_range`) on the platform fetch:
// timeouts, bounded retries, auth from config secrets, a bound on concurrent queries.
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { limitsFrom, parseRetryAfter, type UpstreamPolicy, UpstreamResilience } from '../core/resilience.js';
import { isConnectionError, isRetryableStatus, type Sleep } from '../core/retry.js';
import type { Reading } from './reading.js';

export interface PrometheusClientOptions {
  /** Base URL, like http://prometheus:9090 (a path prefix such as /prometheus is kept). */
  url: string;
  fetch?: typeof fetch;
  bearerToken?: string | undefined;
  basicAuth?: { username: string; password: string } | undefined;
  /** Per request; Prometheus is also told to stop the query at this deadline. Default 10 s. */
  timeoutMs?: number;
  /** Tries per query, first included; default: the shared policy's (resilience.attempts, 3). */
  attempts?: number;
  /** Queries in flight at once; default 8. */
  concurrency?: number;
  logger?: Logger;
  /** Injected by tests; defaults to a real timer. */
  sleep?: Sleep;
  baseDelayMs?: number;
  /** The shared upstream policies (retries, circuit per Prometheus URL); a private one when absent. */
  resilience?: UpstreamResilience;
}

/** One series of an instant query: its labels and the value at the evaluation time. */
export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

/** One series of a range query. */
export interface RangeSeries {
  labels: Record<string, string>;
  /** [unix seconds, value] pairs in rising time order. */
  points: Array<[number, number]>;
}

interface ApiBody {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiBody | undefined,
    readonly retryAfter: string | null = null,
  ) {
    super(`HTTP ${status}`);
  }
}

/** A 2xx answer that is not the Prometheus HTTP API (a login page, a proxy's HTML, a UI route). */
class NotPrometheusAnswer extends Error {
  constructor(readonly contentType: string) {
    super(`answered with ${contentType}, not the Prometheus API`);
  }
}

/** Limits how many promises run at once; the rest wait in order. */
class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = Math.max(1, size);
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** Prometheus' text for a sample value: "NaN", "+Inf", "-Inf" or a decimal. */
function parseValue(text: unknown): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * Reads Prometheus over its HTTP API.
 *
 * @example
 * const prometheus = new PrometheusClient({ url: 'http://127.0.0.1:9090', bearerToken: token });
 * const reading = await prometheus.reading('sum(rate(errors[5m])) / sum(rate(requests[5m]))', at);
 * if (reading.kind === 'value') console.log(reading.value);
 */
export class PrometheusClient {
  /** The URL without credentials; safe to show and log. */
  readonly url: string;
  readonly #base: URL;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #semaphore: Semaphore;
  readonly #options: PrometheusClientOptions;
  /** Queries asked for (not counting retries), for benchmarks and logs. */
  queryCount = 0;
  /** Set when a query ran out of tries; until one succeeds, queries get one try, so a dead Prometheus fails fast. */
  #down = false;
  readonly #policy: UpstreamPolicy;

  constructor(options: PrometheusClientOptions) {
    this.#options = options;
    const base = new URL(options.url);
    let basic = options.basicAuth;
    // fetch refuses URLs with credentials in them; take them out and send them as a header.
    if (base.username || base.password) {
      basic ??= { username: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
      base.username = '';
      base.password = '';
    }
    if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
    this.#base = base;
    this.url = `${base.origin}${base.pathname.replace(/\/$/, '')}`;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#headers = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    if (options.bearerToken) this.#headers.authorization = `Bearer ${options.bearerToken}`;
    else if (basic) {
      this.#headers.authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
    }
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#semaphore = new Semaphore(options.concurrency ?? 8);
    const resilience =
      options.resilience ?? new UpstreamResilience(options.sleep ? { sleep: options.sleep } : {});
    this.#policy = resilience.policy({
      kind: 'prometheus',
      target: this.url,
      name: `Prometheus at ${this.url}`,
      unavailableCode: ErrorCode.PrometheusUnavailable,
      // The resilience: section's limits, unless the caller set its own (tests).
      limits: limitsFrom(options),
    });
  }

  /**
   * Instant query at `at`. A scalar result comes back as one sample without labels.
   *
   * @throws MillwrightError `millwright_prometheus_unavailable` or `millwright_prometheus_query_error`.
   */
  async query(promql: string, at: Date, signal?: AbortSignal): Promise<InstantSample[]> {
    const data = await this.#call('api/v1/query', { query: promql, time: unixSeconds(at) }, promql, signal);
    if (data.resultType === 'scalar' && Array.isArray(data.result)) {
      return [{ labels: {}, value: parseValue(data.result[1]) }];
    }
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      throw this.#queryError(promql, `expected a vector, got a ${String(data.resultType)}`);
    }
    return (data.result as Array<{ metric?: Record<string, string>; value?: [number, string] }>).map(
      (item) => ({
        labels: item.metric ?? {},
        value: parseValue(item.value?.[1]),
      }),
    );
  }

  /** Range query from `start` to `end` every `stepMs`. */
  async queryRange(
    promql: string,
    range: { start: Date; end: Date; stepMs: number },
    signal?: AbortSignal,
  ): Promise<RangeSeries[]> {
    const data = await this.#call(
      'api/v1/query_range',
      {
        query: promql,
        start: unixSeconds(range.start),
        end: unixSeconds(range.end),
        step: String(range.stepMs / 1000),
      },
      promql,
      signal,
    );
    if (data.resultType !== 'matrix' || !Array.isArray(data.result)) {
      throw this.#queryError(promql, `expected a matrix, got a ${String(data.resultType)}`);
    }
    return (data.result as Array<{ metric?: Record<string, string>; values?: Array<[number, string]> }>).map(
      (item) => ({
        labels: item.metric ?? {},
        points: (item.values ?? []).map(([t, v]) => [Number(t), parseValue(v)] as [number, number]),
      }),
    );
  }

  /**
   * One number from a query that returns at most one series, as a `Reading`: a value, `no_traffic`
   * (NaN, from 0/0), `no_data` (no series) or `unknown` (the query failed). Never throws for a
   * Prometheus failure, so callers can fail closed; a cancelled command still throws.
   */
  async reading(promql: string, at: Date, signal?: AbortSignal): Promise<Reading> {
    try {
      const samples = await this.query(promql, at, signal);
      return toReading(samples, promql);
    } catch (error) {
      if (signal?.aborted) throw error;
      return unknownReading(promql, error);
    }
  }

  async #call(
    path: string,
    params: Record<string, string>,
    promql: string,
    signal: AbortSignal | undefined,
  ): Promise<{ resultType?: string; result?: unknown }> {
    this.queryCount++;
    const url = new URL(path, this.#base);
    const body = new URLSearchParams({
      ...params,
      timeout: `${Math.max(1, Math.floor(this.#timeoutMs / 1000))}s`,
    });
    try {
      return await this.#semaphore.run(() =>
        this.#policy.call(
          async () => {
            const timeout = AbortSignal.timeout(this.#timeoutMs);
            const response = await this.#fetch(url, {
              method: 'POST',
              headers: this.#headers,
              body,
              signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
            });
            const parsed = (await response.json().catch(() => undefined)) as ApiBody | undefined;
            if (response.ok && typeof parsed?.status !== 'string') {
              const type = response.headers.get('content-type')?.split(';')[0]?.trim();
              throw new NotPrometheusAnswer(type || 'no content type');
            }
            if (!response.ok || parsed?.status !== 'success') {
              throw new HttpStatusError(response.status, parsed, response.headers.get('retry-after'));
            }
            this.#down = false;
            return parsed.data ?? {};
          },
          {
            // Queries are reads; after a query ran out of tries, the next gets one until one succeeds.
            idempotent: !this.#down,
            signal,
            transient: (error) =>
              error instanceof HttpStatusError
                ? isRetryableStatus(error.status)
                : isConnectionError(error) || isTimeout(error),
            retryAfterMs: (error) =>
              error instanceof HttpStatusError ? parseRetryAfter(error.retryAfter, new Date()) : undefined,
            onRetry: (error, attempt, delayMs) =>
              this.#options.logger?.warn(
                { prometheus: this.url, attempt, delayMs: Math.round(delayMs), reason: describe(error) },
                'prometheus query failed; retrying',
              ),
          },
        ),
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      const failure = this.#translate(error, promql);
      if (failure.code === ErrorCode.PrometheusUnavailable) this.#down = true;
      throw failure;
    }
  }

  #translate(error: unknown, promql: string): MillwrightError {
    if (error instanceof MillwrightError) return error;
    if (error instanceof NotPrometheusAnswer) {
      return new MillwrightError(
        ErrorCode.PrometheusUnavailable,
        `Prometheus at ${this.url} ${error.message}`,
        {
          hint: 'prometheus.url must be the server itself (like http://prometheus:9090), not a UI, login or proxy page',
          cause: error,
        },
      );
    }
    if (error instanceof HttpStatusError) {
      const detail = error.body?.error;
      if (error.status === 400 || error.status === 422) {
        return this.#queryError(promql, detail ?? `HTTP ${error.status}`, error);
      }
      if (error.status === 401 || error.status === 403) {
        return new MillwrightError(
          ErrorCode.PrometheusUnavailable,
          `Prometheus at ${this.url} refused the credentials (HTTP ${error.status})`,
          { hint: 'check prometheus.bearerToken or prometheus.basicAuth in millwright.yml', cause: error },
        );
      }
      return new MillwrightError(
        ErrorCode.PrometheusUnavailable,
        `Prometheus at ${this.url} is unavailable: HTTP ${error.status}${detail ? ` (${oneLine(detail)})` : ''}`,
        { hint: 'check that Prometheus is up; the answer is unknown until it is', cause: error },
      );
    }
    const reason = isTimeout(error) ? `no answer within ${this.#timeoutMs / 1000}s` : describe(error);
    return new MillwrightError(
      ErrorCode.PrometheusUnavailable,
      `Prometheus at ${this.url} is unavailable: ${reason}`,
      {
        hint: 'check that Prometheus is running and prometheus.url in millwright.yml points at it',
        cause: error,
      },
    );
  }

  #queryError(promql: string, detail: string, cause?: unknown): MillwrightError {
    return new MillwrightError(
      ErrorCode.PrometheusQueryError,
      `Prometheus rejected a query: ${oneLine(detail)}`,
      {
        hint: `check the PromQL: ${oneLine(promql).slice(0, 300)}`,
        details: { query: promql },
        ...(cause ? { cause } : {}),
      },
    );
  }
}

function unixSeconds(at: Date): string {
  return String(at.getTime() / 1000);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function isTimeout(error: unknown): boolean {
  // Duck-typed: the DOMException fetch throws may come from another realm (jest's vm modules).
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** A short reason for logs and messages: the connection error code when there is one. */
function describe(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
    if (typeof code === 'string' && !code.startsWith('millwright_')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof HttpStatusError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Maps an instant result to a reading: empty is no data, NaN is no traffic, one number is a value. */
export function toReading(samples: InstantSample[], query: string): Reading {
  if (samples.length === 0) return { kind: 'no_data', query };
  if (samples.length > 1) {
    return {
      kind: 'unknown',
      query,
      code: ErrorCode.PrometheusQueryError,
      message: `the query returned ${samples.length} series where one was expected; aggregate it with sum(...)`,
    };
  }
  const { value } = samples[0]!;
  if (Number.isNaN(value)) return { kind: 'no_traffic', query };
  if (!Number.isFinite(value)) {
    return {
      kind: 'unknown',
      query,
      code: ErrorCode.PrometheusQueryError,
      message: 'the error ratio is infinite: errors were counted with no total events; check totalQuery',
    };
  }
  return { kind: 'value', value };
}

/** The `unknown` reading for a failed query. */
export function unknownReading(query: string, error: unknown): Reading {
  const failure =
    error instanceof MillwrightError
      ? error
      : new MillwrightError(
          ErrorCode.PrometheusUnavailable,
          error instanceof Error ? error.message : String(error),
        );
  return { kind: 'unknown', query, code: failure.code, message: failure.message };
}
