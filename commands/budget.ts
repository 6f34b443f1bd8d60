// budget [SERVICE|SLO] [at=TIME] [--explain]: error budget left, burn rates, burn state and time to
// exhaustion for every SLO (worst first), or the detail and a chart for one service or SLO.
import type { BudgetPolicyRecord } from '../src/changes/index.js';
import {
  type AnswerProblem,
  type Block,
  badArgument,
  type Context,
  context,
  defineCommand,
  ErrorCode,
  fields,
  formatWhen,
  header,
  type ImageBlock,
  MillwrightError,
  nearest,
  originOf,
  partialAnswer,
  publicReply,
  type Reply,
  reply,
  table,
  text,
  untilFrom,
} from '../src/core/index.js';
import { describeReading, formatBurn, formatExhaustion } from '../src/slo/burn-rate.js';
import { isoSeconds } from '../src/slo/coverage.js';
import {
  formatRemaining,
  formatSli,
  formatSoonestExhaustion,
  summarizeEvaluation,
} from '../src/slo/format.js';
import type { Reading, SloEvaluation, SloService } from '../src/slo/index.js';
import { sloLabel } from '../src/slo/spec.js';

const image = (url: string, alt: string): ImageBlock => ({ type: 'image', url, alt });

/** How far ahead of this clock at= may be: another machine's clock (the caller's) may run a little fast. */
const CLOCK_SKEW_MS = 60_000;

function ratioText(reading: Reading): string {
  if (reading.kind !== 'value') return describeReading(reading);
  return `${Number((reading.value * 100).toPrecision(4))}%`;
}

/**
 * Readings that are not numbers, with the query that gave them, so the gap can be fixed: one line
 * per distinct problem, naming every window it hit.
 */
function gaps(evaluation: SloEvaluation): string[] {
  const seen = new Map<string, { windows: string[]; line: (windows: string) => string }>();
  const readings: Array<[string, Reading]> = [
    [evaluation.slo.window, evaluation.errorRatio],
    ...evaluation.burnRates.map((burn) => [burn.window, burn.errorRatio] as [string, Reading]),
  ];
  const note = (key: string, window: string, line: (windows: string) => string) => {
    const entry = seen.get(key) ?? { windows: [], line };
    if (!entry.windows.includes(window)) entry.windows.push(window);
    seen.set(key, entry);
  };
  for (const [window, reading] of readings) {
    if (reading.kind === 'no_data') {
      const query = reading.query;
      note(`no data ${query}`, window, (windows) => `no data for ${windows}: \`${query}\``);
    }
    if (reading.kind === 'unknown') {
      const message = reading.message;
      note(`unknown ${message}`, window, (windows) => `unknown for ${windows}: ${message}`);
    }
  }
  return [...seen.values()].map(({ windows, line }) => line(windows.join(', ')));
}

/** A reading as raw values: the number, or null with what it is instead (no_traffic, no_data, unknown). */
function readingData(reading: Reading): { value: number | null; kind: Reading['kind'] } {
  return { value: reading.kind === 'value' ? reading.value : null, kind: reading.kind };
}

/** The raw values of one evaluation, for `--json` (shape: docs/schemas/budget.schema.json). */
function evaluationData(evaluation: SloEvaluation) {
  const { slo } = evaluation;
  return {
    slo: sloLabel(slo),
    service: slo.service,
    objective: slo.objective,
    window: slo.window,
    evaluatedAt: evaluation.at.toISOString(),
    state: evaluation.state,
    stateReason: evaluation.stateReason,
    sli: readingData(evaluation.sli),
    errorRatio: readingData(evaluation.errorRatio),
    budgetRemaining: readingData(evaluation.budgetRemaining),
    burnRates: evaluation.burnRates.map((burn) => ({
      window: burn.window,
      errorRatio: readingData(burn.errorRatio),
      burnRate: readingData(burn.burnRate),
    })),
    exhaustion: evaluation.exhaustion.map((e) => ({
      window: e.window,
      status: e.status,
      inSeconds: e.inMs === undefined ? null : e.inMs / 1000,
      at: e.inMs === undefined ? null : new Date(evaluation.at.getTime() + e.inMs).toISOString(),
    })),
  };
}

/**
 * Every SLO unknown because Prometheus did not answer: a failure (exit 1) in one line, not a page of
 * "unknown"; `data` still lists the SLOs with their objectives and every number null.
 */
