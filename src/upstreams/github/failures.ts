// Turns what GitHub answered (or did not) into one MillwrightError a person can act on, naming the
// repository and the thing asked for, with the upstream status kept in `details.status`.
import { formatDuration } from '../../core/duration.js';
import { ErrorCode, MillwrightError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import { formatAbsolute } from '../../core/time.js';

/** What was being asked of GitHub, for the messages. */
export interface GitHubOperation {
  /** In the SRE's words: "list deployments", "dispatch workflow deploy.yml". */
  verb: string;
  owner: string;
  repo: string;
  /** The thing inside the repository a 404 is about: "workflow deploy.yml", "workflow run 42". */
  subject?: string;
  /** Writes are never repeated, and their failures say the change may or may not have happened. */
  write: boolean;
  /**
   * The repository permission GitHub's docs name for the endpoint (read for reads, write for writes),
   * so a 403 says which one the token lacks.
   */
  permission: 'actions' | 'contents' | 'deployments';
  /** The caller's signal and deadline, to tell a deadline from a cancellation. */
  signal?: AbortSignal;
  deadline?: Date;
}

interface FailureContext {
  now: Date;
  attempts: number | undefined;
  baseUrl: string;
}

interface GitHubErrorBody {
  message?: unknown;
  errors?: unknown;
  documentation_url?: unknown;
}

/**
 * The error for a used-up primary rate limit: "GitHub rate limit reached; resets at 14:05 UTC (in 12m)".
 *
 * @example
 * throw rateLimitError(new Date('2026-11-26T14:05:00Z'), new Date('2026-11-26T13:53:00Z'), { resource: 'core' });
 */
export function rateLimitError(
  resetAt: Date,
  now: Date,
  extra: { resource?: string; limit?: string | undefined; status?: number; cause?: unknown } = {},
): MillwrightError {
  const wait = Math.max(0, resetAt.getTime() - now.getTime());
  const clockTime = formatAbsolute(resetAt, 'UTC').slice(11);
  const relative = wait < 60_000 ? 'in under a minute' : `in ${formatDuration(wait)}`;
  return new MillwrightError(
    ErrorCode.RateLimited,
    `GitHub rate limit reached; resets at ${clockTime} (${relative})`,
    {
      hint: `Millwright will not call GitHub again until then; a GitHub App token has a higher limit${
        extra.limit ? ` than this one (${extra.limit}/h)` : ''
      }`,
      details: {
        resetAt: resetAt.toISOString(),
        resource: extra.resource ?? 'core',
        ...(extra.status === undefined ? {} : { status: extra.status }),
      },
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    },
  );
}

/**
 * The used-up primary rate limit GitHub's `x-ratelimit-*` headers describe (an hour from now when
 * they name no reset).
 *
 * @example
 * throw rateLimitFromHeaders(response.headers, clock.now(), { status: 403 });
 */
export function rateLimitFromHeaders(
  headers: Record<string, unknown>,
  now: Date,
  extra: { status?: number; cause?: unknown } = {},
): MillwrightError {
  const reset = Number(headers['x-ratelimit-reset']);
  const resetAt = Number.isFinite(reset) ? new Date(reset * 1000) : new Date(now.getTime() + 3_600_000);
  return rateLimitError(resetAt, now, {
    resource: String(headers['x-ratelimit-resource'] ?? 'core'),
    limit: headers['x-ratelimit-limit'] === undefined ? undefined : String(headers['x-ratelimit-limit']),
    ...extra,
  });
}

/** A repository GitHub does not show this token: it does not exist, or the token cannot see it. */
export function repositoryNotFound(
  where: string,
  extra: { details?: Record<string, unknown>; cause?: unknown } = {},
): MillwrightError {
  return new MillwrightError(
    ErrorCode.NotFound,
    `repository ${where} not found, or the token cannot see it`,
    {
      hint: 'check the owner/repo spelling, and that github.token has access to it',
      ...extra,
    },
  );
}

/**
 * Maps any failure from an Octokit call to a MillwrightError.
 *
 * @example
 * catch (error) { throw describeGitHubFailure(error, { verb: 'list deployments', owner, repo, write: false, permission: 'deployments' }, ctx) }
 */
export function describeGitHubFailure(
  error: unknown,
  operation: GitHubOperation,
  context: FailureContext,
): MillwrightError {
  const where = `${operation.owner}/${operation.repo}`;
  if (operation.signal?.aborted) return abortedError(operation, where, error);
  if (error instanceof MillwrightError) return error;

  const status = (error as { status?: unknown }).status;
  const response = (error as { response?: { headers?: Record<string, unknown>; data?: unknown } }).response;
  if (typeof status !== 'number' || response === undefined) {
    // No answer at all: refused connection, DNS, TLS.
    const reason = redactText(oneLine(causeMessage(error)));
    return new MillwrightError(
      ErrorCode.DependencyUnavailable,
      `cannot reach GitHub at ${context.baseUrl} to ${operation.verb} in ${where}: ${reason}${attemptsNote(context)}`,
      {
        hint: operation.write
          ? 'not repeated, since it may have reached GitHub; check there before trying again'
          : 'check github.baseUrl and the network path to GitHub',
        cause: error,
      },
    );
  }

  const headers = response.headers ?? {};
  const body = (
    typeof response.data === 'object' && response.data !== null ? response.data : {}
  ) as GitHubErrorBody;
  const said = githubMessage(body, response.data);
  const details = { status, requestId: headers['x-github-request-id'] };

  if ((status === 403 || status === 429) && String(headers['x-ratelimit-remaining']) === '0') {
    return rateLimitFromHeaders(headers, context.now, { status, cause: error });
  }
  if (
    (status === 403 || status === 429) &&
    (headers['retry-after'] !== undefined || /secondary rate limit/i.test(said))
  ) {
    const seconds = Number(headers['retry-after'] ?? 60);
    return new MillwrightError(
      ErrorCode.RateLimited,
      `GitHub secondary rate limit hit while trying to ${operation.verb} in ${where}; retry after ${formatDuration(seconds * 1000)}`,
      { hint: 'too many requests at once; wait, then try again once', details, cause: error },
    );
  }

  switch (status) {
    case 401:
      return new MillwrightError(
        ErrorCode.UpstreamError,
        `GitHub rejected the token (401 ${said || 'Bad credentials'})`,
        {
          hint: 'set github.token (usually from the GITHUB_TOKEN environment variable) to a valid, unexpired token',
          details,
          cause: error,
        },
      );
    case 403:
      return new MillwrightError(
        ErrorCode.UpstreamError,
        `GitHub refused to ${operation.verb} in ${where}: ${said}`,
        {
          hint: `check that github.token may ${operation.write ? 'write' : 'read'} ${operation.permission} in ${where} (fine-grained tokens and GitHub Apps need the repository permission ${operation.permission}: ${operation.write ? 'write' : 'read'})`,
          details,
          cause: error,
        },
      );
    case 404: {
      if (!operation.subject) return repositoryNotFound(where, { details, cause: error });
      return new MillwrightError(
        ErrorCode.NotFound,
        `${operation.subject} not found in ${where}, or the token cannot see it`,
        {
          hint: `check the name, and that github.token can read ${where}`,
          details,
          cause: error,
        },
      );
    }
    case 409:
      return new MillwrightError(
        ErrorCode.UpstreamError,
        `GitHub refused to ${operation.verb} in ${where}: ${said}`,
        {
          hint: /status checks/i.test(said)
            ? 'wait for the commit status checks to pass, or name the ones that must (requiredContexts)'
            : 'resolve the conflict on GitHub, then try again',
          details,
          cause: error,
        },
      );
    case 422:
      if (operation.subject && /no commit found/i.test(said)) {
        return new MillwrightError(ErrorCode.NotFound, `${operation.subject} not found in ${where}`, {
          hint: 'check that the branch, tag or sha exists on GitHub',
          details,
          cause: error,
        });
      }
      return new MillwrightError(
        ErrorCode.UpstreamError,
        `GitHub refused to ${operation.verb} in ${where}: ${said}`,
        {
          hint: hintFor422(said),
          details,
          cause: error,
        },
      );
    default:
      break;
  }
  if (status >= 500) {
    return new MillwrightError(
      ErrorCode.DependencyUnavailable,
      `GitHub answered ${status} to ${operation.verb} in ${where}${attemptsNote(context)}${
        operation.write ? '; not repeated, since the change may have been made' : ''
      }`,
      {
        hint: operation.write
          ? `check ${where} on GitHub before trying again; see https://www.githubstatus.com`
          : 'GitHub may be having trouble (https://www.githubstatus.com); try again in a few minutes',
        details,
        cause: error,
      },
    );
  }
  return new MillwrightError(
    ErrorCode.UpstreamError,
    `GitHub answered ${status} to ${operation.verb} in ${where}${said ? `: ${said}` : ''}`,
    { details, cause: error },
  );
}

function abortedError(operation: GitHubOperation, where: string, cause: unknown): MillwrightError {
  const reason = operation.signal?.reason as { name?: unknown; code?: unknown } | undefined;
  const pastDeadline = operation.deadline !== undefined && Date.now() >= operation.deadline.getTime();
  const timedOut = pastDeadline || reason?.name === 'TimeoutError' || reason?.code === ErrorCode.Timeout;
  const unsure = operation.write ? '; the change may or may not have been made, check GitHub' : '';
  return timedOut
    ? new MillwrightError(
        ErrorCode.Timeout,
        `GitHub did not finish "${operation.verb}" in ${where} before the deadline${unsure}`,
        {
          hint: 'GitHub may be slow; try again, or give the step a longer timeout',
          cause,
        },
      )
    : new MillwrightError(
        ErrorCode.Cancelled,
        `cancelled while asking GitHub to ${operation.verb} in ${where}${unsure}`,
        {
          cause,
        },
      );
}

/** GitHub's own words, on one line: the message, plus each validation error it listed. */
function githubMessage(body: GitHubErrorBody, raw: unknown): string {
  const base = typeof body.message === 'string' ? body.message : typeof raw === 'string' ? raw : '';
  const errors = Array.isArray(body.errors) ? body.errors.map(describeValidationError).filter(Boolean) : [];
  const text = errors.length > 0 ? `${base} (${errors.join('; ')})` : base;
  return redactText(oneLine(text)).slice(0, 300);
}

function describeValidationError(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (entry === null || typeof entry !== 'object') return '';
  const { message, field, code, resource } = entry as Record<string, unknown>;
  if (typeof message === 'string') return message;
  return [resource, field, code].filter((part) => typeof part === 'string').join(' ');
}

function hintFor422(said: string): string {
  if (/no (ref|commit) found/i.test(said)) return 'check that the branch, tag or sha exists on GitHub';
  if (/workflow_dispatch/i.test(said))
    return 'the workflow needs an `on: workflow_dispatch` trigger on that ref';
  if (/input/i.test(said)) return "match the inputs to the workflow's on.workflow_dispatch.inputs";
  return 'fix what GitHub named, then try again';
}

function attemptsNote(context: FailureContext): string {
  return context.attempts !== undefined && context.attempts > 1
    ? ` (after ${context.attempts} attempts)`
    : '';
}

function causeMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { cause?: { code?: unknown } })?.cause?.code ?? (cause as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (${code})` : message;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
