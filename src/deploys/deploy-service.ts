// Deployment status per service from the catalog: what the cluster runs merged with what GitHub
// deployed, for every service in parallel (bounded), one service in detail, or one rollout watched.

import { setMaxListeners } from 'node:events';
import type { MillwrightConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError, ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UpstreamResilience } from '../core/resilience.js';
import { abortableSleep } from '../core/retry.js';
import { nearest } from '../core/suggest.js';
import type { GitHubClient } from '../upstreams/github/index.js';
import type { V1Deployment } from '../upstreams/kubernetes/index.js';
import {
  type CallOptions,
  ClusterConnections,
  describeDeploymentObject,
  type KubernetesClient,
  listReplicaSets,
  type RetryPolicy,
} from '../upstreams/kubernetes/index.js';
import { LIST_FROM } from './api-calls.js';
import { Limiter } from './bounded.js';
import {
  listNamespaceDeployments,
  namedDeployments,
  pickDeployments,
  readDeploymentObjects,
  readingOf,
  readServing,
} from './cluster.js';
import { deploymentState } from './deployment-state.js';
import { combineDrift, type DriftVerdict, judgeDrift } from './drift.js';
import { readDeploymentHistory, readLatestSides } from './github-history.js';
import { compareRevision, imageVersion, runningRevision, shortSha } from './image-revision.js';
import {
  type DeployHistory,
  type DeploymentDetail,
  type DeploymentReading,
  type DeployProblem,
  type GitHubSide,
  type RecentDeploy,
  type RecentDeploysOptions,
  type ServiceDetail,
  type ServiceEntry,
  type ServiceOverview,
  type ServiceState,
  STATE_ORDER,
  type WatchOutcome,
  type WatchResult,
  type WatchSnapshot,
} from './types.js';

export interface DeployServiceOptions {
  /** The service catalog (`services` in millwright.yml). */
  catalog: Readonly<Record<string, ServiceEntry>>;
  clusters: ClusterConnections;
  /** The GitHub client shared with the github executor (one rate-limit gate); absent when not configured. */
  github?: GitHubClient | undefined;
  clock: Clock;
  logger: Logger;
  /** Calls in flight at once: per Kubernetes context (default 32) and to GitHub (default 50 services). */
  concurrency?: Concurrency;
  /** Repositories per GitHub GraphQL query in the `deploys` list (`github.batchSize`; default 50). */
  githubBatchSize?: number | undefined;
  /** Waits between watch polls; injected so tests do not wait in real time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface WatchOptions {
  signal?: AbortSignal | undefined;
  /** Longest the watch runs, by the service's clock. */
  timeoutMs: number;
  /** Pause between two looks at the rollout. */
  intervalMs: number;
  /** Called after every look, in order; the command updates its message from it. */
  onProgress?: (snapshot: WatchSnapshot) => Promise<void> | void;
}

/** Consecutive failed reads after which a watch stops with `unreachable`. */
const WATCH_FAILURE_LIMIT = 3;
/** How far back `recentDeploys` reads GitHub deployments, per environment. */
const RECENT_DEPTH = 20;

/** Bounds on calls in flight, shared by every command. */
export interface Concurrency {
  /** Per kubeconfig context (API server). */
  kubernetes?: number;
  /** To GitHub; GitHub's secondary rate limits punish many concurrent requests. */
  github?: number;
}

/**
 * Default bounds: 32 calls per API server, and 50 services reading GitHub at once (each makes one
 * request at a time, so this stays under the 100 concurrent requests GitHub allows).
 */
export const DEFAULT_CONCURRENCY = { kubernetes: 32, github: 50 } as const;
/** Namespace listings shared by the services of one `deploys` answer, read once on first use. */
class NamespaceListings {
  readonly #loads = new Map<string, Promise<Map<string, V1Deployment>>>();

  constructor(readonly shared: ReadonlySet<string>) {}

  static key(context: string | undefined, namespace: string): string {
    return `${context ?? ''}\u0000${namespace}`;
  }

