// GitHub custom deployment protection rules, answered by the policy gate: a requested rule becomes a
// change of kind `deployment` filed through the change service, and the run's callback is told
// approved or rejected once the change is decided, now or after a person's approval in chat.
import { createHash } from 'node:crypto';
import type { ChangeService } from '../changes/change-service.js';
import type { ServiceCatalog } from '../changes/workloads.js';
import type { AuditLog } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { asMillwrightError, ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { answerFor, type GateAnswer, type GateAwaitingApproval, ruleLines } from '../gates/index.js';
import type { Store } from '../store/store.js';
import type { GitHubAppClient } from './app-client.js';
import type { GitHubAppConfig } from './config.js';
import { serviceFor } from './mapping.js';
import { type ProtectionRuleRequested, runIdOf } from './payload.js';
import { DELIVERIES, type DeliveryRecord, REVIEWS, type ReviewRecord } from './records.js';

const SURFACE = 'github';
/** How long one sender holds a review, or a taken delivery its claim, before another replica (or a restart) may. */
const CLAIM_MS = 5 * 60_000;
/** Sends of one review (each with the resilience policy's tries) before it is left `failed` for good. */
const MAX_SENDS = 8;
/** The wait before a failed review is sent again: 1, 2, 4 ... minutes, at most an hour (about 4 h in all). */
const retryDelayMs = (sends: number) => Math.min(60_000 * 2 ** Math.max(sends - 1, 0), 3_600_000);
/** How often the reviews still owed are looked at while serving. */
const SWEEP_EVERY_MS = 60_000;

/** GitHub cuts a webhook delivery after 10 s; the check before the answer must end sooner. */
const ADMIT_WITHIN_MS = 8_000;

/** `work`, or a `millwright_timeout` when it takes longer than `ms` (the work itself runs on). */
async function withinDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MillwrightError(ErrorCode.Timeout, message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The pipeline name a repository's deployments carry on their change. */
export const pipelineOf = (repository: string) => `github:${repository}`;

export interface DeploymentProtectionOptions {
  config: GitHubAppConfig;
  catalog: ServiceCatalog;
  changes: ChangeService;
  github: GitHubAppClient;
  store: Store;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  events?: EventBus;
  /** Scrubs what goes to GitHub: a comment quotes the payload (environment, login), which could hold anything. */
  scrub?: (text: string) => string;
  /** How long the installation check may take before GitHub is answered 503; default 8 s (GitHub waits 10). */
  admitWithinMs?: number;
}

/** Where a review goes: the run's callback, as the installation that was asked. */
type ReviewTarget = Pick<
  ReviewRecord,
  'delivery' | 'installationId' | 'repository' | 'runId' | 'environment'
>;

/** How a delivery was taken: acted on, a replay of one already taken, or refused before acting. */
export type Admission =
  | { status: 'accepted' }
  | { status: 'duplicate'; change?: string }
  | { status: 'unknown-installation'; error: MillwrightError }
  | { status: 'unavailable'; error: MillwrightError };

/**
 * Answers deployment protection rules.
 *
 * @example
 * const admitted = await rules.admit('72d3162e-...', payload, ref);
 * if (admitted.status === 'accepted') track(rules.act('72d3162e-...', payload, ref));
 */
export class DeploymentProtection {
  constructor(private readonly options: DeploymentProtectionOptions) {}

  /** Whether a delivery's body carries GitHub's signature (X-Hub-Signature-256) under the webhook secret. */
  verify(body: string, signature: string | undefined): Promise<boolean> {
    return this.options.github.verify(body, signature);
  }

  /**
   * Before GitHub is answered: the installation must be one GitHub knows (an installation token is
   * handed out), and the delivery id must be new to the store. Nothing is filed here.
   */
  async admit(delivery: string, payload: ProtectionRuleRequested, ref: string): Promise<Admission> {
    const args = this.#args(delivery, payload);
    try {
      await withinDeadline(
        this.options.github.checkInstallation(payload.installation.id),
        this.options.admitWithinMs ?? ADMIT_WITHIN_MS,
        `GitHub did not hand out a token for installation ${payload.installation.id} in time to answer the webhook`,
      );
    } catch (error) {
      const failure = asMillwrightError(error);
      const known = failure.code === ErrorCode.NotFound;
      await this.#audit(payload, 'github.webhook', args, known ? 'denied' : 'error', ref, failure.code);
      return known
        ? { status: 'unknown-installation', error: failure }
        : { status: 'unavailable', error: failure };
    }
    const now = this.options.clock.now();
    const byId = await this.#claim(delivery, delivery, payload, now);
    if (!byId.taken) {
      await this.#audit(payload, 'github.webhook', { ...args, replay: true }, 'duplicate', ref);
      return { status: 'duplicate', ...(byId.record?.change ? { change: byId.record.change } : {}) };
    }
    // The same deployment sent again under a new delivery id (a captured body re-sent: the id is not
    // signed) is the same request: it is claimed once too. A re-run of the workflow asks for a new
    // deployment, with its own id, and is acted on.
    const byDeployment = await this.#claim(deploymentKey(payload), delivery, payload, now);
    if (!byDeployment.taken) {
      const change = byDeployment.record?.change;
      await this.#record(delivery, { outcome: 'duplicate', ...(change ? { change } : {}) });
      await this.#audit(
        payload,
        'github.webhook',
        { ...args, replay: true, firstDelivery: byDeployment.record?.delivery },
        'duplicate',
        ref,
      );
      return { status: 'duplicate', ...(change ? { change } : {}) };
    }
    await this.#audit(payload, 'github.webhook', args, 'accepted', ref);
    return { status: 'accepted' };
  }

  /**
   * After GitHub was answered: files the change through the policy gate and reviews the rule when
   * the change is decided; a change that waits for a person is reviewed when someone decides it.
   */
  async act(delivery: string, payload: ProtectionRuleRequested, ref: string): Promise<void> {
    const repository = payload.repository.full_name;
    const environment = payload.environment;
    const runId = runIdOf(payload.deployment_callback_url);
    const service = serviceFor(this.options.config, this.options.catalog, repository, environment);
    const review: ReviewTarget = {
      delivery,
      installationId: payload.installation.id,
      repository,
      runId,
      environment,
    };
    if (!service) {
      // Fail closed: a rule Millwright cannot map is not let through unseen.
      const comment = `Millwright maps no service to ${repository} environment ${environment}, so its policy gate cannot vouch for this deployment. Add it under githubApp.repositories, or services.NAME.github (repo and environments), in millwright.yml.`;
      await this.#record(delivery, { outcome: 'unmapped' }, payload);
      await this.#review(review, 'rejected', comment);
      return;
    }
    const sha = payload.deployment?.sha ?? payload.sha;
    const origin: Origin = {
      actor: { id: payload.sender.login, roles: [] },
      channel: this.options.catalog[service]?.channel || SURFACE,
      surface: SURFACE,
      ref,
    };
    let answer: GateAnswer;
    try {
      const change = await this.options.changes.requestDelivery(origin, {
        service,
        kind: 'deployment',
        pipeline: pipelineOf(repository),
        version: sha,
        environment,
        risk: this.options.config.risk,
        reason: `GitHub Actions run ${runId} of ${repository} (${payload.event ?? 'deployment'}) by ${payload.sender.login}`,
        ...requesterIdentity(payload.sender.login, this.options.config.users),
      });
      answer = answerFor(change);
    } catch (error) {
      const failure = asMillwrightError(error);
      this.options.logger.error({ err: error, ref, delivery }, 'github deployment could not be filed');
      await this.#audit(
        payload,
        'github.deployment',
        this.#args(delivery, payload),
        'error',
        ref,
        failure.code,
      );
      await this.#record(delivery, { outcome: 'error' }, payload);
      await this.#review(
        review,
        'rejected',
        `Millwright could not evaluate its policy gate for this deployment: ${failure.message} (ref ${ref}).`,
      );
      return;
    }
    this.options.logger.info(
      { delivery, ref, repository, environment, service, change: answer.changeId, decision: answer.decision },
      'github deployment filed through the policy gate',
    );
    await this.options.store.put<ReviewRecord>(REVIEWS, {
      ...review,
      id: answer.changeId,
      state: 'waiting',
      attempts: 0,
    });
    await this.#record(delivery, { change: answer.changeId, outcome: answer.decision }, payload);
    await this.#audit(
      payload,
      'github.deployment',
      { ...this.#args(delivery, payload), service, sha, change: answer.changeId, state: answer.state },
      answer.decision,
      ref,
    );
    if (answer.awaiting) {
      // The run shows why it waits and who can let it through; the rule stays pending.
      await this.#review(review, undefined, commentFor(answer), answer.changeId);
    }
    if (answer.awaiting === 'approval') {
      const change = await this.options.changes.get(answer.changeId);
      const waiting: GateAwaitingApproval = { change, answer };
      await this.options.events?.emit('gate.awaiting-approval', waiting);
    }
    await this.settle(answer.changeId);
  }

  /**
   * Reviews the rule of change `id` once its change is decided: approved when it was let through,
   * rejected when refused, denied, expired or cancelled. Safe to call any number of times, from any
   * replica: the store hands the review to one sender.
   */
  async settle(id: string, options: { retryNow?: boolean } = {}): Promise<void> {
    const retryNow = options.retryNow ?? false;
    const record = await this.options.store.get<ReviewRecord>(REVIEWS, id);
    if (!record || !this.#claimable(record, retryNow)) return;
    const change = await this.options.changes.get(id);
    const answer = answerFor(change);
    if (answer.awaiting) return;
    const verdict = answer.decision === 'pass' ? 'approved' : 'rejected';
    await this.#send(record, verdict, commentFor(answer), retryNow);
  }

  /**
   * The reviews still owed: decided while no process was serving, cut mid-send, or failed and due
   * again. At start `retryNow` sends a failed one without waiting out its delay.
   */
  async recover(options: { retryNow?: boolean } = {}): Promise<void> {
    const owed = await this.options.store.list<ReviewRecord>(REVIEWS, (record) =>
      this.#claimable(record, options.retryNow ?? false),
    );
    for (const record of owed) {
      await this.settle(record.id, options).catch((error: unknown) =>
        this.options.logger.error({ err: error, change: record.id }, 'github review could not be settled'),
      );
    }
  }

  #sweeps: NodeJS.Timeout | undefined;

  /** Looks at the reviews still owed every minute while serving (each registered with `track`). */
  startSweeps(track: <T>(work: Promise<T>) => Promise<T>): void {
    this.#sweeps ??= setInterval(() => {
      void track(this.recover()).catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'github review sweep failed'),
      );
    }, SWEEP_EVERY_MS);
    this.#sweeps.unref();
  }

  stopSweeps(): void {
    clearInterval(this.#sweeps);
    this.#sweeps = undefined;
  }

  #claimable(record: ReviewRecord, retryNow = false): boolean {
    const now = this.options.clock.now().getTime();
    const lapsed = !record.claimedUntil || Date.parse(record.claimedUntil) <= now;
    if (record.state === 'waiting') return true;
    if (record.state === 'sending') return lapsed;
    return record.state === 'failed' && record.attempts < MAX_SENDS && (retryNow || lapsed);
  }

  /** Claims the review in the store, sends it, and records how it went. */
  async #send(
    record: ReviewRecord,
    verdict: 'approved' | 'rejected',
    comment: string,
    retryNow: boolean,
  ): Promise<void> {
    const { store, clock } = this.options;
    const now = clock.now();
    let claimed = false;
    await store.update<ReviewRecord>(REVIEWS, record.id, (current) => {
      claimed = current !== undefined && this.#claimable(current, retryNow);
      if (!current || !claimed) return current;
      return {
        ...current,
        state: 'sending',
        attempts: current.attempts + 1,
        claimedUntil: new Date(now.getTime() + CLAIM_MS).toISOString(),
      };
    });
    if (!claimed) return;
    const failure = await this.#review(record, verdict, comment, record.id);
    await store.update<ReviewRecord>(REVIEWS, record.id, (current) => {
      if (!current) return current;
      const { claimedUntil: _, ...rest } = current;
      const at = clock.now();
      return failure
        ? {
            ...rest,
            state: 'failed',
            error: failure.message,
            // Due again after a delay that doubles with each send (the sweep, or the next start).
            claimedUntil: new Date(at.getTime() + retryDelayMs(current.attempts)).toISOString(),
          }
        : { ...rest, state: 'sent', verdict, sentAt: at.toISOString() };
    });
  }

  /** One review (or, without a verdict, a comment alone) sent to the run's callback, audited either way. */
  async #review(
    target: ReviewTarget,
    verdict: 'approved' | 'rejected' | undefined,
    comment: string,
    change?: string,
  ): Promise<MillwrightError | undefined> {
    const args = {
      repository: target.repository,
      environment: target.environment,
      run: target.runId,
      installation: target.installationId,
      delivery: target.delivery,
      ...(change ? { change } : {}),
      state: verdict ?? 'pending',
    };
    const origin = { channel: SURFACE, ref: target.delivery };
    try {
      const said = this.options.scrub ? this.options.scrub(comment) : comment;
      await this.options.github.review({ ...target, ...(verdict ? { state: verdict } : {}), comment: said });
      await this.#auditAs('millwright', origin, 'github.review', args, verdict ?? 'commented');
      this.options.logger.info(args, 'github deployment protection rule reviewed');
      return undefined;
    } catch (error) {
      const failure = asMillwrightError(error);
      await this.#auditAs('millwright', origin, 'github.review', args, 'error', failure.code);
      this.options.logger.error(
        { err: error, ...args },
        'github deployment protection rule could not be reviewed',
      );
      return failure;
    }
  }

  /**
   * Takes `key` for this delivery, unless another holds it: the update runs again on the winner's
   * record when another replica took it first. A claim taken long ago that filed nothing (the process
   * stopped in between) is taken again, so GitHub's redelivery still acts.
   */
  async #claim(
    key: string,
    delivery: string,
    payload: ProtectionRuleRequested,
    now: Date,
  ): Promise<{ taken: boolean; record: DeliveryRecord | undefined }> {
    let taken = false;
    const record = await this.options.store.update<DeliveryRecord>(DELIVERIES, key, (current) => {
      const abandoned =
        current !== undefined &&
        current.outcome === undefined &&
        Date.parse(current.receivedAt) + CLAIM_MS <= now.getTime();
      taken = current === undefined || abandoned;
      if (current && !abandoned) return current;
      return {
        id: key,
        event: 'deployment_protection_rule',
        receivedAt: now.toISOString(),
        repository: payload.repository.full_name,
        environment: payload.environment,
        installation: payload.installation.id,
        ...(key === delivery ? {} : { delivery }),
      };
    });
    return { taken, record };
  }

  async #record(
    delivery: string,
    fields: Partial<DeliveryRecord>,
    payload?: ProtectionRuleRequested,
  ): Promise<void> {
    await this.options.store.update<DeliveryRecord>(DELIVERIES, delivery, (current) =>
      current ? { ...current, ...fields } : current,
    );
    // The deployment's claim carries the outcome too, so a later copy finds it settled, not abandoned.
    if (payload)
      await this.options.store.update<DeliveryRecord>(DELIVERIES, deploymentKey(payload), (current) =>
        current && current.delivery === delivery ? { ...current, ...fields } : current,
      );
  }

  #args(delivery: string, payload: ProtectionRuleRequested): Record<string, unknown> {
    return {
      delivery,
      repository: payload.repository.full_name,
      environment: payload.environment,
      run: runIdOf(payload.deployment_callback_url),
      installation: payload.installation.id,
      ...(payload.event ? { event: payload.event } : {}),
    };
  }

  #audit(
    payload: ProtectionRuleRequested,
    action: string,
    args: Record<string, unknown>,
    outcome: string,
    ref: string,
    code?: string,
  ) {
    return this.#auditAs(payload.sender.login, { channel: SURFACE, ref }, action, args, outcome, code);
  }

  async #auditAs(
    actor: string,
    origin: { channel: string; ref: string },
    action: string,
    args: Record<string, unknown>,
    outcome: string,
    code?: string,
  ): Promise<void> {
    await this.options.audit.append({
      actor,
      surface: SURFACE,
      channel: origin.channel,
      action,
      args,
      outcome,
      ref: origin.ref,
      ...(code ? { code } : {}),
    });
  }
}

