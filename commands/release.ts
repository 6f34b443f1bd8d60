// release start|status|promote|abort|list: progressive rollouts judged by the SLOs. A release is a
// change (the policy gate lets it start, and pauses it on a freeze or an incident); its canary takes
// a growing share of traffic and is promoted or rolled back by the numbers.
import { explainRule } from '../src/changes/policy-gate.js';
import {
  badArgument,
  type Context,
  context,
  defineCommand,
  fields,
  formatWhen,
  header,
  list,
  originOf,
  publicReply,
  type Reply,
  reply,
  table,
  text,
} from '../src/core/index.js';
import { currentShare, lastVerdict, releaseBlocks } from '../src/notices/release-notices.js';
import type { ReleaseRecord } from '../src/releases/controller.js';
import { parseSteps } from '../src/releases/plan.js';

/** One release as raw values (shape: docs/schemas/release.schema.json#/definitions/release). */
export function releaseData(release: ReleaseRecord) {
  const verdict = lastVerdict(release);
  return {
    id: release.id,
    service: release.service,
    image: release.image,
    stableImage: release.stableImage ?? null,
    state: release.plan.state,
    steps: [...release.plan.steps],
    step: release.plan.step,
    share: currentShare(release),
    waited: release.plan.waited,
    because: release.plan.because ?? null,
    intervalSeconds: release.intervalMs / 1000,
    change: release.changeId ?? null,
    requester: release.requester,
    createdAt: release.createdAt,
    analysis: { ...release.analysis },
    lastVerdict: verdict
      ? {
          decision: verdict.decision,
          reason: verdict.reason,
          slis: (verdict.slis ?? []).map((sli) => ({
            sli: sli.sli,
            outcome: sli.outcome,
            test: sli.test,
            canary: { ...sli.canary },
            stable: { ...sli.stable },
            canaryRatio: sli.canaryRatio,
            stableRatio: sli.stableRatio,
            pValue: sli.pValue ?? null,
          })),
        }
      : null,
    history: release.history.map((entry) => ({
      at: entry.at,
      event: entry.event,
      state: entry.state,
      step: entry.step,
      action: entry.action ?? null,
      share: entry.share ?? null,
      decision: entry.verdict?.decision ?? null,
      reason: entry.verdict?.reason ?? null,
    })),
  };
}

const FAILED = new Set(['aborted']);

/** The release with its data; not ok (exit 1) when it is aborted. */
function withRelease(ctx: Context, release: ReleaseRecord, extra: Block[] = []): Reply {
  const answer = publicReply(...releaseBlocks(release, ctx.clock.now()), ...extra);
  const data = { release: releaseData(release) };
  if (FAILED.has(release.plan.state)) {
    return {
      ...answer,
      ok: false,
      error: {
        code: 'millwright_release_aborted',
        message: `${release.id} was aborted: ${release.plan.because ?? 'see its history'}`,
        hint: `release status ${release.id} has every step`,
      },
      data,
    };
  }
  return { ...answer, data };
}

type Block = Parameters<typeof publicReply>[number];

/** `steps=5,25,50,100` as a list, with the one-line error for anything else. */
function stepsOption(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseSteps(raw);
  } catch (error) {
    throw badArgument(
      (error as Error).message,
      'release start checkout image=2.4.0 steps=10,50,100',
      'steps',
    );
  }
}