  load(key: string, read: () => Promise<Map<string, V1Deployment>>): Promise<Map<string, V1Deployment>> {
    let loading = this.#loads.get(key);
    if (!loading) {
      loading = read();
      this.#loads.set(key, loading);
    }
    return loading;
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; problem: DeployProblem };

/**
 * Answers "is my deploy out, and is it healthy?" for the services in the catalog. Also the
 * incident brief's `DeployHistory` (GitHub deployments and Kubernetes rollouts since a time).
 *
 * @example
 * const deploys = createDeployService(config, { github, clock, logger });
 * const rows = await deploys.overview({ signal });   // worst first
 * const detail = await deploys.detail('checkout', { signal });
 */
export class DeployService implements DeployHistory {
  readonly #options: DeployServiceOptions;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #clusterLimits = new Map<string, Limiter>();
  readonly #githubLimit: Limiter;

  constructor(options: DeployServiceOptions) {
    this.#options = options;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#githubLimit = new Limiter(options.concurrency?.github ?? DEFAULT_CONCURRENCY.github);
  }

  /** Closes the Kubernetes connections kept open between reads. */
  close(): void {
    this.#options.clusters.close();
  }

  /** Names in the catalog, sorted. */
  services(): string[] {
    return Object.keys(this.#options.catalog).sort();
  }

  /** The catalog entry, or `millwright_not_found` with the nearest name. */
  entry(service: string): ServiceEntry {
    const entry = Object.hasOwn(this.#options.catalog, service) ? this.#options.catalog[service] : undefined;
    if (entry) return entry;
    const names = this.services();
    const guess = nearest(service, names);
    throw new MillwrightError(ErrorCode.NotFound, `no service "${service}" in the catalog`, {
      hint: guess
        ? `did you mean "${guess}"? deploys lists them all`
        : names.length > 0
          ? `known services: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}`
          : 'add it under services: in millwright.yml, with its kubernetes and github sections',
    });
  }

  /**
   * Every service (or the ones named), worst first: failed, error, degraded, progressing, paused,
   * healthy, unknown; drift first within a state. A failing cluster or repository becomes a problem
   * on that service's row, never a failed answer.
   */
  async overview(
    options: { signal?: AbortSignal | undefined; services?: string[] } = {},
  ): Promise<ServiceOverview[]> {
    const names = options.services ?? this.services();
    const entries = names.map((name) => [name, this.entry(name)] as const);
    // Namespaces where the catalog names several deployments are listed once, not read one by one.
    const wanted = new Map<string, number>();
    for (const [name, entry] of entries) {
      const named = entry.kubernetes ? namedDeployments(name, entry.kubernetes) : undefined;
      if (!named || !entry.kubernetes) continue;
      const key = NamespaceListings.key(entry.kubernetes.context, entry.kubernetes.namespace);
      wanted.set(key, (wanted.get(key) ?? 0) + named.length);
    }
    const listings = new NamespaceListings(
      new Set([...wanted].filter(([, count]) => count >= LIST_FROM).map(([key]) => key)),
    );
    // Every read of this answer listens on one signal, hundreds at once by design; Node would
    // otherwise warn of a leak past ten listeners.
    const scope = new AbortController();
    setMaxListeners(names.length * 4 + 64, scope.signal);
    const forward = () => scope.abort(options.signal?.reason);
    if (options.signal?.aborted) forward();
    else options.signal?.addEventListener('abort', forward, { once: true });
    try {
      // GitHub is read in batches (one GraphQL query per batch of repositories), the clusters per
      // service; every service starts at once and the limiters decide what each upstream sees.
      const sides = this.#readGitHubSides(entries, scope.signal);
      const rows = await Promise.all(
        entries.map(([name, entry]) =>
          this.#overviewOf(name, entry, scope.signal, listings, sides.get(name)),
        ),
      );
      return rows.sort(worstFirst);
    } finally {
      options.signal?.removeEventListener('abort', forward);
    }
  }

  /** One service in full: conditions, ReplicaSet revisions, pods, GitHub deployments, drift. */
  async detail(service: string, options: { signal?: AbortSignal | undefined } = {}): Promise<ServiceDetail> {
    const entry = this.entry(service);
    const { signal } = options;
    const [cluster, github] = await Promise.all([
      entry.kubernetes
        ? this.#attempt('kubernetes', signal, () =>
            this.#cluster(entry.kubernetes?.context).run(() => this.#describeCluster(service, entry, signal)),
          )
        : undefined,
      entry.github
        ? this.#attempt('github', signal, () => this.#githubLimit.run(() => this.#readGitHub(entry, signal)))
        : undefined,
    ]);
    const readings: Outcome<DeploymentReading[]> | undefined =
      cluster && (cluster.ok ? { ok: true, value: cluster.value.map((d) => d.reading) } : cluster);
    const { deployments: _readings, ...merged } = this.#merge(service, entry, readings, github);
    return {
      ...merged,
      namespace: entry.kubernetes?.namespace,
      context: (cluster?.ok ? cluster.value[0]?.context : undefined) ?? entry.kubernetes?.context,
      deployments: cluster?.ok
        ? cluster.value.map(({ context: _context, ...d }) => ({
            ...d,
            drift: this.#driftOf(entry, d.reading, github),
          }))
        : [],
    };
  }

  /**
   * Follows a service's rollout until every deployment is healthy (`complete`), one failed or is
   * paused, the reads keep failing (`unreachable`), or `timeoutMs` passes (`timeout`).
   *
   * @example
   * const { outcome } = await deploys.watch('checkout', { timeoutMs: 600_000, intervalMs: 5_000, onProgress: show });
   */
  async watch(service: string, options: WatchOptions): Promise<WatchResult> {
    const entry = this.entry(service);
    const spec = entry.kubernetes;
    if (!spec) {
      throw new MillwrightError(ErrorCode.NotConfigured, `${service} has no Kubernetes side to watch`, {
        hint: `add services.${service}.kubernetes (namespace, deployments or selector) to millwright.yml`,
      });
    }
    const { clock } = this.#options;
    const client = this.#options.clusters.client(spec.context);
    const started = clock.now().getTime();
    let failures = 0;
    for (let polls = 1; ; polls++) {
      let snapshot: WatchSnapshot;
      try {
        const call = callOptions(options.signal);
        const limit = this.#cluster(spec.context);
        const objects = await limit.run(() => readDeploymentObjects(client, service, spec, call));
        const readings = await Promise.all(
          objects.map((object) => limit.run(() => readServing(client, object, service, call))),
        );
        failures = 0;
        const { state, message } = stateOf(readings);
        snapshot = {
          service,
          state,
          message,
          deployments: readings,
          elapsedMs: clock.now().getTime() - started,
          polls,
        };
      } catch (error) {
        if (options.signal?.aborted) throw error;
        failures++;
        const problem = toProblem('kubernetes', error);
        this.#options.logger.warn({ service, err: error, failures }, 'rollout read failed while watching');
        snapshot = {
          service,
          state: 'error',
          message: problem.message,
          deployments: [],
          elapsedMs: clock.now().getTime() - started,
          polls,
          problem,
        };
      }
      const outcome = watchOutcome(snapshot, failures);
      if (outcome) snapshot.outcome = outcome;
      await options.onProgress?.(snapshot);
      if (outcome) return { outcome, last: snapshot };
      const left = started + options.timeoutMs - clock.now().getTime();
      if (left <= 0) return { outcome: 'timeout', last: snapshot };
      await this.#sleep(Math.min(options.intervalMs, left), options.signal);
    }
  }

  /**
   * Deploys of a service since a time, newest first: GitHub deployments to its environments and
   * Kubernetes rollouts (new ReplicaSets) that no GitHub deployment explains. For incident suspects.
   * A source that fails is logged and left out; when every source fails, the first failure is thrown.
   *
   * @example
   * const suspects = await deploys.recentDeploys('checkout', new Date(Date.now() - 6 * 3_600_000));
   */
  async recentDeploys(
    service: string,
    since: Date,
    options: RecentDeploysOptions = {},
  ): Promise<RecentDeploy[]> {
    const entry = Object.hasOwn(this.#options.catalog, service) ? this.#options.catalog[service] : undefined;
    if (!entry) return [];
    const { github } = this.#options;
    const fromGitHub =
      entry.github && github
        ? this.#githubLimit
            .run(() => readDeploymentHistory(github, entry.github!, undefined, RECENT_DEPTH))
            .then((side) => side.recent.filter((d) => new Date(d.createdAt) >= since))
        : Promise.resolve([]);
    const fromCluster = entry.kubernetes
      ? this.#cluster(entry.kubernetes.context).run(() => this.#recentRollouts(service, entry, since))
      : Promise.resolve([]);
    const [deployments, rollouts] = await Promise.allSettled([fromGitHub, fromCluster]);
    const failed = [deployments, rollouts].filter((r) => r.status === 'rejected');
    for (const failure of failed) {
      this.#options.logger.warn({ service, err: failure.reason }, 'a deploy source could not be read');
    }
    // An empty answer would read as "nothing was deployed"; with nothing read, say so instead.
    const sources = Number(Boolean(entry.github && github)) + Number(Boolean(entry.kubernetes));
    if (sources > 0 && failed.length === sources) throw failed[0]!.reason;
    if (deployments.status === 'rejected') options.onGap?.({ source: 'github', error: deployments.reason });
    if (rollouts.status === 'rejected') options.onGap?.({ source: 'kubernetes', error: rollouts.reason });
    const found: RecentDeploy[] = [];
    const githubDeployments = deployments.status === 'fulfilled' ? deployments.value : [];
    for (const d of githubDeployments) {
      found.push({
        at: d.createdAt,
        what: `${d.environment} deployment ${d.ref} (${shortSha(d.sha)}): ${d.state.replace('_', ' ')}`,
        by: d.creator ?? 'unknown',
        link: d.link,
      });
    }
    if (rollouts.status === 'fulfilled') {
      for (const rollout of rollouts.value) {
        // A rollout GitHub already lists is the same event; the deployment says more about it.
        const explained = githubDeployments.some((d) =>
          rollout.images.some((image) => compareRevision(runningRevision(image), d) === 'same'),
        );
        if (!explained) found.push(rollout.deploy);
      }
    }
    return found.sort((a, b) => b.at.localeCompare(a.at));
  }

  async #recentRollouts(
    service: string,
    entry: ServiceEntry,
    since: Date,
  ): Promise<Array<{ deploy: RecentDeploy; images: string[] }>> {
    const spec = entry.kubernetes!;
    const client = this.#options.clusters.client(spec.context);
    const objects = await readDeploymentObjects(client, service, spec, {});
    const lists = await Promise.all(
      objects.map(async (object) => {
        const target = {
          namespace: object.metadata?.namespace ?? spec.namespace,
          name: object.metadata?.name ?? '',
        };
        const revisions = await listReplicaSets(client, target);
        return revisions
          .filter((rs) => rs.createdAt !== null && new Date(rs.createdAt) >= since)
          .map((rs) => ({
            images: rs.images.map((i) => i.image),
            deploy: {
              at: rs.createdAt!,
              what: `rollout ${target.namespace}/${target.name} revision ${rs.revision ?? '?'}: ${rs.images.map((i) => imageVersion(i.image)).join(', ')}`,
              by: 'kubernetes (no GitHub deployment)',
            },
          }));
      }),
    );
    return lists.flat();
  }

  /** The bound for one kubeconfig context (the default context under the empty key). */
  #cluster(context: string | undefined): Limiter {
    const key = context ?? '';
    let limit = this.#clusterLimits.get(key);
    if (!limit) {
      limit = new Limiter(this.#options.concurrency?.kubernetes ?? DEFAULT_CONCURRENCY.kubernetes);
      this.#clusterLimits.set(key, limit);
    }
    return limit;
  }

  async #overviewOf(
    service: string,
    entry: ServiceEntry,
    signal: AbortSignal | undefined,
    listings: NamespaceListings,
    side: Promise<GitHubSide> | undefined,
  ): Promise<ServiceOverview> {
    const [cluster, github] = await Promise.all([
      entry.kubernetes
        ? this.#attempt('kubernetes', signal, () => this.#readCluster(service, entry, signal, listings))
        : undefined,
      side ? this.#attempt('github', signal, () => side) : undefined,
    ]);
    return this.#merge(service, entry, cluster, github);
  }