const VERDICT = { pass: 'approved', fail: 'rejected', unknown: 'rejected', pending: 'waiting' } as const;

/**
 * The review comment GitHub shows on the run: the decision and why, each rule with its numbers, and
 * where the change's story is told.
 */
export function commentFor(answer: GateAnswer): string {
  return [
    `Millwright policy gate: ${answer.awaiting ? 'waiting' : VERDICT[answer.decision]} (${answer.decision}) — ${answer.reason}`,
    '',
    ...ruleLines(answer),
    '',
    `Change ${answer.changeId} (${answer.state}): "change show ${answer.changeId}" in chat tells its story.`,
  ].join('\n');
}

/**
 * Who the workflow's actor is in chat, from `githubApp.users`: their chat ids, so none of them may
 * approve the deployment; or, for a login the map lacks, why no approval can be trusted.
 */
export function requesterIdentity(
  login: string,
  users: Readonly<Record<string, string | readonly string[]>>,
): { requesterIds: readonly string[] } | { requesterUnverified: string } {
  const mapped = Object.entries(users).find(([name]) => name.toLowerCase() === login.toLowerCase())?.[1];
  if (mapped === undefined)
    return {
      requesterUnverified: `GitHub user ${login} is not in githubApp.users (GitHub login -> chat id)`,
    };
  return { requesterIds: typeof mapped === 'string' ? [mapped] : [...mapped] };
}

/**
 * The store key one deployment's request is claimed under: its repository, deployment and
 * environment, hashed, since the environment's name is the sender's and may hold anything.
 */
function deploymentKey(payload: ProtectionRuleRequested): string {
  const deployment = payload.deployment?.id ?? `run-${runIdOf(payload.deployment_callback_url)}`;
  const named = JSON.stringify([payload.repository.full_name, deployment, payload.environment]);
  return `deployment:${createHash('sha256').update(named).digest('hex')}`;
}
