// One retry and circuit-breaker policy for every upstream (Prometheus, Kubernetes, GitHub, Slack,
// Bot Connector, HTTP targets), built on cockatiel; one circuit per upstream target, time injected.
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type RetryPolicy,
  retry,
} from 'cockatiel';
import { type Clock, systemClock } from './clock.js';
import { ErrorCode, MillwrightError } from './errors.js';
import { abortableSleep } from './retry.js';

/** The kinds of upstream, the `upstream` label in `/metrics`. */
export type UpstreamKind = 'prometheus' | 'kubernetes' | 'github' | 'slack' | 'bot_connector' | 'http';

export type CircuitStateName = 'closed' | 'open' | 'half_open';

export interface UpstreamLimits {
  /** Tries for an idempotent read, first included; default 3. A write gets one, more only after a "not acted on" failure (429). */
  attempts?: number;
  /** First backoff in ms, doubled each retry, with jitter; default 200. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails at once and says when to retry. Default 10 s. */
  maxRetryAfterMs?: number;
  /** Consecutive failed calls (each after its retries) that open the circuit; default 5. */
  failureThreshold?: number;
  /** How long an open circuit fails fast before one probe is let through; default 30 s. */
  halfOpenAfterMs?: number;
}

export interface UpstreamResilienceOptions extends UpstreamLimits {
  clock?: Clock;
  /** Injected by tests so no test waits on a real timer; must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1); injected by tests. */
  random?: () => number;
}

/** What one upstream is, for messages, logs and metrics. */
export interface UpstreamTarget {
  kind: UpstreamKind;
  /** What identifies its circuit: a base URL, an API server, a service URL. Never holds credentials. */
  target: string;
  /** How a person names it, for "<name> is unavailable: …": "Prometheus at http://prom:9090". */
  name: string;
  /** The code a fast failure carries, so callers that branch on codes keep working. */
  unavailableCode?: ErrorCode | `millwright_${string}`;
  /** Overrides the registry's limits for this upstream (config, tests). */
  limits?: UpstreamLimits;
}

