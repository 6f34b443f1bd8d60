// runbook list|show|run: vetted runbooks from git, run with typed parameters, permissions,
// confirmation, progress and an audited outcome.
import {
  type ActionsBlock,
  type Block,
  badArgument,
  type Context,
  context,
  defineCommand,
  ErrorCode,
  errorReply,
  type FormField,
  fields,
  formatDuration,
  header,
  list,
  MillwrightError,
  originOf,
  parseDuration,
  type Reply,
  reply,
  table,
  text,
  viaOf,
} from '../src/core/index.js';
import type { LoadedRunbook, RunbookParam, RunOutcome, StepOutcome } from '../src/runbooks/index.js';
import { checkParam } from '../src/runbooks/params.js';

const STATUS_WORDS: Record<RunOutcome['status'], string> = {
  succeeded: 'succeeded',
  'succeeded-with-failures': 'finished with failed steps',
  failed: 'FAILED',
  'rolled-back': 'FAILED and was rolled back',
  'rollback-failed': 'FAILED and its rollback failed too',
  'dry-run': 'dry run complete, nothing was changed',
  aborted: 'was ABORTED mid-run (Millwright stopped); check the steps below before running it again',
};
const STEP_MARKS: Record<StepOutcome['status'], string> = {
  ok: 'ok',
  failed: 'FAILED',
  skipped: 'skipped',
  'dry-run': 'would run',
  'not-run': 'not run',
};

