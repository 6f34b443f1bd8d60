// change request|approve|deny|list|show|cancel|done|freeze|unfreeze|stats: approval-free changes
// through an explainable policy gate, with people in the loop only where the policy needs them.

import {
  type DeliveryStats,
  deliveryStats,
  deliveryStatsByTeam,
  failureRateOf,
  formatBudgetCost,
  formatFailureRate,
} from '../src/changes/delivery-stats.js';
import type { ChangeRequest, GateEvaluation } from '../src/changes/index.js';
import { explainRule } from '../src/changes/policy-gate.js';
import { awaitsPickup, FINAL_STATES, ranWithoutAPerson, servicesOf } from '../src/changes/types.js';
import { knownService } from '../src/changes/workloads.js';
import {
  type ActionsBlock,
  type AnswerProblem,
  type Block,
  badArgument,
  type Context,
  context,
  defineCommand,
  fields,
  formatWhen,
  header,
  list,
  originOf,
  partialAnswer,
  publicReply,
  type Reply,
  reply,
  table,
  text,
  untilFrom,
} from '../src/core/index.js';

const HEADLINES: Record<ChangeRequest['state'], string> = {
  'pending-approval': 'waits for approval',
  approved: 'is approved and queued',
  executing: 'is executing',
  'in-progress': 'is approved: go ahead',
  verifying: 'ran and is being verified',
  succeeded: 'succeeded',
  failed: 'FAILED',
  'rolled-back': 'failed and was rolled back',
  denied: 'was denied',
  cancelled: 'was cancelled',
  expired: 'expired',
};

/** The headline of a change's state; an approved delivery not yet picked up says who it waits for. */
const headlineOf = (change: ChangeRequest) =>
  awaitsPickup(change)
    ? `is approved; delivered when ${change.delivery!.pipeline} next asks`
    : HEADLINES[change.state];

const seconds = (from: string, to: string | undefined) =>
  to === undefined ? null : (new Date(to).getTime() - new Date(from).getTime()) / 1000;

/** A gate evaluation as raw values: every rule's verdict with the numbers it judged. */
function gateData(evaluation: GateEvaluation) {
  return {
    at: evaluation.at,
    purpose: evaluation.purpose,
    decision: evaluation.decision,
    rules: evaluation.rules.map((rule) => ({
      kind: rule.kind,
      status: rule.status,
      severity: rule.severity,
      service: rule.service ?? null,
      slo: rule.slo ?? null,
      value: rule.value ?? null,
      threshold: rule.threshold ?? null,
      unit: rule.unit ?? null,
      ...(rule.burnRates ? { burnRates: rule.burnRates } : {}),
      evidence: rule.evidence,
      fix: rule.fix ?? null,
      unreadable: rule.unreadable ?? null,
    })),
  };
}

/** One change as raw values, for `--json` (shape: docs/schemas/change.schema.json#/definitions/change). */
function changeData(change: ChangeRequest) {
  const latest = change.evaluations.at(-1);
  return {
    id: change.id,
    kind: change.kind,
    state: change.state,
    service: change.service,
    services: servicesOf(change),
    unowned: change.unowned ?? [],
    runbook: change.runbook ?? null,
    params: change.params ?? {},
    summary: change.summary,
    reason: change.reason ?? null,
    risk: change.risk,
    changeClass: change.changeClass,
    emergency: change.emergency ?? false,
    requestedBy: change.requestedBy,
    requestedAt: change.requestedAt,
    notBefore: change.notBefore ?? null,
    expiresAt: change.expiresAt,
    approvals: change.approvals.map((a) => ({ by: a.by, at: a.at, reason: a.reason ?? null })),
    gate: latest ? gateData(latest) : null,
    evaluations: change.evaluations.map(gateData),
    timeline: change.timeline.map((t) => ({ at: t.at, event: t.event, by: t.by, detail: t.detail ?? null })),
    execution: change.execution
      ? {
          startedAt: change.execution.startedAt,
          finishedAt: change.execution.finishedAt ?? null,
          durationSeconds: seconds(change.execution.startedAt, change.execution.finishedAt),
          status: change.execution.status ?? null,
          detail: change.execution.detail ?? null,
        }
      : null,
    verification: change.verification
      ? {
          // A baseline taken before the run leaves the times empty until verification starts.
          startedAt: change.verification.startedAt || null,
          until: change.verification.until || null,
          samples: change.verification.samples.map((sample) => ({
            at: sample.at,
            worstBurnRate: sample.worstBurnRate ?? null,
            page: sample.page,
            measured: sample.measured ?? null,
            note: sample.note,
          })),
        }
      : null,
  };
}