function prometheusDown(evaluations: SloEvaluation[]): Reply | undefined {
  const down = evaluations.every(
    (evaluation) =>
      evaluation.errorRatio.kind === 'unknown' &&
      evaluation.errorRatio.code === ErrorCode.PrometheusUnavailable,
  );
  if (!down || evaluations.length === 0) return undefined;
  const reading = evaluations[0]!.errorRatio as Extract<Reading, { kind: 'unknown' }>;
  return {
    ok: false,
    blocks: [],
    data: { slos: evaluations.map(evaluationData), problems: unreadWindows(evaluations) },
    error: {
      code: ErrorCode.PrometheusUnavailable,
      message: reading.message,
      hint: 'no budget is known until Prometheus answers; check that it is up and prometheus.url is right',
    },
  };
}

/**
 * The windows Prometheus did not answer, per SLO: the answer is partial (exit non-zero), with every
 * number it could read in `data`. No data and no traffic are answers, not failures.
 */
function unreadWindows(evaluations: readonly SloEvaluation[]): AnswerProblem[] {
  return evaluations.flatMap((evaluation) => {
    const readings: Array<[string, Reading]> = [
      [evaluation.slo.window, evaluation.errorRatio],
      ...evaluation.burnRates.map((burn) => [burn.window, burn.errorRatio] as [string, Reading]),
    ];
    const unread = readings.filter(
      (entry): entry is [string, Extract<Reading, { kind: 'unknown' }>] => entry[1].kind === 'unknown',
    );
    const first = unread[0]?.[1];
    if (!first) return [];
    const windows = [...new Set(unread.map(([window]) => window))].join(', ');
    return [{ part: `${sloLabel(evaluation.slo)} (${windows})`, code: first.code, message: first.message }];
  });
}

/** The reply with its raw values, partial when a window could not be read. */
function withReadings(answer: Reply, evaluations: readonly SloEvaluation[]): Reply {
  const problems = unreadWindows(evaluations);
  return partialAnswer({ ...answer, data: { slos: evaluations.map(evaluationData), problems } }, problems);
}

function exhaustionText(evaluation: SloEvaluation): string {
  return evaluation.exhaustion
    .map((exhaustion) => {
      const when =
        exhaustion.status === 'burning'
          ? formatWhen(new Date(evaluation.at.getTime() + exhaustion.inMs!), evaluation.at)
          : formatExhaustion(exhaustion);
      return `at the ${exhaustion.window} rate (${formatBurn(exhaustion.burnRate)}): ${when}`;
    })
    .join('; ');
}

function listReply(evaluations: SloEvaluation[], at: Date, now: Date, service: SloService): Reply {
  const worst = evaluations[0]!;
  const blocks: Block[] = [
    text(`*${summarizeEvaluation(worst)}*`),
    table(
      ['service', 'SLO', 'objective', 'SLI', 'budget left', 'burn 1h', 'state', 'runs out'],
      evaluations.map((evaluation) => [
        evaluation.slo.service,
        evaluation.slo.name,
        `${evaluation.slo.objective}% / ${evaluation.slo.window}`,
        formatSli(evaluation.sli),
        formatRemaining(evaluation.budgetRemaining),
        formatBurn(evaluation.burnRates.find((burn) => burn.window === '1h')!.burnRate),
        evaluation.state,
        formatSoonestExhaustion(evaluation),
      ]),
    ),
  ];
  const problems = evaluations.flatMap((evaluation) =>
    gaps(evaluation)
      .slice(0, 2)
      .map((gap) => `${sloLabel(evaluation.slo)}: ${gap}`),
  );
  if (problems.length > 0) blocks.push(context(problems.slice(0, 10).join('\n')));
  blocks.push(
    context(
      `${evaluations.length} SLO${evaluations.length === 1 ? '' : 's'}, worst budget first; evaluated at ${formatWhen(at, now)} from ${service.usesRecordingRules ? 'recording rules' : 'raw queries'}. Detail and chart: budget SERVICE`,
    ),
  );
  return withReadings(reply(...blocks), evaluations);
}