export default defineCommand({
  name: 'release',
  summary: 'Progressive releases: a canary judged by the SLOs, promoted or rolled back by the numbers',
  examples: ['release start checkout image=2.4.0', 'release status checkout', 'release list'],
  subcommands: {
    start: {
      summary: 'Start a release: file it as a change, then move a canary through the steps',
      description:
        'The canary Deployment `<stable>-canary` runs the new image next to the stable one, with a share of the pods per step (traffic share ≈ replica share). After each interval the canary is compared with the stable on every SLI of the service; it moves on only when it is not worse. A freeze or an incident pauses it; a failed verdict, crash-looping pods or a paging budget abort it.',
      examples: [
        'release start checkout image=2.4.0',
        'release start checkout image=registry.example.com/shop/checkout:2.4.0 steps=10,50,100 interval=10m',
        'release start checkout image=2.4.0 --dry-run',
      ],
      positionals: [{ name: 'service', description: 'the service (from the catalog)', required: true }],
      options: {
        image: {
          type: 'string',
          required: true,
          description: "the new image: a tag for the stable's repository, or a full reference",
        },
        steps: { type: 'string', description: "the canary's share per step in percent, ending at 100" },
        interval: {
          type: 'duration',
          description: 'how long each step runs before it is judged (at least 1m)',
        },
        reason: { type: 'string', description: 'why' },
      },
      flags: {
        'dry-run': 'say what each step would do and have the API server check the first; change nothing',
      },
      timeoutMs: 5 * 60_000,
      handler: async (ctx, args) => {
        const o = args.options as { image: string; steps?: string; interval?: number; reason?: string };
        const steps = stepsOption(o.steps);
        if (o.interval !== undefined && o.interval < 60_000)
          throw badArgument(
            'interval must be at least 1m: a shorter one has too few requests to judge',
            'release start checkout image=2.4.0 interval=5m',
            'interval',
          );
        const started = await ctx.services.releases.start(
          originOf(ctx),
          {
            service: args.positionals.service!,
            image: o.image,
            ...(steps ? { steps } : {}),
            ...(o.interval !== undefined ? { intervalMs: o.interval } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
          },
          args.flags.has('dry-run'),
        );
        if (started.kind === 'dry-run') {
          const { plan } = started;
          return {
            ...reply(
              header(`Dry run: ${plan.service} → ${plan.image}, nothing changed`),
              fields({
                stable: `${plan.stableImage}, ${plan.stableReplicas} pods`,
                interval: `${Math.round(plan.intervalMs / 60_000)}m per step`,
              }),
              table(
                ['step', 'share', 'canary pods', 'share reached'],
                plan.steps.map((step, i) => [
                  String(i + 1),
                  `${step.share}%`,
                  step.share >= 100 ? 'promotion' : String(step.canaryReplicas),
                  `${step.reached}%`,
                ]),
              ),
              context(plan.check),
            ),
            data: { release: null, change: null, dryRun: plan },
          };
        }
        const { change } = started;
        const changeData = { id: change.id, state: change.state };
        if (started.kind === 'started') {
          const answer = withRelease(ctx, started.release, [
            context(`filed as ${change.id}; release status ${started.release.id} follows it`),
          ]);
          return { ...answer, data: { ...answer.data, change: changeData, dryRun: null } };
        }
        const blockers = change.evaluations.at(-1)?.rules.filter((rule) => rule.status !== 'pass') ?? [];
        const waiting = change.state === 'pending-approval';
        const message = waiting
          ? `${change.id} needs approval before the release of ${change.service} starts${blockers.length ? `: ${blockers.map((r) => r.evidence).join('; ')}` : ''}`
          : `${change.id} was ${change.state}; the release of ${change.service} did not start${blockers.length ? `: ${blockers.map((r) => r.evidence).join('; ')}` : ''}`;
        return {
          ...publicReply(
            header(message),
            list(blockers.map(explainRule)),
            text(
              waiting
                ? `Once an approver runs change approve ${change.id}, the release starts by itself.`
                : '',
            ),
          ),
          ok: false,
          error: {
            code: waiting ? 'millwright_release_waiting' : 'millwright_release_refused',
            message,
            hint: waiting
              ? `ask an approver: change approve ${change.id}`
              : (blockers[0]?.fix ?? `change show ${change.id}`),
          },
          data: { release: null, change: changeData, dryRun: null },
        };
      },
    },
    status: {
      summary: 'Show a release (or the latest of a service) with every step and verdict',
      examples: ['release status REL-3', 'release status checkout'],
      positionals: [{ name: 'target', description: 'a release id, or a service for its latest release' }],
      handler: async (ctx, args) => {
        const target = args.positionals.target;
        const release = await findRelease(ctx, target);
        const now = ctx.clock.now();
        return withRelease(ctx, release, [
          table(
            ['when', 'event', 'state', 'share'],
            release.history.map((entry) => [
              formatWhen(new Date(entry.at), now),
              entry.verdict ? `${entry.event}: ${entry.verdict.reason}` : entry.event,
              entry.state,
              entry.share === undefined ? '' : `${entry.share}%`,
            ]),
          ),
        ]);
      },
    },
    promote: {
      summary: 'Move a release to its next step now (not past a freeze or an incident)',
      examples: ['release promote REL-3'],
      positionals: [{ name: 'id', description: 'the release', required: true }],
      timeoutMs: 15 * 60_000,
      handler: async (ctx, args) => {
        const release = await ctx.services.releases.promote(originOf(ctx), args.positionals.id!);
        return withRelease(ctx, release, [context(`promoted by ${ctx.actor.id}`)]);
      },
    },
    abort: {
      summary: 'Stop a release: the canary goes, the stable keeps serving',
      examples: ['release abort REL-3', 'release abort REL-3 reason="latency looks off"'],
      positionals: [{ name: 'id', description: 'the release', required: true }],
      options: { reason: { type: 'string', description: 'why' } },
      timeoutMs: 5 * 60_000,
      handler: async (ctx, args) => {
        const reason = args.options.reason as string | undefined;
        const release = await ctx.services.releases.abort(originOf(ctx), args.positionals.id!, reason);
        // Aborting on purpose is what was asked: the reply is ok, the data says aborted.
        const answer = withRelease(ctx, release);
        const { error: _aborted, ...rest } = answer;
        return { ...rest, ok: true };
      },
    },
    list: {
      summary: 'List releases, newest first',
      examples: ['release list', 'release list service=checkout', 'release list --open'],
      options: {
        service: { type: 'string', description: 'only this service' },
        n: { type: 'int', description: 'how many', default: 20, min: 1, max: 200 },
      },
      flags: { open: 'only releases not over yet' },
      handler: async (ctx, args) => {
        const { service, n } = args.options as { service?: string; n: number };
        const releases = (
          await ctx.services.releases.list({
            ...(service ? { service } : {}),
            ...(args.flags.has('open') ? { open: true } : {}),
          })
        ).slice(0, n);
        const data = { releases: releases.map(releaseData) };
        if (releases.length === 0) return { ...reply(text('No releases match.')), data };
        const now = ctx.clock.now();
        return {
          ...reply(
            table(
              ['id', 'service', 'image', 'state', 'share', 'started'],
              releases.map((r) => [
                r.id,
                r.service,
                r.image,
                r.plan.state,
                `${currentShare(r)}%`,
                formatWhen(new Date(r.createdAt), now),
              ]),
            ),
          ),
          data,
        };
      },
    },
  },
});

/** A release by id, or the latest of a service, or the latest of all. */
async function findRelease(ctx: Context, target: string | undefined): Promise<ReleaseRecord> {
  if (target && /^rel-\d+$/i.test(target)) return ctx.services.releases.get(target);
  const releases = await ctx.services.releases.list(target ? { service: target } : {});
  const latest = releases[0];
  if (!latest)
    throw badArgument(
      target ? `${target} has no release` : 'there is no release yet',
      'release start SERVICE image=TAG starts one',
    );
  return latest;
}