  /** The GitHub side of every service that has one, read in batches; each settles on its own. */
  #readGitHubSides(
    entries: ReadonlyArray<readonly [string, ServiceEntry]>,
    signal: AbortSignal,
  ): Map<string, Promise<GitHubSide>> {
    const client = this.#options.github;
    const withRepo = entries.filter(([, entry]) => entry.github);
    const all = client
      ? readLatestSides(
          client,
          withRepo.map(([, entry]) => entry.github!),
          {
            signal,
            batchSize: this.#options.githubBatchSize,
            run: (work) => this.#githubLimit.run(work),
          },
        )
      : Promise.reject(notConfiguredGitHub());
    // Each row awaits its own promise; the shared one must not count as unhandled on its own.
    all.catch(() => {});
    return new Map(
      withRepo.map(([name], i) => [
        name,
        all.then((outcomes) => {
          const outcome = outcomes[i]!;
          if (!outcome.ok) throw outcome.error;
          return outcome.side;
        }),
      ]),
    );
  }

  async #readCluster(
    service: string,
    entry: ServiceEntry,
    signal: AbortSignal | undefined,
    listings: NamespaceListings,
  ): Promise<DeploymentReading[]> {
    const spec = entry.kubernetes!;
    const client = this.#options.clusters.client(spec.context);
    const call = callOptions(signal);
    const limit = this.#cluster(spec.context);
    const named = namedDeployments(service, spec);
    const key = NamespaceListings.key(spec.context, spec.namespace);
    const objects =
      named && listings.shared.has(key)
        ? pickDeployments(
            await listings.load(key, () =>
              limit.run(() => listNamespaceDeployments(client, spec.namespace, call)),
            ),
            named,
            spec.namespace,
            client.context,
          )
        : await limit.run(() => readDeploymentObjects(client, service, spec, call));
    return Promise.all(objects.map((object) => limit.run(() => readServing(client, object, service, call))));
  }

  async #describeCluster(
    service: string,
    entry: ServiceEntry,
    signal: AbortSignal | undefined,
  ): Promise<Array<Omit<DeploymentDetail, 'drift'> & { context: string }>> {
    const spec = entry.kubernetes!;
    const client: KubernetesClient = this.#options.clusters.client(spec.context);
    const call = callOptions(signal);
    const objects = await readDeploymentObjects(client, service, spec, call);
    return Promise.all(
      objects.map(async (object) => {
        const described = await describeDeploymentObject(client, object, call);
        return {
          reading: readingOf(object, service, described),
          replicaSets: described.replicaSets,
          pods: described.pods,
          context: client.context,
        };
      }),
    );
  }

  async #readGitHub(entry: ServiceEntry, signal: AbortSignal | undefined): Promise<GitHubSide> {
    const client = this.#options.github;
    if (!client) throw notConfiguredGitHub();
    return readDeploymentHistory(client, entry.github!, signal);
  }

  /** Runs one side's read; a failure becomes a problem on the row (unless the command was cancelled). */
  async #attempt<T>(
    source: DeployProblem['source'],
    signal: AbortSignal | undefined,
    read: () => Promise<T>,
  ): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await read() };
    } catch (error) {
      if (signal?.aborted) throw error;
      return { ok: false, problem: toProblem(source, error) };
    }
  }

  #merge(
    service: string,
    entry: ServiceEntry,
    cluster: Outcome<DeploymentReading[]> | undefined,
    github: Outcome<GitHubSide> | undefined,
  ): ServiceOverview {
    const problems: DeployProblem[] = [];
    const readings = cluster?.ok ? cluster.value : [];
    if (cluster && !cluster.ok) problems.push(cluster.problem);
    if (github && !github.ok) problems.push(github.problem);
    for (const problem of problems) {
      // A side left unconfigured is a setup choice, not a failure worth a warning per service.
      const level = problem.code === ErrorCode.NotConfigured ? 'debug' : 'warn';
      this.#options.logger[level]({ service, source: problem.source, code: problem.code }, problem.message);
    }

    let state: ServiceState;
    let message: string;
    if (!entry.kubernetes) {
      state = 'unknown';
      message = `no kubernetes section for ${service} in the catalog`;
    } else if (!cluster?.ok) {
      state = 'error';
      message = problems.find((p) => p.source === 'kubernetes')?.message ?? 'the cluster could not be read';
    } else {
      ({ state, message } = stateOf(readings));
    }

    const versions = [
      ...new Set(readings.flatMap((r) => r.serving.filter((g) => g.ready > 0).map((g) => g.version))),
    ];
    const drift = combineDrift(
      readings.map((reading) => ({
        name: reading.status.name,
        verdict: this.#driftOf(entry, reading, github),
      })),
    );
    return {
      service,
      state,
      message,
      deployments: readings,
      versions,
      ready: readings.reduce((sum, r) => sum + r.status.replicas.ready, 0),
      desired: readings.reduce((sum, r) => sum + r.status.replicas.desired, 0),
      github: github?.ok ? github.value : undefined,
      drift:
        readings.length > 0
          ? drift
          : {
              status: 'unknown',
              reason: entry.kubernetes
                ? 'the cluster could not be read, so what runs is unknown'
                : `no kubernetes section for ${service} in the catalog, so what runs is unknown`,
            },
      problems,
    };
  }

  #driftOf(
    entry: ServiceEntry,
    reading: DeploymentReading,
    github: Outcome<GitHubSide> | undefined,
  ): DriftVerdict {
    if (!reading.running) {
      return { status: 'unknown', reason: `deployment ${reading.status.name} has no container image` };
    }
    if (!entry.github) {
      return {
        status: 'unknown',
        reason: 'no github repo for this service in the catalog to compare with',
      };
    }
    if (!github?.ok) {
      return {
        status: 'unknown',
        reason: `GitHub could not be read (${github?.ok === false ? github.problem.message : 'not asked'})`,
      };
    }
    const side = github.value;
    return judgeDrift({
      running: reading.running,
      environment: side.environment,
      latest: side.latest,
      lastSuccess: side.lastSuccess,
      searched: side.searched,
    });
  }
}