async function detailBlocks(
  evaluation: SloEvaluation,
  service: SloService,
  explain: boolean,
  signal: AbortSignal,
): Promise<Block[]> {
  const { slo } = evaluation;
  const blocks: Block[] = [
    header(sloLabel(slo)),
    text(`*${summarizeEvaluation(evaluation)}*${slo.description ? `\n${slo.description}` : ''}`),
    fields([
      {
        label: 'objective',
        value: `${slo.objective}% over ${slo.window} (error budget ${Number((slo.errorBudget * 100).toPrecision(6))}%)`,
      },
      { label: 'SLI', value: formatSli(evaluation.sli) },
      { label: 'budget spent', value: formatRemaining(evaluation.budgetConsumed) },
      { label: 'budget left', value: formatRemaining(evaluation.budgetRemaining) },
      { label: 'burn state', value: `${evaluation.state}: ${evaluation.stateReason}` },
      { label: 'runs out', value: exhaustionText(evaluation) },
    ]),
    table(
      ['window', 'error ratio', 'burn rate'],
      evaluation.burnRates.map((burn) => [
        burn.window,
        ratioText(burn.errorRatio),
        formatBurn(burn.burnRate),
      ]),
    ),
  ];
  const missing = gaps(evaluation);
  if (missing.length > 0) blocks.push(context(missing.join('\n')));
  let chartQueries: { errors: string; total: string } | undefined;
  if (evaluation.budgetRemaining.kind === 'value') {
    try {
      const chart = await service.chart(evaluation, signal);
      chartQueries = chart.history.queries;
      const first = chart.history.points[0]?.remaining ?? 1;
      blocks.push(
        image(
          chart.url,
          `budget left over ${slo.window}: ${formatRemaining({ kind: 'value', value: first })} ${chart.sparkline} ${formatRemaining(evaluation.budgetRemaining)}`,
        ),
      );
    } catch (error) {
      if (signal.aborted) throw error;
      blocks.push(context(`chart not drawn: ${(error as Error).message}`));
    }
  }
  if (explain) {
    const unix = evaluation.at.getTime() / 1000;
    const lines = [
      `evaluated at ${evaluation.at.toISOString()} (time=${unix}) from ${evaluation.source === 'raw' ? 'raw SLI queries' : 'recording rules'}`,
      `${slo.window}: ${evaluation.windowQuery}`,
      ...evaluation.burnRates.map((burn) => `${burn.window}: ${burn.query}`),
      ...(chartQueries
        ? [`chart (bad events): ${chartQueries.errors}`, `chart (all events): ${chartQueries.total}`]
        : []),
    ];
    blocks.push(text(`\`\`\`\n${lines.join('\n')}\n\`\`\``));
  }
  return blocks;
}

/** One service's policy record as raw values (docs/schemas/budget.schema.json#/definitions/policyState). */
function policyData(record: BudgetPolicyRecord) {
  return {
    service: record.service,
    state: record.state,
    since: record.since,
    detail: record.detail,
    slo: record.reading?.slo ?? null,
    remainingPercent: record.reading?.remainingPercent ?? null,
    readAt: record.reading?.at ?? null,
    pagingSince: record.pagingSince ?? null,
    limits: record.limits
      ? {
          freezeAtOrBelowPercent: record.limits.budgetAtOrBelow,
          liftAbovePercent: record.limits.budgetAbove,
          pagingFor: record.limits.pagingFor ?? null,
        }
      : null,
    override: record.override ?? null,
    unread: record.unread ?? null,
  };
}

/** `frozen since 3h ago (...): payments-availability: -12.0% left ≤ 0%`, with an override or an unread budget. */
function policyLine(record: BudgetPolicyRecord, now: Date): string {
  const parts = [`${record.state} since ${formatWhen(new Date(record.since), now)}: ${record.detail}`];
  if (record.unread)
    parts.push(
      `budget unread ${formatWhen(new Date(record.unread.at), now)} (${record.unread.message}); state kept`,
    );
  return parts.join('; ');
}

/**
 * The error-budget policy's state beside the budgets: every frozen or overridden service in the list,
 * each named service's state in the detail; `data.policy` is null when no policy is configured.
 */
async function withPolicy(ctx: Context, answer: Reply, services?: readonly string[]): Promise<Reply> {
  const policy = ctx.services.changes?.budgetPolicy;
  if (!policy) return { ...answer, data: { ...answer.data, policy: null } };
  const now = ctx.clock.now();
  const records = (await policy.states()).filter((r) => !services || services.includes(r.service));
  const shown = services ? records : records.filter((r) => r.state !== 'normal');
  const blocks: Block[] =
    shown.length > 0
      ? [
          text('*Error-budget policy*'),
          fields(shown.map((r) => ({ label: r.service, value: policyLine(r, now) }))),
        ]
      : [context('Error-budget policy: no service is frozen.')];
  return {
    ...answer,
    blocks: [...answer.blocks, ...blocks],
    data: { ...answer.data, policy: { services: records.map(policyData) } },
  };
}