export interface CallOptions {
  /** Reads may be retried; writes never are (a retried POST can run twice), unless `notActedOn` says so. */
  idempotent: boolean;
  /**
   * A failure that proves the upstream did not act on the request (a 429 "rate limited", a refused
   * connection), so even a write may be sent again after the wait. Absent: writes are sent once.
   */
  notActedOn?: (error: unknown) => boolean;
  /** A failure that says the upstream is unwell (5xx, 429, reset, timeout): retried for reads and counted by the circuit. */
  transient: (error: unknown) => boolean;
  /** How long the upstream asked to be left alone (Retry-After on 429/503), in ms. */
  retryAfterMs?: (error: unknown) => number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Whether a failure counts against the upstream's circuit. Default: transient, unless `signal`
   * was aborted (a cancelled command says nothing about the upstream). Callers whose `signal` also
   * carries their deadline say here that running out of it does count (a hang).
   */
  counts?: (error: unknown) => boolean;
  /** Called before each wait; for logs. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** One upstream's policy: its circuit and its retries. */
export interface UpstreamPolicy {
  readonly upstream: UpstreamTarget;
  readonly state: CircuitStateName;
  /** When the circuit last opened, while it is open or half-open. */
  readonly openedAt: Date | undefined;
  /**
   * Runs `work` under the policy: fails fast with a one-line error while the circuit is open,
   * retries transient failures of idempotent calls with backoff and jitter (honouring Retry-After).
   *
   * @example
   * const body = await policy.call((attempt, signal) => getJson(url, signal), { idempotent: true, transient: isTransient, signal });
   */
  call<T>(work: (attempt: number, signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T>;
}

/** One row of `/metrics`. */
export interface UpstreamSnapshot {
  upstream: UpstreamKind;
  target: string;
  state: CircuitStateName;
}

const DEFAULTS: Required<UpstreamLimits> = {
  attempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
  failureThreshold: 5,
  halfOpenAfterMs: 30_000,
};

const neverAborted = new AbortController().signal;

/**
 * The registry of upstream policies: one per (kind, target), created on first use and shared by
 * every client of that upstream, so a dead Prometheus fails fast for every command at once.
 *
 * @example
 * const resilience = new UpstreamResilience({ clock });
 * const policy = resilience.policy({ kind: 'prometheus', target: url, name: `Prometheus at ${url}` });
 */
export class UpstreamResilience {
  readonly #options: UpstreamResilienceOptions;
  readonly #policies = new Map<string, CockatielUpstreamPolicy>();
  readonly #retries = new Map<UpstreamKind, number>();
  readonly #opened = new Map<UpstreamKind, number>();

  constructor(options: UpstreamResilienceOptions = {}) {
    this.#options = options;
  }

  policy(upstream: UpstreamTarget): UpstreamPolicy {
    const key = `${upstream.kind} ${upstream.target}`;
    let policy = this.#policies.get(key);
    if (!policy) {
      const limits = { ...DEFAULTS, ...definedOnly(this.#options), ...definedOnly(upstream.limits ?? {}) };
      policy = new CockatielUpstreamPolicy(upstream, limits, {
        clock: this.#options.clock ?? systemClock,
        sleep: this.#options.sleep ?? abortableSleep,
        random: this.#options.random ?? Math.random,
        countRetry: () => this.#retries.set(upstream.kind, (this.#retries.get(upstream.kind) ?? 0) + 1),
        countOpen: () => this.#opened.set(upstream.kind, (this.#opened.get(upstream.kind) ?? 0) + 1),
      });
      this.#policies.set(key, policy);
    }
    return policy;
  }

  /** Every circuit's state, for the `millwright_upstream_circuit_state` gauge. */
  circuits(): UpstreamSnapshot[] {
    return [...this.#policies.values()].map((policy) => ({
      upstream: policy.upstream.kind,
      target: policy.upstream.target,
      state: policy.state,
    }));
  }

  /** Retries waited for, by upstream kind, since start. */
  retries(): ReadonlyMap<UpstreamKind, number> {
    return this.#retries;
  }

  /** Times a circuit opened, by upstream kind, since start. */
  opened(): ReadonlyMap<UpstreamKind, number> {
    return this.#opened;
  }
}

interface PolicyIo {
  clock: Clock;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  countRetry: () => void;
  countOpen: () => void;
}

class CockatielUpstreamPolicy implements UpstreamPolicy {
  readonly upstream: UpstreamTarget;
  readonly #limits: Required<UpstreamLimits>;
  readonly #io: PolicyIo;
  readonly #breaker: CircuitBreakerPolicy;
  #openedAt: Date | undefined;
  /** Failures their caller called transient; only these count towards opening the circuit. */
  readonly #transient = new WeakSet<object>();

  constructor(upstream: UpstreamTarget, limits: Required<UpstreamLimits>, io: PolicyIo) {
    this.upstream = upstream;
    this.#limits = limits;
    this.#io = io;
    this.#breaker = circuitBreaker(
      handleWhen((error) => this.#transient.has(error)),
      {
        breaker: new ConsecutiveBreaker(limits.failureThreshold),
        halfOpenAfter: new ClockHalfOpen(io.clock, limits.halfOpenAfterMs),
      },
    );
    this.#breaker.onBreak(() => {
      this.#openedAt = io.clock.now();
      io.countOpen();
    });
    this.#breaker.onReset(() => {
      this.#openedAt = undefined;
    });
  }

  get state(): CircuitStateName {
    switch (this.#breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      default:
        return 'open';
    }
  }

  get openedAt(): Date | undefined {
    return this.#openedAt;
  }

  async call<T>(
    work: (attempt: number, signal: AbortSignal) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const signal = options.signal ?? neverAborted;
    try {
      // The circuit counts calls, not attempts: a read that fails after its retries is one failure.
      return await this.#breaker.execute(() => this.#withRetries(work, options, signal), signal);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw this.#openError();
      throw error;
    }
  }

  async #withRetries<T>(
    work: (attempt: number, signal: AbortSignal) => Promise<T>,
    options: CallOptions,
    signal: AbortSignal,
  ): Promise<T> {
    let lastError: unknown;
    let plannedDelayMs = 0;
    let lastRetryNumber = 0;
    // A circuit that is not closed runs a call only as its half-open probe: one request, never a
    // burst of retries. (cockatiel still reports Open while it starts the probe.)
    const probing = this.#breaker.state !== CircuitState.Closed;
    const retriable = options.idempotent || options.notActedOn !== undefined;
    const attempts = retriable && !probing ? Math.max(1, this.#limits.attempts) : 1;
    const retrying: RetryPolicy = retry(
      handleWhen((error) => {
        if (signal.aborted || !options.transient(error)) return false;
        if (!options.idempotent && !options.notActedOn?.(error)) return false;
        const asked = options.retryAfterMs?.(error);
        // An upstream that asks for longer than we would wait gets no retry; the error says when.
        if (asked !== undefined && asked > this.#limits.maxRetryAfterMs) return false;
        plannedDelayMs = asked ?? this.#backoff(lastRetryNumber + 1);
        return true;
      }),
      // The wait happens inside the attempt, on the injected (abortable) timer, not cockatiel's.
      { maxAttempts: attempts - 1 },
    );
    retrying.onRetry(({ attempt }) => {
      lastRetryNumber = attempt;
      this.#io.countRetry();
      options.onRetry?.(lastError, attempt, plannedDelayMs);
    });
    return await retrying.execute(async ({ attempt }) => {
      if (attempt > 0) await this.#io.sleep(plannedDelayMs, signal);
      try {
        return await work(attempt + 1, signal);
      } catch (error) {
        lastError = error;
        const counts = options.counts ? options.counts(error) : !signal.aborted && options.transient(error);
        if (counts && isObject(error)) this.#transient.add(error);
        throw error;
      }
    }, signal);
  }

  #backoff(retryNumber: number): number {
    const { baseDelayMs, maxDelayMs } = this.#limits;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** (retryNumber - 1)) * (0.5 + this.#io.random() / 2);
  }

  #openError(): MillwrightError {
    const since = this.#openedAt ?? this.#io.clock.now();
    const next = new Date(since.getTime() + this.#limits.halfOpenAfterMs);
    return new MillwrightError(
      this.upstream.unavailableCode ?? ErrorCode.DependencyUnavailable,
      `${this.upstream.name} is unavailable: circuit open since ${clockTime(since)}, next try ${clockTime(next)}`,
      {
        hint: `${this.#limits.failureThreshold} calls in a row failed; Millwright will not call it before then, so check that it is up`,
        details: {
          upstream: this.upstream.kind,
          target: this.upstream.target,
          openedAt: since.toISOString(),
        },
      },
    );
  }
}