/** The service state is its worst deployment's; the message is that deployment's. */
function stateOf(readings: DeploymentReading[]): { state: ServiceState; message: string } {
  const states = readings.map(deploymentState);
  const worst = [...states].sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state))[0];
  return worst ?? { state: 'unknown', message: 'no deployments' };
}

function watchOutcome(snapshot: WatchSnapshot, failures: number): WatchOutcome | undefined {
  if (snapshot.state === 'healthy') return 'complete';
  if (snapshot.state === 'failed' || snapshot.state === 'failing') return 'failed';
  if (snapshot.state === 'paused') return 'paused';
  if (failures >= WATCH_FAILURE_LIMIT) return 'unreachable';
  return undefined;
}

const DRIFT_ORDER = { drift: 0, unknown: 1, 'rolling-out': 2, 'in-sync': 3 } as const;

function worstFirst(a: ServiceOverview, b: ServiceOverview): number {
  return (
    STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) ||
    DRIFT_ORDER[a.drift.status] - DRIFT_ORDER[b.drift.status] ||
    a.service.localeCompare(b.service)
  );
}

function notConfiguredGitHub(): MillwrightError {
  return new MillwrightError(ErrorCode.NotConfigured, 'GitHub is not configured', {
    hint: 'set github.token (and github.baseUrl for GitHub Enterprise) in millwright.yml',
  });
}