/**
 * The change with its data; partial (exit non-zero) when the gate verdict it reports needed an input
 * that could not be read, such as the error budget while Prometheus is down. `judgedSince` limits
 * that to a verdict made by this command (an approval reports its own run, not the request's gate);
 * `null` reports none (a denial or a cancel stands whatever the gate could read).
 */
function withChange(answer: Reply, change: ChangeRequest, judgedSince?: Date | null): Reply {
  const latest = change.evaluations.at(-1);
  const reported =
    judgedSince === null || !latest || (judgedSince && new Date(latest.at) < judgedSince) ? [] : latest.rules;
  const problems: AnswerProblem[] = reported.flatMap((rule) =>
    rule.unreadable
      ? [
          {
            part: `${change.id} gate rule ${rule.kind}${rule.slo ? ` (${rule.slo})` : rule.service ? ` (${rule.service})` : ''}`,
            code: rule.unreadable.code,
            message: rule.unreadable.message,
          },
        ]
      : [],
  );
  const withData: Reply = { ...answer, data: { change: changeData(change), problems } };
  // A refusal or a failed run already says why it is not ok; the missing input is in its evidence.
  return withData.ok
    ? partialAnswer(withData, problems, {
        hint: 'the gate could not judge every rule, so a person decides; retry when the source answers',
      })
    : withData;
}

function decisionBlocks(ctx: Context, change: ChangeRequest): Block[] {
  const latest = change.evaluations.at(-1);
  const blocks: Block[] = [
    header(`${change.id} ${headlineOf(change)}: ${change.summary}`),
    fields({
      [servicesOf(change).length > 1 ? 'services' : 'service']: servicesOf(change).join(', '),
      ...(change.unowned?.length ? { unowned: change.unowned.join(', ') } : {}),
      requested: `${change.requestedBy}, ${formatWhen(new Date(change.requestedAt), ctx.clock.now())}`,
      ...(change.delivery
        ? {
            [change.kind]:
              [change.delivery.version, change.delivery.environment && `to ${change.delivery.environment}`]
                .filter(Boolean)
                .join(' ') || 'no version given',
            pipeline: change.delivery.pipeline,
          }
        : {}),
      risk: `${change.risk} (${change.changeClass} change${change.emergency ? ', emergency' : ''})`,
      ...(change.reason ? { reason: change.reason } : {}),
      ...(change.notBefore ? { 'runs at': formatWhen(new Date(change.notBefore), ctx.clock.now()) } : {}),
      ...(change.approvals.length ? { 'approved by': change.approvals.map((a) => a.by).join(', ') } : {}),
    }),
  ];
  if (latest) {
    blocks.push(
      text(`*Policy gate (${latest.purpose}): ${latest.decision}*`),
      list(latest.rules.map(explainRule)),
    );
  }
  if (change.state === 'pending-approval') {
    const approve = `change approve ${change.id}`;
    const deny = `change deny ${change.id} reason="not now"`;
    const buttons: ActionsBlock = {
      type: 'actions',
      actions: [
        {
          id: 'approve',
          label: 'Approve',
          style: 'primary',
          command: approve,
          token: ctx.services.actions.sign({ command: approve, channel: ctx.channel }),
        },
        {
          id: 'deny',
          label: 'Deny',
          style: 'danger',
          command: deny,
          token: ctx.services.actions.sign({ command: deny, channel: ctx.channel }),
        },
      ],
    };
    blocks.push(buttons);
  }
  return blocks;
}

