// The MillwrightError family: every failure a person can see carries a stable code, a one-line
// message they can act on, a hint, and the cause for the logs.

/** Stable error codes. Add new ones; never rename a shipped one. */
export const ErrorCode = {
  BadArgument: 'millwright_bad_argument',
  UnknownCommand: 'millwright_unknown_command',
  PermissionDenied: 'millwright_permission_denied',
  NotConfigured: 'millwright_not_configured',
  ConfigInvalid: 'millwright_config_invalid',
  StoreUnavailable: 'millwright_store_unavailable',
  StoreCorrupt: 'millwright_store_corrupt',
  /** Another process holds store.path; the message names it (pid, host, since when). */
  StoreLocked: 'millwright_store_locked',
  AuditUnavailable: 'millwright_audit_unavailable',
  AuditBroken: 'millwright_audit_broken',
  NotFound: 'millwright_not_found',
  Timeout: 'millwright_timeout',
  DependencyUnavailable: 'millwright_dependency_unavailable',
  Cancelled: 'millwright_cancelled',
  /** Stopped by the process's own shutdown (SIGTERM) or an interrupt (Ctrl-C); audited as `aborted`. */
  Aborted: 'millwright_aborted',
  Internal: 'millwright_internal',
  /** An outside system (GitHub, an HTTP target) refused or failed a call; `details.status` has its HTTP status. */
  UpstreamError: 'millwright_upstream_error',
  /** An outside system's rate limit is used up; the message says when it resets. */
  RateLimited: 'millwright_rate_limited',
  /** Prometheus is down, timed out or refused the credentials; SLO numbers are unknown until it answers. */
  PrometheusUnavailable: 'millwright_prometheus_unavailable',
  /** Prometheus rejected a query (bad PromQL, or it could not be executed). */
  PrometheusQueryError: 'millwright_prometheus_query_error',
  /** Prometheus's history begins after the start of a window evaluated in the past (`budget at=`): not covered. */
  HistoryNotCovered: 'millwright_history_not_covered',
  /** An SLO file or spec is invalid, or uses a form Millwright cannot import. */
  SloInvalid: 'millwright_slo_invalid',
  /** The target is in a state the change cannot start from (a paused deployment, no earlier revision). */
  PreconditionFailed: 'millwright_precondition_failed',
  /** A watched rollout failed (ProgressDeadlineExceeded, ReplicaFailure): `deploys SERVICE --watch`. */
  RolloutFailed: 'millwright_rollout_failed',
  /** Typed text held a secret (a config value, a token shape); nothing was stored or run. */
  SecretDetected: 'millwright_secret_detected',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface MillwrightErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra structured fields for logs (never shown to users verbatim). */
  details?: Record<string, unknown>;
}

/**
 * An error a person can act on.
 *
 * @example
 * throw new MillwrightError(ErrorCode.BadArgument, 'n must be a whole number, got "ten"', { hint: 'try: audit n=10' });
 */
export class MillwrightError extends Error {
  readonly code: ErrorCode | `millwright_${string}`;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode | `millwright_${string}`,
    message: string,
    options: MillwrightErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MillwrightError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

/** A bad argument; `field` names the argument so forms can show the error next to it. */
export function badArgument(message: string, hint?: string, field?: string): MillwrightError {
  return new MillwrightError(ErrorCode.BadArgument, message, {
    ...(hint === undefined ? {} : { hint }),
    ...(field === undefined ? {} : { details: { field } }),
  });
}

/**
 * The reason a whole process stops its running work: passed to `AbortController.abort` so every
 * layer (router, executor host, runbook engine) can tell a shutdown from a deadline or a cancel.
 *
 * @example
 * stop.abort(new StopRequested('Millwright is shutting down (SIGTERM)'));
 */
export class StopRequested extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'StopRequested';
  }
}

/** Whether a signal was aborted by a `StopRequested` (shutdown, interrupt). */
export function stoppedBy(signal: AbortSignal | undefined): StopRequested | undefined {
  return signal?.aborted && signal.reason instanceof StopRequested ? signal.reason : undefined;
}

export function isMillwrightError(value: unknown): value is MillwrightError {
  return value instanceof MillwrightError;
}

/**
 * Normalises anything thrown into a MillwrightError. Unknown failures become
 * `millwright_internal` and keep the original as `cause` for the log line.
 */
export function asMillwrightError(value: unknown): MillwrightError {
  if (value instanceof MillwrightError) return value;
  if (isAbortError(value)) {
    return new MillwrightError(ErrorCode.Cancelled, 'the operation was cancelled', { cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new MillwrightError(ErrorCode.Internal, message, { cause: value });
}

function isAbortError(value: unknown): boolean {
  return value instanceof Error && (value.name === 'AbortError' || value.name === 'TimeoutError');
}
