// Millwright's side of the GitHub App: webhook signatures checked with @octokit/webhooks (through
// @octokit/app), installation tokens from @octokit/app's JWT exchange, and the review of a
// deployment protection rule, each call through the shared resilience policy for GitHub.
import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UpstreamPolicy, UpstreamResilience } from '../core/resilience.js';
import { gitHubRetryAfterMs, gitHubStatusOf, isTransientGitHubFailure } from '../upstreams/github/index.js';

export interface GitHubAppClientOptions {
  appId: number;
  privateKey: string;
  webhookSecret: string;
  /** REST API root (https://api.github.com, a GHES /api/v3 root, or a test double). */
  baseUrl: string;
  timeoutMs: number;
  resilience: UpstreamResilience;
  clock: Clock;
  logger: Logger;
  /** Injected for tests and proxies; the global fetch otherwise. */
  fetch?: typeof globalThis.fetch;
}

/** One review of a deployment protection rule: the run's callback, as the installation. */
export interface Review {
  installationId: number;
  /** `owner/name`. */
  repository: string;
  runId: number;
  environment: string;
  /** Absent: a comment alone, which leaves the rule pending (GitHub shows it on the run). */
  state?: 'approved' | 'rejected';
  comment: string;
}

/** GitHub's comment field takes a few thousand characters; longer explanations are cut with a pointer. */
const MAX_COMMENT = 4_000;

/**
 * The App as Millwright uses it.
 *
 * @example
 * const github = new GitHubAppClient({ appId: 1, privateKey, webhookSecret, baseUrl, timeoutMs: 10_000, resilience, clock, logger });
 * if (!(await github.verify(body, req.headers['x-hub-signature-256']))) return 401;
 * await github.checkInstallation(42);
 * await github.review({ installationId: 42, repository: 'acme/shop', runId: 7, environment: 'production', state: 'approved', comment });
 */
export class GitHubAppClient {
  readonly #app: App;
  readonly #policy: UpstreamPolicy;

  constructor(private readonly options: GitHubAppClientOptions) {
    const { timeoutMs, logger } = options;
    const base = options.fetch ?? globalThis.fetch;
    // Every request is cut at the timeout; the token exchange inside @octokit/auth-app takes no signal.
    const fetch: typeof globalThis.fetch = (input, init) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      return base(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
      });
    };
    this.#app = new App({
      appId: options.appId,
      privateKey: options.privateKey,
      webhooks: { secret: options.webhookSecret },
      Octokit: Octokit.defaults({ baseUrl: options.baseUrl, userAgent: 'millwright', request: { fetch } }),
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => logger.warn({ github: String(message) }, 'github app warning'),
        error: (message: string) => logger.debug({ github: String(message) }, 'github app request failed'),
      },
    });
    this.#policy = options.resilience.policy({
      kind: 'github',
      target: options.baseUrl,
      name: `GitHub at ${options.baseUrl}`,
      unavailableCode: ErrorCode.DependencyUnavailable,
    });
  }

  /** Whether `body` carries GitHub's signature under the webhook secret (X-Hub-Signature-256). */
  async verify(body: string, signature: string | undefined): Promise<boolean> {
    if (!signature || body === '') return false;
    return this.#app.webhooks.verify(body, signature);
  }

  /**
   * Exchanges the App's JWT for an installation token (cached until shortly before it expires), which
   * proves GitHub knows the installation. A 404 is `millwright_not_found`; anything else after
   * bounded retries is `millwright_dependency_unavailable`.
   */
  async checkInstallation(installationId: number): Promise<void> {
    await this.#call(
      `an installation token for installation ${installationId}`,
      async () => {
        const octokit = await this.#installation(installationId);
        await octokit.auth({ type: 'installation' });
      },
      (error) => {
        if (gitHubStatusOf(error) === 404)
          return new MillwrightError(
            ErrorCode.NotFound,
            `GitHub knows no installation ${installationId} of App ${this.options.appId}`,
            { hint: 'install the App on the repository, or check githubApp.appId', cause: error },
          );
        return undefined;
      },
    );
  }

  /**
   * Approves or rejects the rule through the run's callback. Retried when GitHub did not answer or
   * answered 5xx: a rule is reviewed once, so a review repeated after a lost answer is refused with
   * 422, which counts as done when an earlier try of this review got no answer.
   */
  async review(review: Review): Promise<void> {
    const [owner, repo] = review.repository.split('/') as [string, string];
    let unanswered = false;
    await this.#call(`the review of ${review.repository} run ${review.runId}`, async () => {
      const octokit = await this.#installation(review.installationId);
      try {
        await octokit.request('POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule', {
          owner,
          repo,
          run_id: review.runId,
          environment_name: review.environment,
          ...(review.state ? { state: review.state } : {}),
          comment: cut(review.comment),
        });
      } catch (error) {
        const status = gitHubStatusOf(error);
        if (status === 422 && unanswered) return;
        if (status === undefined || status >= 500) unanswered = true;
        throw error;
      }
    });
  }

  #installation(installationId: number) {
    return this.#app.getInstallationOctokit(installationId);
  }

  async #call(
    what: string,
    work: () => Promise<void>,
    known: (error: unknown) => MillwrightError | undefined = () => undefined,
  ): Promise<void> {
    const now = () => this.options.clock.now();
    let attempts = 0;
    try {
      await this.#policy.call(
        () => {
          attempts++;
          return work();
        },
        {
          idempotent: true,
          transient: (error) =>
            isTransientGitHubFailure(error) ||
            timedOut(error) ||
            gitHubRetryAfterMs(error, now()) !== undefined,
          retryAfterMs: (error) => gitHubRetryAfterMs(error, now()),
          onRetry: (error, attempt, delayMs) =>
            this.options.logger.warn(
              { status: gitHubStatusOf(error), attempt, delayMs: Math.round(delayMs) },
              `GitHub App call failed (${what}); retrying`,
            ),
        },
      );
    } catch (error) {
      const mapped = known(error);
      if (mapped) throw mapped;
      if (error instanceof MillwrightError) throw error;
      const status = gitHubStatusOf(error);
      const answer = timedOut(error)
        ? `no answer within ${formatDuration(this.options.timeoutMs)}`
        : status !== undefined && (error as { response?: unknown }).response !== undefined
          ? `HTTP ${status}: ${messageOf(error)}`
          : messageOf(error);
      throw new MillwrightError(
        ErrorCode.DependencyUnavailable,
        `GitHub at ${this.options.baseUrl} refused ${what}: ${answer} (after ${attempts} ${attempts === 1 ? 'try' : 'tries'})`,
        {
          hint: 'check the App (id, key, permissions "Deployments" and "Actions") and GitHub\'s status',
          cause: error,
        },
      );
    }
  }
}

function timedOut(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if ((current as { name?: unknown }).name === 'TimeoutError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function messageOf(error: unknown): string {
  const data = (error as { response?: { data?: { message?: unknown } } }).response?.data;
  const message = typeof data?.message === 'string' ? data.message : (error as Error).message;
  return String(message).split('\n', 1)[0] ?? 'failed';
}

function cut(comment: string): string {
  return comment.length <= MAX_COMMENT
    ? comment
    : `${comment.slice(0, MAX_COMMENT - 40)}\n… (cut; see the change in chat)`;
}