export default defineCommand({
  name: 'budget',
  summary: 'Error budgets: how much is left, how fast it burns, and when it runs out',
  description:
    'Without arguments, every SLO with the worst budget first. With a service, an SLO name or service/name, ' +
    'the numbers per burn-rate window and a chart of the budget over the SLO window. Burn states follow the ' +
    'SRE Workbook: page when 1h and 5m both burn above 14.4×, or 6h and 30m above 6×; ticket when 1d and 2h ' +
    'both burn above 3×, or 3d and 6h above 1×.',
  examples: ['budget', 'budget checkout', 'budget checkout/availability --explain', 'budget payments at=2h'],
  positionals: [{ name: 'slo', description: 'a service, an SLO name, or service/name' }],
  options: {
    at: {
      type: 'time',
      description: 'evaluate at this time instead of now (2h means two hours ago, or an ISO time)',
    },
  },
  flags: { explain: 'add the exact PromQL and the evaluation time' },
  handler: async (ctx, args) => {
    const service = ctx.services.slo;
    if (!service) {
      throw new MillwrightError(ErrorCode.NotConfigured, 'budget needs Prometheus, which is not configured', {
        hint: 'set prometheus.url in millwright.yml',
      });
    }
    const all = service.list();
    if (all.length === 0) {
      return withPolicy(ctx, {
        ...reply(
          text('No SLOs are defined, so there is no error budget to show.'),
          context(
            'Add SLO files under slos/ (see slos/checkout.yml) or slos: in millwright.yml, then run millwright slo lint.',
          ),
        ),
        data: { slos: [], problems: [] },
      });
    }
    const asked = args.options.at as Date | undefined;
    const now = ctx.clock.now();
    if (asked && asked.getTime() > now.getTime() + CLOCK_SKEW_MS) {
      throw badArgument(
        `at=${isoSeconds(asked)} is in the future; budgets can be evaluated up to now`,
        'give a past time, like at=2h (two hours ago) or an ISO time before now',
        'at',
      );
    }
    const at = asked ?? now;
    // In the past, a window may start before Prometheus's history: that is said, not measured in part.
    const history = { checkHistory: asked !== undefined };
    const term = args.positionals.slo;
    if (term === undefined) {
      const evaluations = await service.evaluateMany(all, at, ctx.signal, history);
      return withPolicy(
        ctx,
        prometheusDown(evaluations) ?? listReply(evaluations, at, ctx.clock.now(), service),
      );
    }
    const matched = service.find(term);
    if (matched.length === 0) {
      const names = [...new Set(all.flatMap((slo) => [slo.service, sloLabel(slo)]))];
      const guess = nearest(term, names);
      throw new MillwrightError(ErrorCode.NotFound, `no SLO or service named "${term}"`, {
        hint: guess
          ? `did you mean "${guess}"? type budget for the list`
          : 'type budget for the list of SLOs',
      });
    }
    const evaluations = await service.evaluateMany(matched, at, ctx.signal, history);
    const named = [...new Set(matched.map((slo) => slo.service))];
    const down = prometheusDown(evaluations);
    if (down) return withPolicy(ctx, down, named);
    const blocks: Block[] = [];
    for (const evaluation of evaluations) {
      blocks.push(...(await detailBlocks(evaluation, service, args.flags.has('explain'), ctx.signal)));
    }
    return withPolicy(ctx, withReadings(reply(...blocks), evaluations), named);
  },
  subcommands: {
    override: {
      summary: "Lift the error-budget policy's freeze of a service for a while, with a reason (audited)",
      description:
        'A frozen service holds every non-emergency change. An override lets changes through again until ' +
        'until= (default and longest: policy.errorBudget.maxOverride); the policy freezes the service again ' +
        'when the override ends and the budget has not recovered. Needs the policy.override permission ' +
        '(apart from budget, which every viewer has).',
      examples: [
        'budget override payments reason="the fix for INC-4 must ship"',
        'budget override payments reason="launch agreed with the SRE lead" until=4h',
      ],
      // Not `budget.override`: a role allowed `budget` covers every `budget.*`, and viewers read budgets.
      permission: 'policy.override',
      positionals: [{ name: 'service', description: 'the frozen service', required: true }],
      options: {
        reason: { type: 'string', required: true, description: 'why the freeze may be set aside' },
        until: {
          type: 'string',
          description: 'when the override ends: an ISO time or a duration like 4h',
        },
      },
      services: ['changes'],
      handler: async (ctx, args) => {
        const policy = ctx.services.changes.budgetPolicy;
        if (!policy)
          throw new MillwrightError(ErrorCode.NotConfigured, 'no error-budget policy is configured', {
            hint: 'add policy.errorBudget to millwright.yml',
          });
        const { reason, until } = args.options as { reason: string; until?: string };
        const now = ctx.clock.now();
        const record = await policy.override(
          originOf(ctx),
          args.positionals.service!,
          reason,
          until === undefined ? undefined : untilFrom(until, now),
        );
        return {
          ...publicReply(
            header(
              `${record.service}'s error-budget freeze is overridden until ${formatWhen(new Date(record.override!.until), now)}`,
            ),
            text(reason),
            context(`by ${ctx.actor.id}; changes to ${record.service} pass the policy rule until then`),
          ),
          data: { override: policyData(record) },
        };
      },
    },
  },
});