function paramLine(value: Record<string, unknown>): string {
  return Object.entries(value)
    .map(([key, v]) => `${key}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

function stepsTable(steps: StepOutcome[]) {
  return table(
    ['#', 'step', 'action', 'result', 'took', 'detail'],
    steps.map((s) => [
      s.phase === 'rollback' ? `r${s.position}` : String(s.position),
      s.label,
      s.uses,
      STEP_MARKS[s.status],
      s.status === 'ok' || s.status === 'failed' || s.status === 'dry-run'
        ? formatDuration(s.durationMs)
        : '',
      s.error?.hint ? `${s.summary} (${s.error.hint})` : s.summary,
    ]),
  );
}

/** A runbook's definition as raw values (shape: docs/schemas/runbook.schema.json#/definitions/runbook). */
function runbookData(runbook: LoadedRunbook) {
  const { metadata, spec } = runbook.spec;
  const stepData = (s: (typeof spec.steps)[number]) => ({
    id: s.id ?? null,
    name: s.name ?? null,
    uses: s.uses,
    conditional: s.when !== undefined,
    onFailure: s.onFailure,
    timeout: s.timeout ?? null,
  });
  return {
    name: metadata.name,
    description: metadata.description,
    owners: [...metadata.owners],
    services: [...metadata.services],
    tags: [...metadata.tags],
    risk: spec.risk,
    changeClass: spec.changeClass,
    confirm: spec.confirm,
    timeout: spec.timeout,
    timeoutSeconds: parseDuration(spec.timeout) / 1000,
    permissions: spec.permissions
      ? {
          roles: [...spec.permissions.roles],
          channels: spec.permissions.channels ? [...spec.permissions.channels] : null,
        }
      : null,
    file: runbook.file,
    params: spec.params.map((p) => ({
      name: p.name,
      type: p.type,
      required: p.required,
      description: p.description,
      default: p.default ?? null,
      values: p.values ? [...p.values] : null,
      min: p.min ?? null,
      max: p.max ?? null,
      pattern: p.pattern ?? null,
    })),
    steps: spec.steps.map(stepData),
    rollback: spec.rollback.map(stepData),
  };
}

/** A run's outcome as raw values: every step with its status and duration in seconds. */
function runData(
  ctx: Context,
  outcome: RunOutcome,
  params: Record<string, unknown>,
  dryRun: boolean,
  breakGlass: string | undefined,
) {
  return {
    runbook: outcome.runbook,
    status: outcome.status,
    dryRun,
    actor: ctx.actor.id,
    via: ctx.actor.via ?? null,
    params,
    breakGlass: breakGlass ?? null,
    durationSeconds: outcome.durationMs / 1000,
    steps: outcome.steps.map((s) => ({
      phase: s.phase,
      position: s.position,
      label: s.label,
      uses: s.uses,
      status: s.status,
      durationSeconds: s.durationMs / 1000,
      summary: s.summary,
      error: s.error ? { code: s.error.code, message: s.error.message, hint: s.error.hint ?? null } : null,
    })),
  };
}

/**
 * A given value as the form's prefill: in the form the runbook takes it (`yes` for a switch is
 * `true`, ` 7` is 7), or left with the runbook's own reason when a run would refuse it.
 */
function prefill(param: RunbookParam, raw: string): Pick<FormField, 'default' | 'defaultProblem'> {
  const checked = checkParam(param, raw);
  return 'value' in checked ? { default: checked.value } : { default: raw, defaultProblem: checked.problem };
}

function formFor(ctx: Context, runbook: LoadedRunbook, given: Record<string, string>): Block {
  const fieldsWanted: FormField[] = runbook.spec.spec.params.map((p) => ({
    name: p.name,
    label: p.name,
    type: p.type,
    required: p.required,
    description: p.description,
    ...(given[p.name] !== undefined
      ? prefill(p, given[p.name]!)
      : p.default !== undefined
        ? { default: p.default }
        : {}),
    ...(p.values ? { options: p.values } : {}),
    ...(p.min !== undefined ? { min: p.min } : {}),
    ...(p.max !== undefined ? { max: p.max } : {}),
    ...(p.maxLength !== undefined ? { maxLength: p.maxLength } : {}),
  }));
  const command = `runbook run ${runbook.spec.metadata.name}`;
  return {
    type: 'form',
    title: `Run ${runbook.spec.metadata.name}`,
    submitLabel: 'Run',
    command,
    fields: fieldsWanted,
    token: ctx.services.actions.sign({ command, channel: ctx.channel, requestedBy: ctx.actor.id }),
  };
}

async function run(
  ctx: Context,
  name: string,
  raw: Record<string, string>,
  flags: Set<string>,
  breakGlass?: string,
): Promise<Reply> {
  const { runbooks, actions } = ctx.services;
  const runbook = runbooks.get(name);
  const decision = runbooks.authorize(ctx.actor, runbook, ctx.channel, breakGlass);
  if (!decision.allowed) {
    throw runbooks.refusal(
      ctx.actor,
      runbook,
      ctx.channel,
      decision,
      breakGlass === undefined
        ? 'ask for a role the runbook allows, or run it in an allowed channel'
        : 'break-glass needs a role that holds runbook.break-glass',
      breakGlass,
    );
  }
  let params: ReturnType<typeof runbooks.params>;
  try {
    params = runbooks.params(runbook, raw);
  } catch (error) {
    // Missing or bad values: the error, plus a form so chat surfaces can ask for them.
    if (error instanceof MillwrightError && error.code === ErrorCode.BadArgument) {
      const failure = errorReply(error, ctx.ref);
      failure.blocks.push(formFor(ctx, runbook, raw));
      return failure;
    }
    throw error;
  }
  const { spec, metadata } = runbook.spec;
  const dryRun = flags.has('dry-run');
  const line = `runbook run ${metadata.name} ${paramLine(params)}`.trim();

  if (spec.confirm && !dryRun && !flags.has('yes')) {
    const confirmCommand = `${line}${breakGlass ? ` --break-glass reason=${JSON.stringify(breakGlass)}` : ''} --yes`;
    const buttons: ActionsBlock = {
      type: 'actions',
      actions: [
        {
          id: 'confirm',
          label: `Run ${metadata.name}`,
          style: 'danger',
          command: confirmCommand,
          token: actions.sign({ command: confirmCommand, channel: ctx.channel, requestedBy: ctx.actor.id }),
        },
        {
          id: 'dry-run',
          label: 'Dry run first',
          command: `${line} --dry-run`,
          token: actions.sign({
            command: `${line} --dry-run`,
            channel: ctx.channel,
            requestedBy: ctx.actor.id,
          }),
        },
      ],
    };
    const prompt = reply(
      header(`Confirm: ${metadata.name}`),
      text(`${metadata.description}\nRisk *${spec.risk}*, ${spec.changeClass} change. These steps will run:`),
      list(spec.steps.map((s, i) => `${i + 1}. ${s.name ?? s.id ?? s.uses} (${s.uses})`)),
      fields({ parameters: paramLine(params) || 'none', timeout: spec.timeout }),
      buttons,
      context(
        ctx.surface === 'shell'
          ? 'Add --yes to run it, or --dry-run to see what it would do.'
          : 'Nothing runs until someone confirms; the outcome is shown here.',
      ),
    );
    return { ...prompt, data: { confirm: { runbook: metadata.name, params, command: confirmCommand } } };
  }

  const total = spec.steps.length;
  const progress =
    total > 1 && !dryRun
      ? await ctx.reply(reply(text(`Running ${metadata.name}: step 1 of ${total}...`)))
      : undefined;
  const outcome = await runbooks.run(
    runbook,
    params,
    {
      actor: ctx.actor.id,
      ...viaOf(ctx.actor),
      surface: ctx.surface,
      channel: ctx.channel,
      ref: ctx.ref,
      clock: ctx.clock,
      signal: ctx.signal,
    },
    {
      dryRun,
      ...(breakGlass !== undefined ? { breakGlass } : {}),
      onStep: async (step) => {
        if (!progress || step.phase !== 'main' || step.position >= total || step.status === 'failed') return;
        await progress.update(
          reply(
            text(
              `Running ${metadata.name}: step ${step.position} ${STEP_MARKS[step.status]}, step ${step.position + 1} of ${total}...`,
            ),
          ),
        );
      },
    },
  );
  if (progress)
    await progress.update(
      reply(
        text(`${metadata.name} ${STATUS_WORDS[outcome.status]} in ${formatDuration(outcome.durationMs)}.`),
      ),
    );
  if (breakGlass !== undefined && !dryRun) await announceBreakGlass(ctx, metadata.name, breakGlass, outcome);

  const ok = outcome.status === 'succeeded' || outcome.status === 'dry-run';
  const answer: Reply = {
    ok,
    visibility: dryRun ? 'private' : 'public',
    blocks: [
      header(`${metadata.name} ${STATUS_WORDS[outcome.status]} in ${formatDuration(outcome.durationMs)}`),
      fields({
        by: ctx.actor.id,
        parameters: paramLine(params) || 'none',
        ...(breakGlass ? { 'break-glass': breakGlass } : {}),
      }),
      stepsTable(outcome.steps),
      context(`reference ${ctx.ref}; every step is in the audit trail`),
    ],
    data: { run: runData(ctx, outcome, params, dryRun, breakGlass) },
  };
  if (!ok) {
    const failed = outcome.steps.find((s) => s.status === 'failed');
    answer.error = {
      code: failed?.error?.code ?? ErrorCode.Internal,
      message: `${metadata.name} ${STATUS_WORDS[outcome.status]}${failed ? ` at ${failed.label}: ${failed.summary}` : ''}`,
      ...(failed?.error?.hint ? { hint: failed.error.hint } : {}),
    };
  }
  return answer;
}

/** Audits a break-glass run and tells of it; src/notices announces it where access.breakGlass.notify says. */
async function announceBreakGlass(
  ctx: Context,
  name: string,
  why: string,
  outcome: RunOutcome,
): Promise<void> {
  const target = ctx.services.config.access.breakGlass.notify;
  await ctx.audit('runbook.break-glass', { runbook: name, reason: why, status: outcome.status }, 'used');
  // The run happened and is audited; the bus logs a failed notice and never fails the run for it.
  await ctx.services.events.emit('runbook.break-glass', {
    runbook: name,
    reason: why,
    status: outcome.status,
    origin: originOf(ctx),
    ...(target ? { target } : {}),
  });
}

export default defineCommand({
  name: 'runbook',
  summary: 'List, inspect and run vetted runbooks',
  examples: ['runbook list', 'runbook run restart-deployment deployment=checkout'],
  subcommands: {
    list: {
      summary: 'List runbooks, optionally by service or tag',
      examples: ['runbook list', 'runbook list service=checkout', 'runbook list tag=kubernetes'],
      options: {
        service: { type: 'string', description: 'only runbooks for this service' },
        tag: { type: 'string', description: 'only runbooks with this tag' },
      },
      handler: (ctx, args) => {
        const { service, tag } = args.options as { service?: string; tag?: string };
        const found = ctx.services.runbooks.list({
          ...(service ? { service } : {}),
          ...(tag ? { tag } : {}),
        });
        const blocks: Block[] = [];
        if (found.length === 0) blocks.push(text('No runbooks match.'));
        else {
          blocks.push(
            table(
              ['runbook', 'what it does', 'risk', 'services', 'you may run it'],
              found.map((r) => [
                r.spec.metadata.name,
                r.spec.metadata.description,
                r.spec.spec.risk,
                r.spec.metadata.services.join(', '),
                ctx.services.runbooks.authorize(ctx.actor, r, ctx.channel).allowed ? 'yes' : 'no',
              ]),
            ),
          );
        }
        const broken = ctx.services.runbooks.problems;
        if (broken.length > 0) {
          blocks.push(
            context(
              `${new Set(broken.map((p) => p.file)).size} runbook file(s) did not load; millwright runbooks lint shows why.`,
            ),
          );
        }
        return {
          ...reply(...blocks),
          data: {
            runbooks: found.map((r) => ({
              ...runbookData(r),
              allowed: ctx.services.runbooks.authorize(ctx.actor, r, ctx.channel).allowed,
            })),
            // Files that did not load are a setup problem (`millwright runbooks lint`), not an unreadable part.
            unloaded: broken.map((p) => ({
              file: p.file,
              line: p.line,
              column: p.column,
              message: p.message,
            })),
          },
        };
      },
    },
    show: {
      summary: 'Show a runbook: parameters, permissions and steps',
      examples: ['runbook show restart-deployment'],
      positionals: [{ name: 'name', description: 'the runbook', required: true }],
      handler: (ctx, args) => {
        const runbook = ctx.services.runbooks.get(args.positionals.name!);
        const { metadata, spec } = runbook.spec;
        const permissions = spec.permissions
          ? `roles ${spec.permissions.roles.join(', ')}${spec.permissions.channels ? ` in ${spec.permissions.channels.join(', ')}` : ''}`
          : 'nobody (no permissions declared)';
        const answer = reply(
          header(`${metadata.name}: ${metadata.description}`),
          fields({
            owners: metadata.owners.join(', ') || 'none',
            services: metadata.services.join(', ') || 'none',
            risk: spec.risk,
            'change class': spec.changeClass,
            confirm: spec.confirm ? 'yes' : 'no',
            timeout: spec.timeout,
            'who may run it': permissions,
            file: runbook.file,
          }),
          spec.params.length
            ? table(
                ['parameter', 'type', 'required', 'default', 'rules', 'description'],
                spec.params.map((p) => [
                  p.name,
                  p.type,
                  p.required ? 'yes' : 'no',
                  p.default === undefined ? '' : String(p.default),
                  [
                    p.values ? `one of ${p.values.join('|')}` : '',
                    p.min !== undefined || p.max !== undefined ? `${p.min ?? ''}..${p.max ?? ''}` : '',
                    p.pattern ? `matches ${p.pattern}` : '',
                  ]
                    .filter(Boolean)
                    .join(', '),
                  p.description,
                ]),
              )
            : text('No parameters.'),
          list([
            ...spec.steps.map(
              (s, i) =>
                `${i + 1}. ${s.name ?? s.id ?? s.uses}: ${s.uses}${s.when ? ' (conditional)' : ''}, on failure ${s.onFailure}`,
            ),
            ...spec.rollback.map((s, i) => `rollback ${i + 1}. ${s.name ?? s.id ?? s.uses}: ${s.uses}`),
          ]),
        );
        return {
          ...answer,
          data: {
            runbook: {
              ...runbookData(runbook),
              allowed: ctx.services.runbooks.authorize(ctx.actor, runbook, ctx.channel).allowed,
            },
          },
        };
      },
    },
    run: {
      summary: 'Run a runbook with its parameters',
      examples: [
        'runbook run restart-deployment deployment=checkout',
        'runbook run scale-deployment deployment=checkout replicas=4 --dry-run',
      ],
      permission: 'runbook.run',
      positionals: [{ name: 'name', description: 'the runbook', required: true }],
      options: { reason: { type: 'string', description: 'why, for a break-glass run' } },
      extraOptions: "the runbook's parameters (runbook show NAME lists them)",
      flags: {
        'dry-run': 'show what each step would do; change nothing',
        yes: 'skip the confirmation',
        'break-glass':
          'run although your roles or this channel are not allowed (needs reason= and a break-glass role; loudly audited)',
      },
      timeoutMs: 60 * 60_000,
      handler: (ctx, args) => {
        const breakGlass = args.flags.has('break-glass');
        const reason = args.options.reason as string | undefined;
        if (breakGlass && !reason)
          throw badArgument(
            '--break-glass needs reason="..."',
            'say why, for example reason="checkout down, approver unreachable"',
            'reason',
          );
        if (!breakGlass && reason)
          throw badArgument('reason= is only for --break-glass runs', 'drop reason=, or add --break-glass');
        return run(ctx, args.positionals.name!, args.extra, args.flags, breakGlass ? reason : undefined);
      },
    },
  },
});
