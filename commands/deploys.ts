// deploys [SERVICE] [--watch]: rollout state, version, replicas, last deploy and drift per service
// (worst first), one service in detail, or one rollout followed until it completes, fails or times out.
import {
  type Block,
  badArgument,
  type Context,
  context,
  counted,
  defineCommand,
  ErrorCode,
  fields,
  formatDuration,
  formatWhen,
  header,
  isTimeZone,
  type MessageHandle,
  MillwrightError,
  partialAnswer,
  type Reply,
  reply,
  table,
  text,
} from '../src/core/index.js';
// Pure helpers by their own modules: the deploys index would load the Kubernetes client at start-up.
import { deploymentState } from '../src/deploys/deployment-state.js';
import { driftLabel } from '../src/deploys/drift.js';
import { DETAIL_DEPLOYMENTS } from '../src/deploys/github-history.js';
import { shortSha } from '../src/deploys/image-revision.js';
import type {
  DeploymentDetail,
  DeploymentReading,
  DeployProblem,
  ServiceDetail,
  ServiceOverview,
  WatchOutcome,
  WatchResult,
  WatchSnapshot,
} from '../src/deploys/index.js';
import type { GitHubDeployment } from '../src/upstreams/github/index.js';

const WATCH_TIMEOUT_MS = 10 * 60_000;
const WATCH_TIMEOUT_MAX_MS = 60 * 60_000;
const WATCH_INTERVAL_MS = 5_000;
const WATCH_INTERVAL_MIN_MS = 1_000;
const WATCH_INTERVAL_MAX_MS = 5 * 60_000;

/** Why the last deploy is not known when GitHub could not be read; the note under the answer says more. */
const GITHUB_PROBLEM_CELL: Record<string, string> = {
  [ErrorCode.RateLimited]: 'GitHub rate-limited',
  [ErrorCode.NotConfigured]: 'GitHub not configured',
  [ErrorCode.NotFound]: 'repo not found',
};

/**
 * The last deploy when GitHub named none, for the list and the detail alike: unknown with why when
 * GitHub could not be read ("unknown (GitHub 502)"), never "-", which reads as "no deployments".
 */
function noLastDeploy(row: Pick<ServiceOverview, 'problems' | 'github'>): string {
  const problem = row.problems.find((p) => p.source === 'github');
  if (!problem) return row.github ? `no ${row.github.environment} deployments` : '-';
  if (problem.code === ErrorCode.NotConfigured) return GITHUB_PROBLEM_CELL[problem.code]!;
  const why =
    GITHUB_PROBLEM_CELL[problem.code] ??
    (problem.status === undefined ? 'GitHub unavailable' : `GitHub ${problem.status}`);
  return `unknown (${why})`;
}

interface View {
  now: Date;
  tz: string;
}

const when = (at: string | null | undefined, view: View) =>
  at ? formatWhen(new Date(at), view.now, view.tz) : '-';

function lastDeployCell(row: ServiceOverview, view: View): string {
  const latest = row.github?.latest;
  if (!latest) return noLastDeploy(row);
  const state = latest.state === 'success' ? '' : `, ${latest.state.replace('_', ' ')}`;
  return `${latest.ref} by ${latest.creator ?? 'unknown'}${state}, ${when(latest.createdAt, view)}`;
}

/** Problems of many rows, one line per distinct failure, naming the services it hit. */
function problemLines(rows: ServiceOverview[]): string[] {
  const byMessage = new Map<string, { problem: DeployProblem; services: string[] }>();
  for (const row of rows) {
    for (const problem of row.problems) {
      const key = `${problem.source}:${problem.message}`;
      const seen = byMessage.get(key) ?? { problem, services: [] };
      seen.services.push(row.service);
      byMessage.set(key, seen);
    }
  }
  return [...byMessage.values()].map(({ problem, services }) => {
    const who =
      services.length > 3
        ? `${services.slice(0, 3).join(', ')} and ${services.length - 3} more`
        : services.join(', ');
    return `${who}: ${problem.source === 'github' ? 'GitHub' : 'Kubernetes'}: ${problem.message}${problem.hint ? ` (${problem.hint})` : ''}`;
  });
}