export default defineCommand({
  name: 'change',
  summary: 'File, approve and follow changes through the policy gate',
  examples: ['change request restart-deployment deployment=checkout', 'change list service=checkout'],
  subcommands: {
    request: {
      summary: 'Request a change: a runbook Millwright runs, or a change a person performs',
      examples: [
        'change request restart-deployment deployment=checkout reason="stuck connections"',
        'change request service=checkout summary="raise db pool to 50" risk=low',
      ],
      positionals: [
        { name: 'runbook', description: 'the runbook to run (leave out for a change you perform yourself)' },
      ],
      options: {
        service: {
          type: 'string',
          description: 'the service (a runbook change: only to confirm; the workload it changes decides)',
        },
        summary: { type: 'string', description: 'what a person will change (manual changes)' },
        risk: { type: 'enum', values: ['low', 'medium', 'high'], description: 'risk of a manual change' },
        reason: { type: 'string', description: 'why' },
        at: { type: 'time', description: 'run later, at this time (ISO, for example 2026-11-26T22:00Z)' },
      },
      flags: {
        emergency:
          'a fix for an outage: goes through while the error-budget policy freezes the service (needs reason=)',
      },
      extraOptions: "the runbook's parameters",
      timeoutMs: 60 * 60_000,
      handler: async (ctx, args) => {
        const o = args.options as {
          service?: string;
          summary?: string;
          risk?: 'low' | 'medium' | 'high';
          reason?: string;
          at?: Date;
        };
        const runbook = args.positionals.runbook;
        if (!runbook && Object.keys(args.extra).length)
          throw badArgument(
            `unknown option ${Object.keys(args.extra)[0]}=`,
            'runbook parameters need a runbook name first',
          );
        // `at=2h` means two hours from now here, not ago.
        const at =
          o.at && o.at < ctx.clock.now() ? new Date(2 * ctx.clock.now().getTime() - o.at.getTime()) : o.at;
        const change = await ctx.services.changes.request(originOf(ctx), {
          ...(runbook ? { runbook, params: args.extra } : {}),
          ...(o.service ? { service: o.service } : {}),
          ...(o.summary ? { summary: o.summary } : {}),
          ...(o.risk ? { risk: o.risk } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
          ...(at ? { at } : {}),
          ...(args.flags.has('emergency') ? { emergency: true } : {}),
        });
        const answer = publicReply(...decisionBlocks(ctx, change));
        if (change.state === 'denied' || change.state === 'failed' || change.state === 'rolled-back') {
          answer.ok = false;
          const blockers = change.evaluations.at(-1)?.rules.filter((r) => r.status !== 'pass') ?? [];
          answer.error = {
            code: change.state === 'denied' ? 'millwright_change_denied' : 'millwright_change_failed',
            message: `${change.id} ${HEADLINES[change.state]}${blockers.length ? `: ${blockers.map((r) => r.evidence).join('; ')}` : ''}`,
            ...(blockers[0]?.fix ? { hint: blockers[0].fix } : {}),
          };
        }
        return withChange(answer, change);
      },
    },
    approve: {
      summary: 'Approve a change that waits for approval (not your own)',
      examples: ['change approve CR-12', 'change approve CR-12 reason="checked the dashboards"'],
      positionals: [{ name: 'id', description: 'the change', required: true }],
      options: { reason: { type: 'string', description: 'why' } },
      timeoutMs: 60 * 60_000,
      handler: async (ctx, args) => {
        const started = ctx.clock.now();
        const reason = args.options.reason as string | undefined;
        const change = await ctx.services.changes.approve(originOf(ctx), args.positionals.id!, reason);
        return withChange(
          publicReply(...decisionBlocks(ctx, change), context(`approved by ${ctx.actor.id}`)),
          change,
          started,
        );
      },
    },
    deny: {
      summary: 'Deny a change, with a reason',
      examples: ['change deny CR-12 reason="wait for the incident to close"'],
      positionals: [{ name: 'id', description: 'the change', required: true }],
      options: { reason: { type: 'string', description: 'why', required: true } },
      handler: async (ctx, args) => {
        const change = await ctx.services.changes.deny(
          originOf(ctx),
          args.positionals.id!,
          args.options.reason as string,
        );
        return withChange(
          publicReply(
            header(`${change.id} was denied by ${ctx.actor.id}`),
            text(String(args.options.reason)),
          ),
          change,
          null,
        );
      },
    },
    cancel: {
      summary: 'Cancel a change that has not run yet',
      examples: ['change cancel CR-12'],
      positionals: [{ name: 'id', description: 'the change', required: true }],
      handler: async (ctx, args) => {
        const change = await ctx.services.changes.cancel(originOf(ctx), args.positionals.id!);
        return withChange(publicReply(header(`${change.id} was cancelled by ${ctx.actor.id}`)), change, null);
      },
    },
    done: {
      summary: 'Close a change you performed yourself',
      examples: ['change done CR-12', 'change done CR-12 outcome=failed'],
      positionals: [{ name: 'id', description: 'the change', required: true }],
      options: {
        outcome: {
          type: 'enum',
          values: ['success', 'failed'],
          default: 'success',
          description: 'how it went',
        },
      },
      handler: async (ctx, args) => {
        const started = ctx.clock.now();
        const change = await ctx.services.changes.done(
          originOf(ctx),
          args.positionals.id!,
          args.options.outcome as 'success' | 'failed',
        );
        return withChange(publicReply(...decisionBlocks(ctx, change)), change, started);
      },
    },
    list: {
      summary: 'List changes, newest first',
      examples: ['change list', 'change list service=checkout state=pending-approval', 'change list --mine'],
      options: {
        service: { type: 'string', description: 'only this service' },
        state: { type: 'string', description: 'only changes in this state' },
        n: { type: 'int', description: 'how many', default: 20, min: 1, max: 200 },
      },
      flags: { mine: 'only changes you requested' },
      handler: async (ctx, args) => {
        const { service, state, n } = args.options as { service?: string; state?: string; n: number };
        const changes = (
          await ctx.services.changes.list({
            ...(service ? { service } : {}),
            ...(state ? { state } : {}),
            ...(args.flags.has('mine') ? { requestedBy: ctx.actor.id } : {}),
          })
        ).slice(0, n);
        const data = { changes: changes.map(changeData) };
        if (changes.length === 0) return { ...reply(text('No changes match.')), data };
        const answer = reply(
          table(
            ['id', 'state', 'service', 'what', 'by', 'requested'],
            changes.map((c) => [
              c.id,
              c.state,
              servicesOf(c).join(', '),
              c.summary,
              c.requestedBy,
              formatWhen(new Date(c.requestedAt), ctx.clock.now()),
            ]),
          ),
        );
        return { ...answer, data };
      },
    },
    show: {
      summary: 'Show a change with its full timeline and every rule the gate evaluated',
      examples: ['change show CR-12'],
      positionals: [{ name: 'id', description: 'the change', required: true }],
      handler: async (ctx, args) => {
        const change = await ctx.services.changes.get(args.positionals.id!);
        const now = ctx.clock.now();
        const policy = await policyStates(ctx, change);
        const answer = reply(
          ...decisionBlocks(ctx, change),
          ...(policy.length
            ? [
                fields(
                  policy.map((p) => ({
                    label: `error-budget policy (${p.service})`,
                    value: `${p.state}${p.since ? ` since ${formatWhen(new Date(p.since), now)}` : ''}: ${p.detail}`,
                  })),
                ),
              ]
            : []),
          table(
            ['when', 'event', 'by', 'detail'],
            change.timeline.map((t) => [formatWhen(new Date(t.at), now), t.event, t.by, t.detail ?? '']),
          ),
          ...(change.verification?.samples.length
            ? [list(change.verification.samples.map((s) => `${formatWhen(new Date(s.at), now)}: ${s.note}`))]
            : []),
        );
        const shown = withChange(answer, change);
        return { ...shown, data: { ...shown.data, budgetPolicy: policy } };
      },
    },
    freeze: {
      summary: 'Freeze changes to a service until a time',
      examples: ['change freeze service=checkout until=2026-11-30T18:00Z reason="black friday"'],
      options: {
        service: { type: 'string', required: true, description: 'the service' },
        until: {
          type: 'string',
          required: true,
          description: 'when the freeze ends (ISO time, or a duration like 4h)',
        },
        reason: { type: 'string', required: true, description: 'why' },
      },
      handler: async (ctx, args) => {
        const { service, until, reason } = args.options as { service: string; until: string; reason: string };
        const end = untilFrom(until, ctx.clock.now());
        const freeze = await ctx.services.changes.freeze(originOf(ctx), service, end, reason);
        return {
          ...publicReply(
            header(`${service} is frozen until ${formatWhen(new Date(freeze.until), ctx.clock.now())}`),
            text(reason),
          ),
          data: {
            freeze: {
              service: freeze.service,
              until: freeze.until,
              inSeconds: seconds(ctx.clock.now().toISOString(), freeze.until),
              reason: freeze.reason,
              by: freeze.by,
              at: freeze.at,
            },
          },
        };
      },
    },
    unfreeze: {
      summary: 'Lift an ad-hoc freeze',
      examples: ['change unfreeze service=checkout'],
      options: { service: { type: 'string', required: true, description: 'the service' } },
      handler: async (ctx, args) => {
        const service = args.options.service as string;
        const removed = await ctx.services.changes.unfreeze(originOf(ctx), service);
        return {
          ...publicReply(
            text(removed ? `${service} is no longer frozen.` : `${service} had no ad-hoc freeze.`),
          ),
          data: { unfreeze: { service, removed: Boolean(removed) } },
        };
      },
    },
    stats: {
      summary: 'Change statistics: frequency, failure rate, approvals avoided',
      examples: ['change stats', 'change stats service=checkout days=7'],
      options: {
        service: { type: 'string', description: 'only this service' },
        days: { type: 'int', default: 30, min: 1, max: 365, description: 'how far back' },
      },
      handler: async (ctx, args) => {
        const { service, days } = args.options as { service?: string; days: number };
        // A name the catalog lacks is a typo, not a service with nothing to report.
        if (service !== undefined) knownService(service, ctx.services.config.services);
        const since = ctx.clock.now().getTime() - days * 86_400_000;
        const changes = (await ctx.services.changes.list(service ? { service } : {})).filter(
          (c) => new Date(c.requestedAt).getTime() >= since,
        );
        const ran = changes.filter((c) => c.execution);
        // A change still running or in verification has no outcome yet: neither side of the rate.
        const ended = ran.filter((c) => FINAL_STATES.includes(c.state));
        const failed = ended.filter((c) => c.state === 'failed' || c.state === 'rolled-back');
        const open = ran.length - ended.length;
        const auto = changes.filter(ranWithoutAPerson);
        const restore = await timeToRestore(ctx, service, since);
        const delivered = deliveries(ctx, changes, days);
        const answer = reply(
          header(`Changes${service ? ` to ${service}` : ''} in the last ${days} days`),
          fields({
            'changes executed': `${ran.length} (${(ran.length / days).toFixed(2)} per day)`,
            'change failure rate': ended.length
              ? `${((100 * failed.length) / ended.length).toFixed(1)}% (${failed.length} of ${ended.length})${open ? `, ${open} in verification` : ''}`
              : ran.length
                ? `none verified yet (${open} in verification)`
                : 'no changes executed',
            'time to restore': restore.incidents
              ? `${Math.round(restore.meanSeconds! / 60)} min mean over ${restore.incidents} incident(s)`
              : 'no resolved incidents in this period',
            'approvals avoided': `${auto.length} change(s) went through with no human in the loop`,
            'waiting for approval': String(changes.filter((c) => c.state === 'pending-approval').length),
          }),
          ...delivered.blocks,
        );
        return {
          ...answer,
          data: {
            stats: {
              service: service ?? null,
              days,
              since: new Date(since).toISOString(),
              requested: changes.length,
              executed: ran.length,
              executedPerDay: ran.length / days,
              failed: failed.length,
              failureRate: ended.length ? failed.length / ended.length : null,
              approvalsAvoided: auto.length,
              waitingForApproval: changes.filter((c) => c.state === 'pending-approval').length,
              restoredIncidents: restore.incidents,
              meanTimeToRestoreSeconds: restore.meanSeconds,
              deliveries: delivered.data,
            },
          },
        };
      },
    },
  },
});

/**
 * The error-budget policy's state of each service the change touches (normal before a first reading);
 * empty when no policy is configured.
 */
async function policyStates(ctx: Context, change: ChangeRequest) {
  const policy = ctx.services.changes.budgetPolicy;
  if (!policy) return [];
  return Promise.all(
    servicesOf(change).map(async (service) => {
      const record = await policy.stateOf(service);
      return {
        service,
        state: record?.state ?? 'normal',
        since: record?.since ?? null,
        detail: record?.detail ?? 'no reading yet',
        override: record?.override ?? null,
      };
    }),
  );
}

/** The DORA figures of a group of deliveries as raw values: frequency, failure rate, budget cost. */
function figuresData(figures: Omit<DeliveryStats, 'service'>, days: number) {
  return {
    deployments: figures.delivered,
    deploymentsPerDay: figures.delivered / days,
    verified: figures.verified,
    failed: figures.failed,
    changeFailureRate: failureRateOf(figures),
    budgetCostPerDeployment: figures.budgetCost ?? null,
    measured: figures.measured,
  };
}

/** The pipelines' deliveries per service and per team (the catalog's `team`), with their raw values. */
function deliveries(ctx: Context, changes: readonly ChangeRequest[], days: number) {
  const catalog = ctx.services.config.services;
  const teamOf = (service: string) => catalog[service]?.team;
  const services = deliveryStats(changes);
  const teams = deliveryStatsByTeam(changes, teamOf);
  const frequency = (n: number) => `${(n / days).toFixed(2)} per day`;
  const row = (name: string, s: Omit<DeliveryStats, 'service'>) => [
    name,
    String(s.delivered),
    formatFailureRate(s),
    formatBudgetCost(s),
    frequency(s.delivered),
  ];
  const columns = ['change failure rate', 'budget cost per deployment', 'deployment frequency'];
  const blocks: Block[] = services.length
    ? [
        text('*Gated deliveries (pipelines)*'),
        table(
          ['service', 'deployments', ...columns],
          services.map((s) => row(s.service, s)),
        ),
        table(
          ['team', 'deployments', ...columns],
          teams.map((t) => row(t.team, t)),
        ),
        context(
          'DORA figures from the gated deliveries: a failure is a delivery whose verification failed; the budget cost is the error budget left before it less after its verification window, in percentage points.',
        ),
      ]
    : [];
  return {
    blocks,
    data: {
      services: services.map((s) => ({
        service: s.service,
        team: teamOf(s.service) ?? null,
        ...figuresData(s, days),
      })),
      teams: teams.map((t) => ({ team: t.team, services: t.services, ...figuresData(t, days) })),
    },
  };
}

/** Mean time from declaring to resolving the period's resolved incidents; null with none. */
async function timeToRestore(
  ctx: Context,
  service: string | undefined,
  since: number,
): Promise<{ incidents: number; meanSeconds: number | null }> {
  const incidents = await ctx.services.store.list<{
    id: string;
    service: string;
    declaredAt?: string;
    resolvedAt?: string;
  }>(
    'incidents',
    (i) =>
      (!service || i.service === service) &&
      Boolean(i.resolvedAt) &&
      new Date(i.declaredAt ?? 0).getTime() >= since,
  );
  if (incidents.length === 0) return { incidents: 0, meanSeconds: null };
  const mean =
    incidents.reduce(
      (sum, i) => sum + (new Date(i.resolvedAt!).getTime() - new Date(i.declaredAt!).getTime()),
      0,
    ) / incidents.length;
  return { incidents: incidents.length, meanSeconds: mean / 1000 };
}