/**
 * cockatiel times its half-open wait with Date.now(); this backoff answers "still open?" from the
 * injected clock instead (an infinite duration while waiting, minus infinity once due).
 */
class ClockHalfOpen implements IBackoffFactory<unknown> {
  constructor(
    private readonly clock: Clock,
    private readonly afterMs: number,
  ) {}

  next(): IBackoff<unknown> {
    const due = this.clock.now().getTime() + this.afterMs;
    const clock = this.clock;
    return {
      get duration() {
        return clock.now().getTime() >= due ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      },
      next: () => this.next(),
    };
  }
}

/**
 * A Retry-After header (delay-seconds or an HTTP date) in milliseconds from `now`; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** `12:03:07 UTC`: short enough for a one-line error. */
function clockTime(at: Date): string {
  return `${at.toISOString().slice(11, 19)} UTC`;
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/**
 * The limits a client was given explicitly (its `retries` option), leaving the rest to the registry
 * (the `resilience:` section).
 *
 * @example
 * resilience.policy({ kind: 'github', target, name, limits: limitsFrom({ attempts: options.retries?.attempts }) });
 */
export function limitsFrom(given: UpstreamLimits): UpstreamLimits {
  return definedOnly(given);
}

function definedOnly(limits: UpstreamLimits): UpstreamLimits {
  const picked: UpstreamLimits = {};
  for (const key of Object.keys(DEFAULTS) as Array<keyof UpstreamLimits>) {
    const value = limits[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}