/**
 * The version cell: the version when every pod runs the current template and is ready; else what
 * each ReplicaSet's pods run with ready/total ("4b7e0d2 3/3 · 9f3c2a1 0/1 new").
 */
function servingCell(readings: readonly DeploymentReading[]): string {
  const groups = readings.flatMap((r) => r.serving);
  if (groups.length === 0) return '-';
  const settled = readings.every(
    (r) => r.serving.length === 1 && r.serving[0]?.isNew && r.serving[0].ready === r.serving[0].pods,
  );
  if (settled) return [...new Set(groups.map((g) => g.version))].join(', ');
  return groups.map((g) => `${g.version} ${g.ready}/${g.pods}${g.isNew ? ' new' : ''}`).join(' · ');
}

/** Why pods are not serving, counted: "2 CrashLoopBackOff, 1 OOMKilled; 17 restarts" ("1 restart"). */
function troubleSummary(readings: readonly DeploymentReading[]): string {
  const troubles = readings.flatMap((r) => r.troubles);
  if (troubles.length === 0) return '';
  const counts = new Map<string, number>();
  for (const t of troubles) counts.set(t.reason, (counts.get(t.reason) ?? 0) + 1);
  const restarts = troubles.reduce((sum, t) => sum + t.restarts, 0);
  const reasons = [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
  return restarts > 0 ? `${reasons}; ${counted(restarts, 'restart')}` : reasons;
}

function stateCell(row: ServiceOverview): string {
  const troubles = troubleSummary(row.deployments);
  return troubles ? `${row.state} (${troubles})` : row.state;
}

/**
 * A part that could not be read (a cluster refused, GitHub rate-limited) makes the answer partial.
 * A side left unconfigured is a setup choice, not a failure.
 */
function withOutcome(answer: Reply, rows: readonly Pick<ServiceOverview, 'service' | 'problems'>[]): Reply {
  const failed = rows.flatMap((row) =>
    row.problems.filter((p) => p.code !== ErrorCode.NotConfigured).map((p) => ({ row, p })),
  );
  const first = failed[0];
  if (!first) return answer;
  const source = (p: (typeof first)['p']) => (p.source === 'github' ? 'GitHub' : 'Kubernetes');
  const services = [...new Set(failed.map(({ row }) => row.service))];
  return partialAnswer(
    answer,
    failed.map(({ row, p }) => ({ part: `${row.service}: ${source(p)}`, code: p.code, message: p.message })),
    { label: `${services.length === 1 ? services[0] : `${services.length} services`}: ${source(first.p)}` },
  );
}

/** The raw values of one row, for `--json`. */
function rowData(row: ServiceOverview) {
  return {
    service: row.service,
    state: row.state,
    message: row.message,
    ready: row.ready,
    desired: row.desired,
    versions: row.versions,
    deployments: row.deployments.map((d) => ({
      namespace: d.status.namespace,
      name: d.status.name,
      state: deploymentState(d).state,
      rolloutState: d.status.state,
      outcome: d.outcome,
      revision: d.status.revision,
      replicas: d.status.replicas,
      serving: d.serving,
      troubles: d.troubles,
    })),
    drift: row.drift,
    lastDeployment: row.github?.latest ?? null,
    problems: row.problems,
  };
}

function headline(rows: ServiceOverview[]): string {
  const troubled = rows.filter((r) => ['failed', 'failing', 'error', 'degraded'].includes(r.state));
  const drifted = rows.filter((r) => r.drift.status === 'drift');
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const tally = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  const lead =
    troubled.length > 0
      ? `${troubled.length} of ${counted(rows.length, 'service')} need${troubled.length === 1 ? 's' : ''} attention: ${troubled
          .slice(0, 3)
          .map((r) => `${r.service} ${r.state}`)
          .join(', ')}${troubled.length > 3 ? ', ...' : ''}`
      : `${counted(rows.length, 'service')}: ${tally}`;
  const drift =
    drifted.length > 0
      ? `; ${drifted.length} drifted from GitHub (${drifted
          .map((r) => r.service)
          .slice(0, 3)
          .join(', ')})`
      : '';
  return `*${lead}${drift}*`;
}

function listReply(rows: ServiceOverview[], view: View): Reply {
  const blocks: Block[] = [
    text(headline(rows)),
    table(
      ['service', 'state', 'version', 'ready', 'last deploy', 'drift'],
      rows.map((row) => [
        row.service,
        stateCell(row),
        servingCell(row.deployments),
        row.deployments.length > 0 ? `${row.ready}/${row.desired}` : '-',
        lastDeployCell(row, view),
        driftLabel(row.drift.status),
      ]),
    ),
  ];
  const drifted = rows.filter((row) => row.drift.status === 'drift');
  if (drifted.length > 0) {
    blocks.push(
      context(
        drifted
          .slice(0, 5)
          .map((row) => `${row.service} drift: ${row.drift.reason}`)
          .join('\n'),
      ),
    );
  }
  const problems = problemLines(rows);
  if (problems.length > 0) blocks.push(context(problems.slice(0, 10).join('\n')));
  blocks.push(
    context(
      `Worst first; times in ${view.tz}. Detail, pods and drift: deploys SERVICE. Follow a rollout: deploys SERVICE --watch`,
    ),
  );
  return withOutcome({ ...reply(...blocks), data: { services: rows.map(rowData) } }, rows);
}

function conditionRows(detail: DeploymentDetail, view: View): string[][] {
  return detail.reading.status.conditions.map((c) => [
    c.type,
    c.status,
    c.reason ?? '-',
    c.message ?? '-',
    when(c.lastTransitionTime ?? c.lastUpdateTime, view),
  ]);
}

function deploymentBlocks(detail: DeploymentDetail, view: View, many: boolean): Block[] {
  const { status } = detail.reading;
  // The list row's word for this deployment (a crash-looping rollout is failing, not progressing).
  const state = deploymentState(detail.reading);
  // With one deployment its message already leads the reply.
  const message = many ? `\n${state.message}` : '';
  const blocks: Block[] = [
    text(
      `*Deployment ${status.namespace}/${status.name}*: ${state.state}, revision ${status.revision ?? '-'}, ${status.replicas.ready}/${status.replicas.desired} ready (${status.replicas.updated} updated, ${status.replicas.available} available)${message}`,
    ),
  ];
  if (many) blocks.push(context(`drift: ${driftLabel(detail.drift.status)}: ${detail.drift.reason}`));
  if (status.conditions.length > 0) {
    blocks.push(table(['condition', 'status', 'reason', 'message', 'since'], conditionRows(detail, view)));
  }
  // The current revision and the one before it: what runs, and what a rollback would return to.
  const revisions = detail.replicaSets.slice(0, 2);
  if (revisions.length > 0) {
    blocks.push(
      table(
        ['revision', 'replica set', 'images', 'ready', 'created'],
        revisions.map((rs) => [
          `${rs.revision ?? '-'}${rs.isCurrent ? ' (current)' : ' (previous)'}`,
          rs.name,
          rs.images.map((i) => i.image).join(', ') || '-',
          `${rs.ready}/${rs.desired}`,
          when(rs.createdAt, view),
        ]),
      ),
    );
  }
  const notReady = detail.pods.filter((pod) => pod.reason !== null);
  if (notReady.length > 0) {
    blocks.push(
      table(
        ['pod not ready', 'revision', 'status', 'reason', 'restarts', 'age'],
        notReady.map((pod) => [
          pod.name,
          pod.revision === undefined || pod.revision === null ? '-' : String(pod.revision),
          pod.status,
          [
            pod.reason,
            pod.lastTerminationReason && pod.lastTerminationReason !== pod.reason
              ? `last exit ${pod.lastTerminationReason}`
              : null,
            pod.message,
          ]
            .filter(Boolean)
            .join('; '),
          String(pod.restarts),
          pod.age ?? '-',
        ]),
      ),
    );
  } else {
    blocks.push(context(`All ${counted(detail.pods.length, 'pod')} ready.`));
  }
  return blocks;
}

function githubRows(deployments: GitHubDeployment[], view: View): string[][] {
  return deployments.map((d) => [
    d.environment,
    d.ref,
    shortSha(d.sha),
    d.state.replace('_', ' '),
    d.creator ?? 'unknown',
    when(d.createdAt, view),
    d.link,
  ]);
}

function detailReply(detail: ServiceDetail, view: View): Reply {
  const where = detail.namespace
    ? `namespace ${detail.namespace}${detail.context ? `, context ${detail.context}` : ''}`
    : 'no kubernetes section in the catalog';
  const latest = detail.github?.latest;
  const blocks: Block[] = [
    header(`${detail.service}: ${detail.state}`),
    text(`*${detail.message}*`),
    fields([
      { label: 'version', value: servingCell(detail.deployments.map((d) => d.reading)) },
      {
        label: 'replicas',
        value: detail.deployments.length > 0 ? `${detail.ready}/${detail.desired} ready` : '-',
      },
      { label: 'where', value: where },
      {
        label: 'last deploy',
        value: latest
          ? `${latest.environment} ${latest.ref} (${shortSha(latest.sha)}) by ${latest.creator ?? 'unknown'}, ${latest.state.replace('_', ' ')}, ${when(latest.createdAt, view)}`
          : noLastDeploy(detail),
      },
      { label: 'drift', value: `${driftLabel(detail.drift.status)}: ${detail.drift.reason}` },
    ]),
  ];
  const many = detail.deployments.length > 1;
  for (const deployment of detail.deployments) blocks.push(...deploymentBlocks(deployment, view, many));
  if (detail.github) {
    const shown = detail.github.recent.slice(0, DETAIL_DEPLOYMENTS);
    blocks.push(text(`*GitHub deployments* of ${detail.github.repo}, newest first`));
    blocks.push(
      shown.length > 0
        ? table(['environment', 'ref', 'sha', 'state', 'creator', 'when', 'link'], githubRows(shown, view))
        : context(`GitHub lists no deployments for ${detail.github.repo} in ${detail.github.environment}.`),
    );
  }
  const notes = detail.problems.map(
    (p) => `${p.source === 'github' ? 'GitHub' : 'Kubernetes'}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`,
  );
  if (notes.length > 0) blocks.push(context(notes.join('\n')));
  blocks.push(context(`Times in ${view.tz}. Follow the rollout: deploys ${detail.service} --watch`));
  const { deployments, ...row } = detail;
  return withOutcome(
    {
      ...reply(...blocks),
      data: {
        ...rowData({ ...row, deployments: deployments.map((d) => d.reading) }),
        namespace: detail.namespace ?? null,
        context: detail.context ?? null,
      },
    },
    [detail],
  );
}

function progressBlocks(snapshot: WatchSnapshot, timeoutMs: number): Block[] {
  const blocks: Block[] = [header(`${snapshot.service}: ${snapshot.state}`), text(snapshot.message)];
  if (snapshot.deployments.length > 0) {
    blocks.push(
      table(
        ['deployment', 'state', 'updated', 'ready', 'available', 'desired', 'serving'],
        snapshot.deployments.map((reading) => {
          const d = reading.status;
          return [
            `${d.namespace}/${d.name}`,
            [deploymentState(reading).state, troubleSummary([reading])].filter(Boolean).join(': '),
            String(d.replicas.updated),
            String(d.replicas.ready),
            String(d.replicas.available),
            String(d.replicas.desired),
            servingCell([reading]),
          ];
        }),
      ),
    );
  }
  if (snapshot.problem?.hint) blocks.push(context(snapshot.problem.hint));
  blocks.push(
    context(
      `${snapshot.polls === 1 ? 'Watching' : `Watching for ${formatDuration(snapshot.elapsedMs)}`} (look ${snapshot.polls}); stops when the rollout completes, fails, or after ${formatDuration(timeoutMs)}.`,
    ),
  );
  return blocks;
}

const OUTCOME_WORDS: Record<WatchOutcome, string> = {
  complete: 'rollout complete',
  failed: 'rollout failed',
  paused: 'rollout paused',
  timeout: 'rollout still not done',
  unreachable: 'rollout status unreadable',
};

/** `after 2m30s`, or `at the first look` when nothing needed waiting for. */
function settled(last: WatchSnapshot): string {
  return last.polls === 1 ? 'at the first look' : `after ${formatDuration(last.elapsedMs)}`;
}

function finalReply(result: WatchResult, timeoutMs: number, rollbackRunbook: string | undefined): Reply {
  const { outcome, last } = result;
  const title = `${last.service}: ${OUTCOME_WORDS[outcome]} ${settled(last)}`;
  const answer: Reply = {
    ok: outcome === 'complete',
    blocks: [header(title), ...progressBlocks(last, timeoutMs).slice(1)],
    data: {
      service: last.service,
      outcome,
      state: last.state,
      message: last.message,
      polls: last.polls,
      elapsedMs: last.elapsedMs,
      elapsedSeconds: last.elapsedMs / 1000,
      deployments: last.deployments.map((d) => ({
        namespace: d.status.namespace,
        name: d.status.name,
        state: deploymentState(d).state,
        rolloutState: d.status.state,
        replicas: d.status.replicas,
        serving: d.serving,
        troubles: d.troubles,
      })),
    },
  };
  const failure: Record<
    Exclude<WatchOutcome, 'complete'>,
    { code: string; message: string; hint: string }
  > = {
    failed: {
      code: ErrorCode.RolloutFailed,
      message: `${last.service} rollout failed: ${last.message}`,
      hint: rollbackRunbook
        ? `see deploys ${last.service} for conditions and pods; to roll back: runbook show ${rollbackRunbook}`
        : `see deploys ${last.service} for conditions and pods`,
    },
    paused: {
      code: ErrorCode.PreconditionFailed,
      message: `${last.service} rollout is paused: ${last.message}`,
      hint: 'resume it (kubectl rollout resume) to let it continue',
    },
    timeout: {
      code: ErrorCode.Timeout,
      message: `${last.service} rollout did not finish within ${formatDuration(timeoutMs)}: ${last.message}`,
      hint: `watch longer with timeout=, or look at deploys ${last.service} for stuck pods`,
    },
    unreachable: {
      code: ErrorCode.DependencyUnavailable,
      message: `stopped watching ${last.service}: ${last.message}`,
      hint: last.problem?.hint ?? 'check the cluster connection and try again',
    },
  };
  if (outcome !== 'complete') answer.error = failure[outcome];
  return answer;
}

/** The progress line that is kept in place once the watch ends. */
function closingLine(result: WatchResult): Reply {
  return reply(text(`${result.last.service}: ${OUTCOME_WORDS[result.outcome]} ${settled(result.last)}.`));
}

/** What changed between two looks, so chat is not edited (nor the shell printed) for nothing. */
function fingerprint(snapshot: WatchSnapshot): string {
  return JSON.stringify([
    snapshot.state,
    snapshot.message,
    snapshot.deployments.map((d) => [d.status.state, d.status.replicas, d.serving, d.troubles]),
  ]);
}

async function watch(ctx: Context, service: string, timeoutMs: number, intervalMs: number): Promise<Reply> {
  let handle: MessageHandle | undefined;
  let shown = '';
  const result = await ctx.services.deploys.watch(service, {
    signal: ctx.signal,
    timeoutMs,
    intervalMs,
    onProgress: async (snapshot) => {
      // Settled at the first look: the answer says it all, no progress message needed.
      if (!handle && snapshot.outcome) return;
      const print = fingerprint(snapshot);
      if (print === shown) return;
      shown = print;
      const progress = reply(...progressBlocks(snapshot, timeoutMs));
      if (!handle) handle = await ctx.reply(progress);
      else await handle.update(progress);
    },
  });
  if (handle) await handle.update(closingLine(result));
  return finalReply(result, timeoutMs, ctx.services.config.services[service]?.rollbackRunbook);
}

function durationOption(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

export default defineCommand({
  name: 'deploys',
  summary: 'Is the deploy out, and is it healthy? Rollout state, version, last deploy and drift per service',
  description:
    'Without SERVICE: one row per service in the catalog, worst first (failed, failing, error, degraded, progressing, paused, healthy). ' +
    'The version is what ready pods run, split per ReplicaSet with ready/total while they differ; failing means new pods crash-loop, get OOMKilled or cannot pull. ' +
    'With SERVICE: rollout conditions, current and previous ReplicaSets, pods that are not ready, the last five GitHub deployments, and drift. ' +
    'Drift compares the running image with the last successful GitHub deployment: an image tag that is a commit sha (or sha-COMMIT), ' +
    'a release version matched against the deployment ref (1.4.2 = v1.4.2), or the org.opencontainers.image.revision pod annotation.',
  examples: [
    'deploys',
    'deploys checkout',
    'deploys checkout --watch',
    'deploys checkout --watch timeout=20m',
  ],
  positionals: [{ name: 'service', description: 'a service from the catalog' }],
  options: {
    timeout: {
      type: 'duration',
      description: 'how long --watch follows the rollout (default 10m, at most 1h)',
    },
    interval: { type: 'duration', description: 'time between two looks while watching (default 5s)' },
    tz: { type: 'string', description: 'time zone for absolute times, like Europe/Berlin (default UTC)' },
  },
  flags: { watch: 'follow the rollout until it completes, fails or times out' },
  // A watch may run for an hour; reads without --watch are bounded by their per-call deadlines.
  timeoutMs: WATCH_TIMEOUT_MAX_MS + 60_000,
  handler: async (ctx, args) => {
    const service = args.positionals.service;
    const tz = typeof args.options.tz === 'string' ? args.options.tz : 'UTC';
    if (!isTimeZone(tz)) {
      throw badArgument(
        `unknown time zone "${tz}"`,
        'use an IANA name like Europe/Berlin or America/New_York',
        'tz',
      );
    }
    const view: View = { now: ctx.clock.now(), tz };
    const watching = args.flags.has('watch');
    if (!watching && (args.options.timeout !== undefined || args.options.interval !== undefined)) {
      throw badArgument(
        'timeout= and interval= only apply with --watch',
        `try: deploys ${service ?? 'SERVICE'} --watch timeout=15m`,
      );
    }
    if (watching) {
      if (service === undefined)
        throw badArgument('deploys --watch needs SERVICE', 'try: deploys checkout --watch');
      const timeoutMs = durationOption(args.options.timeout, WATCH_TIMEOUT_MS);
      const intervalMs = durationOption(args.options.interval, WATCH_INTERVAL_MS);
      if (timeoutMs <= 0 || timeoutMs > WATCH_TIMEOUT_MAX_MS) {
        throw badArgument(
          `timeout must be between 1s and ${formatDuration(WATCH_TIMEOUT_MAX_MS)}`,
          'like timeout=15m',
          'timeout',
        );
      }
      if (intervalMs < WATCH_INTERVAL_MIN_MS || intervalMs > WATCH_INTERVAL_MAX_MS) {
        throw badArgument(
          `interval must be between ${formatDuration(WATCH_INTERVAL_MIN_MS)} and ${formatDuration(WATCH_INTERVAL_MAX_MS)}`,
          'like interval=10s',
          'interval',
        );
      }
      return watch(ctx, service, timeoutMs, intervalMs);
    }
    const deploys = ctx.services.deploys;
    if (service !== undefined) {
      return detailReply(await deploys.detail(service, { signal: ctx.signal }), view);
    }
    if (deploys.services().length === 0) {
      throw new MillwrightError(ErrorCode.NotConfigured, 'the service catalog is empty', {
        hint: 'add services: to millwright.yml, each with its kubernetes and github sections',
      });
    }
    return listReply(await deploys.overview({ signal: ctx.signal }), view);
  },
});
