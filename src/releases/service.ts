// Progressive releases as people and pipelines ask for them: a release is a change that must pass the
// policy gate to start; once it may, the controller moves its canary step by step, re-checking the
// gate before each step and judging each by the SLOs. Every move is told as a `release.changed` event
// (src/notices keeps the one chat message per release up to date) and the change is closed when the
// release ends.
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/types.js';
import { burnEvidence } from '../changes/burn-evidence.js';
import type { ChangeService } from '../changes/change-service.js';
import { explainRule } from '../changes/policy-gate.js';
import type { ChangeRequest, RuleResult } from '../changes/types.js';
import type { ServiceCatalog } from '../changes/workloads.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { parseDuration } from '../core/duration.js';
import { badArgument, ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { isImageReference } from '../core/image-reference.js';
import type { Logger } from '../core/logger.js';
import type { ExecutorHost } from '../executors/host.js';
import type { SloService } from '../slo/slo-service.js';
import type { Store } from '../store/store.js';
import type { AnalysisPolicy } from './analysis.js';
import { ArgoCluster, type ArgoTarget } from './argo-cluster.js';
import { ExecutorCluster, type ReleaseDriver, type ReleaseTarget, type StableLook } from './cluster.js';
import type { ReleasesConfig } from './config.js';
import { RELEASES, ReleaseController, type ReleaseRecord } from './controller.js';
import './events.js';
import { readTrackSamples } from './track-counts.js';

/**
 * How long each look at a release under way renews its change's lock on the service: a release runs
 * longer than a runbook change, and the lock must outlive it (and its verification after promotion).
 */
const LOCK_RENEWAL_MS = 60 * 60_000;

/** The gate rules whose failure pauses a release under way; the others judged the start only. */
const PAUSING_RULES = new Set([
  'freeze',
  'open-incident',
  'burn-state',
  'error-budget',
  // The error-budget policy froze the service.
  'error-budget-policy',
]);

export interface ReleaseServiceOptions {
  store: Store;
  audit: AuditLog;
  changes: ChangeService;
  executors: ExecutorHost;
  /** Absent when Prometheus is not configured: releases are then refused (nothing to judge by). */
  slo?: SloService | undefined;
  catalog: ServiceCatalog;
  config: ReleasesConfig;
  clock: Clock;
  logger: Logger;
  events?: EventBus | undefined;
  /** This process, for the per-release lease (replicas never drive one release twice). */
  owner?: string;
  /** How an Argo release waits for its Rollout between looks; tests pass a fake sleep. */
  argo?: Pick<ConstructorParameters<typeof ArgoCluster>[0], 'pollIntervalMs' | 'stepPolls' | 'sleep'>;
}

/** What `release start` asks for. */
export interface NewReleaseRequest {
  service: string;
  /** A full image reference, or a tag for the stable's image repository. */
  image: string;
  steps?: readonly number[] | undefined;
  intervalMs?: number | undefined;
  reason?: string | undefined;
}

/** A dry run's plan: the steps with the canary pods each would get, checked by the API server. */
export interface ReleaseDryRun {
  service: string;
  image: string;
  stableImage: string;
  stableReplicas: number;
  intervalMs: number;
  steps: Array<{ share: number; canaryReplicas: number; reached: number }>;
  check: string;
}

export type ReleaseStartResult =
  | { kind: 'started'; release: ReleaseRecord; change: ChangeRequest }
  | { kind: 'not-started'; change: ChangeRequest }
  | { kind: 'dry-run'; plan: ReleaseDryRun };

export const isOver = (release: ReleaseRecord) =>
  release.plan.state === 'promoted' || release.plan.state === 'aborted';

export class ReleaseService {
  readonly controller: ReleaseController;
  readonly #cluster: ExecutorCluster;
  readonly #argo: ArgoCluster;
  readonly #beginning = new Map<string, Promise<ReleaseRecord | undefined>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(private readonly options: ReleaseServiceOptions) {
    this.#cluster = new ExecutorCluster({
      executors: options.executors,
      config: options.config,
      targetOf: (service) => this.targetOf(service),
    });
    this.#argo = new ArgoCluster({
      executors: options.executors,
      config: options.config,
      targetOf: (service) => this.rolloutOf(service)!,
      ...options.argo,
    });
    // Each release goes to its service's kind of workload: an Argo Rollout, or a Deployment.
    const driver = (release: ReleaseRecord) => this.#driverFor(release.service);
    this.controller = new ReleaseController({
      store: options.store,
      cluster: {
        setCanary: (release, share) => driver(release).setCanary(release, share),
        promote: (release) => driver(release).promote(release),
        removeCanary: (release) => driver(release).removeCanary(release),
        restoreStable: (release) => driver(release).restoreStable(release),
        canaryFailure: (release) => driver(release).canaryFailure(release),
        stableChanged: (release) => driver(release).stableChanged(release),
      },
      gate: { check: (release) => this.#gate(release) },
      samples: (release, at, intervalMs) =>
        readTrackSamples(this.#slos(release.service), this.#prometheus(), {
          at,
          intervalMs,
          tracks: { label: options.config.trackLabel, canary: 'canary', stable: 'stable' },
        }),
      clock: options.clock,
      logger: options.logger,
      owner: options.owner ?? `millwright-${randomUUID()}`,
      changed: (release) => this.#changed(release),
    });
  }

  // --- asking -----------------------------------------------------------------------------------

  /**
   * Files the release as a change and starts it when the gate lets it (or, on `dryRun`, only says
   * what it would do). A change that needs a person starts once approved.
   *
   * @example
   * await releases.start(origin, { service: 'checkout', image: '2.4.0' });
   */
  async start(origin: Origin, request: NewReleaseRequest, dryRun = false): Promise<ReleaseStartResult> {
    const { config } = this.options;
    const service = request.service;
    const driver = this.#driverFor(service);
    const namespace = this.options.catalog[service]!.kubernetes!.namespace;
    this.#slos(service);
    const intervalMs = request.intervalMs ?? parseDuration(config.interval);
    const open = await this.list({ service, open: true });
    if (open.length > 0) {
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `${service} already has release ${open[0]!.id} under way (${open[0]!.plan.state})`,
        { hint: `release status ${open[0]!.id}; promote or abort it first` },
      );
    }
    // Before the release has an id, its reads are recorded under the command's correlation id.
    const probe = { id: origin.ref, service, requester: origin.actor.id, channel: origin.channel };
    const stable = await driver.lookAtStable(probe);
    const steps = this.#steps(service, request.steps, stable);
    const image = imageFor(request.image, stable.image);
    // Checked before anything is filed: a reference the cluster would refuse could never start.
    if (!isImageReference(image)) {
      throw badArgument(
        `image=${request.image} is not an image reference (${image})`,
        'give a tag like image=2.4.0, or a full reference like image=registry.example.com/shop/checkout:2.4.0 (lower-case repository, tag of letters, digits, . _ -)',
        'image',
      );
    }
    if (dryRun) {
      const planned = await driver.dryRun({ ...probe, image }, steps, stable);
      return {
        kind: 'dry-run',
        plan: {
          service,
          image,
          stableImage: stable.image,
          stableReplicas: stable.replicas,
          intervalMs,
          steps: planned.steps,
          check: planned.check,
        },
      };
    }
    const id = await this.#nextId();
    const change = await this.options.changes.requestRelease(origin, {
      service,
      releaseId: id,
      image,
      steps,
      intervalMs,
      reason: request.reason,
    });
    await this.#audit(
      origin,
      'release.start',
      { release: id, service, image, steps, intervalMs, change: change.id, namespace },
      change.state,
    );
    const release = change.state === 'executing' ? await this.begin(change) : undefined;
    return release
      ? { kind: 'started', release, change: await this.options.changes.get(change.id) }
      : { kind: 'not-started', change };
  }

  /**
   * Starts the release a change carries, once the change may go ahead (the gate or a person let it).
   * Safe to call twice: the release is recorded once.
   */
  begin(change: ChangeRequest): Promise<ReleaseRecord | undefined> {
    const planned = change.release;
    if (change.kind !== 'release' || !planned) return Promise.resolve(undefined);
    const running = this.#beginning.get(planned.id);
    if (running) return running;
    const work = (async () => {
      const existing = await this.controller.get(planned.id);
      if (existing) return existing;
      const base = {
        id: planned.id,
        service: change.service,
        requester: change.requestedBy,
        channel: change.channel,
      };
      let stableImage: string | undefined;
      try {
        stableImage = (await this.#driverFor(change.service).lookAtStable(base)).image;
      } catch (error) {
        this.options.logger.warn({ err: error, release: planned.id }, 'the stable image could not be read');
      }
      return this.controller.start({
        ...base,
        image: planned.image,
        changeId: change.id,
        ...(stableImage ? { stableImage } : {}),
        steps: planned.steps,
        intervalMs: planned.intervalMs,
        analysis: this.#analysis(),
      });
    })().finally(() => this.#beginning.delete(planned.id));
    this.#beginning.set(planned.id, work);
    return work;
  }

  async get(id: string): Promise<ReleaseRecord> {
    const release = await this.controller.get(id.toUpperCase());
    if (!release)
      throw new MillwrightError(ErrorCode.NotFound, `there is no release ${id}`, {
        hint: 'release list shows recent releases',
      });
    return release;
  }

  /** Releases newest first, optionally of one service or only those not over. */
  async list(filter: { service?: string; open?: boolean } = {}): Promise<ReleaseRecord[]> {
    const found = await this.options.store.list<ReleaseRecord>(
      RELEASES,
      (release) =>
        (!filter.service || release.service === filter.service) && (!filter.open || !isOver(release)),
    );
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** A person hurries the release to its next step (never past a freeze or an incident). */
  promote(origin: Origin, id: string): Promise<ReleaseRecord> {
    return this.#person(origin, id, 'promote');
  }

  /** A person stops the release: the canary goes, the stable keeps serving. */
  abort(origin: Origin, id: string, reason?: string): Promise<ReleaseRecord> {
    return this.#person(origin, id, 'abort', reason);
  }

  async #person(
    origin: Origin,
    id: string,
    kind: 'promote' | 'abort',
    reason?: string,
  ): Promise<ReleaseRecord> {
    const release = await this.get(id);
    if (isOver(release))
      throw badArgument(
        `${release.id} is ${release.plan.state}; there is nothing to ${kind}`,
        `release status ${release.id}`,
      );
    if (kind === 'promote' && release.plan.state === 'paused')
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `${release.id} is paused (${release.plan.because ?? 'the gate is blocked'}); it cannot be promoted past that`,
        { hint: 'it resumes by itself when the gate clears; abort it to stop now' },
      );
    // A promote moves the release from the step read here, or is refused: two at once take one step.
    const moved = await this.controller.apply(
      release.id,
      { kind, by: origin.actor.id, ...(reason ? { reason } : {}) },
      kind === 'promote' ? release.plan.step : undefined,
    );
    if (!moved)
      throw new MillwrightError(ErrorCode.PreconditionFailed, `${release.id} is being moved right now`, {
        hint: 'try again in a few seconds',
      });
    // The stable changed under the release: it paused instead of moving.
    if (kind === 'promote' && moved.plan.state === 'paused')
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `${release.id} is paused: ${moved.plan.because ?? 'the stable changed'}`,
        {
          hint: `abort it (the stable keeps what it runs now), or put ${release.stableImage} back to resume`,
        },
      );
    await this.#audit(
      origin,
      `release.${kind}`,
      { release: release.id, service: release.service, ...(reason ? { reason } : {}) },
      moved.plan.state,
    );
    return moved;
  }

  // --- the worker -------------------------------------------------------------------------------

  /** One pass over every open release. */
  tick(): Promise<void> {
    this.#ticking ??= this.controller.tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  startWorker(intervalMs = parseDuration(this.options.config.tick)): void {
    this.#timer = setInterval(() => {
      this.tick().catch((error: unknown) => this.options.logger.error({ err: error }, 'release tick failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  async stopWorker(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  // --- ports ------------------------------------------------------------------------------------

  /** The service's Argo Rollout (`services.NAME.kubernetes.rollout`), when it names one. */
  rolloutOf(service: string): ArgoTarget | undefined {
    const kubernetes = this.options.catalog[service]?.kubernetes;
    return kubernetes?.rollout ? { namespace: kubernetes.namespace, rollout: kubernetes.rollout } : undefined;
  }

  /** An Argo Rollout is driven through its own steps; anything else gets a canary Deployment. */
  #driverFor(service: string): ReleaseDriver {
    if (this.rolloutOf(service)) return this.#argo;
    this.targetOf(service);
    return this.#cluster;
  }

  /**
   * The release's steps: a Rollout's own (its pauses, then 100), which `steps=` may only repeat; else
   * the ones asked for, else the configured default.
   */
  #steps(service: string, requested: readonly number[] | undefined, stable: StableLook): number[] {
    if (!stable.steps) return [...(requested ?? this.options.config.steps)];
    if (requested && requested.join(',') !== stable.steps.join(','))
      throw badArgument(
        `rollout ${this.rolloutOf(service)?.rollout} pauses at ${stable.steps.slice(0, -1).join(', ')}%, so its release steps are ${stable.steps.join(',')}, not ${requested.join(',')}`,
        'leave steps= out (the Rollout sets them), or change the setWeight steps of the Rollout',
      );
    return stable.steps;
  }

  /** The service's stable Deployment: the first of its catalog entry's deployments. */
  targetOf(service: string): ReleaseTarget {
    const entry = this.options.catalog[service];
    if (!entry)
      throw new MillwrightError(ErrorCode.NotFound, `service ${service} is not in the service catalog`, {
        hint: `known services: ${Object.keys(this.options.catalog).join(', ') || 'none'}`,
      });
    const deployment = entry.kubernetes?.deployments[0];
    if (!entry.kubernetes || !deployment)
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `service ${service} names no Kubernetes deployment or Argo Rollout to release`,
        {
          hint: `add kubernetes: { namespace, deployments: [...] } (or rollout: NAME for an Argo Rollout) to services.${service}`,
        },
      );
    return { namespace: entry.kubernetes.namespace, deployment };
  }

  #slos(service: string) {
    const slo = this.options.slo;
    if (!slo)
      throw new MillwrightError(
        ErrorCode.NotConfigured,
        'releases are judged by the SLOs, and Prometheus is not configured',
        { hint: 'configure prometheus: and the service SLOs in millwright.yml' },
      );
    const slos = slo.forService(service);
    if (slos.length === 0)
      throw new MillwrightError(ErrorCode.PreconditionFailed, `${service} has no SLO to judge a canary by`, {
        hint: 'define an SLO for the service (slos: in millwright.yml)',
      });
    return slos;
  }

  #prometheus() {
    return this.options.slo!.prometheus;
  }

  #analysis(): AnalysisPolicy {
    const { margin, minRequests, alpha, maxBurnRate, maxWaits } = this.options.config;
    return { margin, minRequests, alpha, maxBurnRate, maxWaits };
  }

  /**
   * The gate before a step: rules that pause a release (a freeze, an open incident, the budget) and
   * fail now where they did not when the change was let through; and the budget state `page`.
   */
  async #gate(release: ReleaseRecord): Promise<{ blocked?: string; page?: string }> {
    const { changes, slo, clock } = this.options;
    const result: { blocked?: string; page?: string } = {};
    if (slo) {
      const statuses = await slo.statusFor(release.service, clock.now());
      const paging = statuses.filter((status) => status.burnState === 'page');
      if (paging.length > 0)
        result.page = paging
          // With the numbers: `checkout-availability (page: 1h 20.8× > 14.4 and 5m 40.0× > 14.4)`.
          .map(
            (status) => `${status.slo} (${burnEvidence(status)}${status.detail ? `; ${status.detail}` : ''})`,
          )
          .join(', ');
    }
    if (!release.changeId) return result;
    const lock = `change:${release.service}`;
    if (!(await this.options.store.tryLock(lock, release.changeId, LOCK_RENEWAL_MS))) {
      const holder = await this.options.store.get<{ id: string; owner: string }>('locks', lock);
      result.blocked = `change lock on ${release.service} held by ${holder?.owner ?? 'another change'}`;
      return result;
    }
    const change = await changes.get(release.changeId);
    const evaluation = await changes.recheck(change);
    const accepted = new Set(
      (change.evaluations.find((e) => e.purpose === 'request')?.rules ?? [])
        .filter((rule) => rule.status !== 'pass')
        .map(ruleKey),
    );
    const blockers = evaluation.rules.filter(
      (rule) => PAUSING_RULES.has(rule.kind) && rule.status !== 'pass' && !accepted.has(ruleKey(rule)),
    );
    if (blockers.length > 0) result.blocked = blockers.map(explainRule).join('; ');
    return result;
  }

  async #changed(release: ReleaseRecord): Promise<void> {
    let change: ChangeRequest | undefined;
    if (release.changeId && isOver(release)) {
      const last = release.history.at(-1);
      try {
        change = await this.options.changes.finishRelease(
          release.changeId,
          release.plan.state === 'promoted' ? 'promoted' : 'aborted',
          release.plan.state === 'promoted'
            ? `release ${release.id} promoted ${release.image} to 100%`
            : `release ${release.id} aborted: ${release.plan.because ?? last?.event ?? ''}`,
        );
      } catch (error) {
        this.options.logger.error(
          { err: error, release: release.id },
          'the release change could not be closed',
        );
      }
    }
    const owners = this.options.catalog[release.service]?.channel;
    await this.options.events?.emit('release.changed', {
      release,
      ...(change ? { change } : {}),
      ...(owners && owners !== release.channel ? { owners } : {}),
    });
  }

  /** One audit record for a person's decision on a release. */
  async #audit(origin: Origin, action: string, args: Record<string, unknown>, outcome: string) {
    await this.options.audit.append({
      actor: origin.actor.id,
      ...viaOf(origin.actor),
      surface: origin.surface,
      channel: origin.channel,
      action,
      args,
      outcome,
      ref: origin.ref,
    });
  }

  async #nextId(): Promise<string> {
    const counter = await this.options.store.update<{ id: string; value: number }>(
      'counters',
      'releases',
      (current) => ({ id: 'releases', value: (current?.value ?? 0) + 1 }),
    );
    return `REL-${counter!.value}`;
  }
}

const ruleKey = (rule: RuleResult) => `${rule.kind}:${rule.subject ?? rule.service ?? ''}`;

/**
 * `image=2.4.0` is a tag for the stable's repository; anything with a registry, a path or a digest is
 * a full reference.
 *
 * @example
 * imageFor('2.4.0', 'registry.example.com/shop/checkout:2.3.1') // 'registry.example.com/shop/checkout:2.4.0'
 */
export function imageFor(requested: string, stableImage: string): string {
  if (/[/:@]/.test(requested)) return requested;
  const withoutDigest = stableImage.split('@')[0] ?? stableImage;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}:${requested}`;
}
