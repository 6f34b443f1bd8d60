// Bounded retries with exponential backoff and jitter, for reads against flaky dependencies
// (Prometheus, the Kubernetes API, GitHub). Writes are retried only when the caller says so.

export interface RetryOptions {
  /** Total attempts including the first; default 3. */
  attempts?: number;
  /** First backoff in ms, doubled each time; default 200. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Whether this failure is worth another try (5xx, connection reset, timeout). */
  retryable: (error: unknown) => boolean;
  signal?: AbortSignal;
  /** Called before each wait; for logs. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injected for tests; defaults to a real timer that honours `signal`. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `work` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 *
 * @example
 * const body = await withRetries(() => fetchJson(url), { retryable: isTransient, attempts: 3 });
 */
export async function withRetries<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !options.retryable(error)) throw error;
      const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** HTTP statuses worth retrying for a read: 429 and 5xx other than 501. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Connection-level failures (reset, refused, timed out), looking through `cause` chains. */
export function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    if (current instanceof TypeError && current.message === 'fetch failed') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