function toProblem(source: DeployProblem['source'], error: unknown): DeployProblem {
  const failure = asMillwrightError(error);
  const status = failure.details?.status;
  return {
    source,
    code: failure.code,
    message: failure.code === ErrorCode.Internal ? `unexpected failure: ${failure.message}` : failure.message,
    hint: failure.hint,
    ...(typeof status === 'number' ? { status } : {}),
  };
}

function callOptions(signal: AbortSignal | undefined): CallOptions {
  return signal ? { signal } : {};
}

/**
 * Builds the service from the config: one Kubernetes client per context (config `kubernetes`),
 * and the shared GitHub client when `github` is configured.
 *
 * @example
 * const deploys = createDeployService(config, { github: createGitHubClient({ ... }), clock, logger });
 */
export function createDeployService(
  config: Pick<MillwrightConfig, 'services' | 'kubernetes'> & {
    github?: Pick<NonNullable<MillwrightConfig['github']>, 'batchSize'> | undefined;
  },
  options: {
    github?: GitHubClient | undefined;
    clock: Clock;
    logger: Logger;
    concurrency?: Concurrency;
    githubBatchSize?: number | undefined;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    /** Kubernetes retry policy (tests pass a sleep that does not wait). */
    retries?: RetryPolicy;
    /** kubeconfig text instead of `kubernetes.kubeconfig`. */
    kubeconfigYaml?: string;
    /** The shared upstream policies (retries, one circuit per upstream); a private one when absent. */
    resilience?: UpstreamResilience | undefined;
  },
): DeployService {
  const clusters = new ClusterConnections({
    kubeconfigPath: config.kubernetes?.kubeconfig,
    kubeconfigYaml: options.kubeconfigYaml,
    defaultContext: config.kubernetes?.context,
    logger: options.logger,
    clock: options.clock,
    retries: options.retries,
    resilience: options.resilience,
    requestTimeoutMs: config.kubernetes ? parseDuration(config.kubernetes.timeout) : undefined,
  });
  return new DeployService({
    catalog: config.services,
    clusters,
    github: options.github,
    clock: options.clock,
    logger: options.logger,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    githubBatchSize: options.githubBatchSize ?? config.github?.batchSize,
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
}
