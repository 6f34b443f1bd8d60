// The toil ledger: runbook runs in the period (from the audit trail) times each runbook's estimated
// manual minutes, which is the hand work Millwright did instead of a person.
import { formatDuration } from '../core/duration.js';
import { type Block, context, table, text } from '../core/reply.js';
import { plural, type SectionInput, type SectionResult } from './section.js';

const TITLE = text('*Toil ledger*');
/** How far back the audit trail is read at most; a period with more runs says it was cut. */
const AUDIT_LIMIT = 100_000;
/** Runs that did the work; a failed or rolled-back run saved nobody anything. */
const SAVED_WORK = new Set(['succeeded', 'succeeded-with-failures']);

interface LedgerLine {
  runbook: string;
  runs: number;
  succeeded: number;
  minutes: number | undefined;
}

/** `2h30m`, `45m`, `0m`. */
function minutesText(minutes: number): string {
  return minutes === 0 ? '0m' : formatDuration(minutes * 60_000);
}

/**
 * The toil section: one line per runbook that ran, the time saved by its successful runs, and the
 * runbooks that have no `metadata.estimatedManualMinutes` yet.
 *
 * @example
 * const { headline } = await toilLedger(input); // '2h30m of hand work saved'
 */
export async function toilLedger(input: SectionInput): Promise<SectionResult> {
  const audit = input.sources.audit;
  const catalog = input.sources.runbooks;
  if (!audit || !catalog) return { blocks: [TITLE, text('The audit trail is not available here.')] };
  const runbooks = new Map(
    catalog.list().map((runbook) => [runbook.spec.metadata.name, runbook.spec.metadata]),
  );
  const inScope = (name: string) => {
    if (input.scope.all) return true;
    const services = runbooks.get(name)?.services ?? [];
    return services.some((service) => input.scope.includes(service));
  };
  const records = await audit.recent({ since: input.period.since, limit: AUDIT_LIMIT });
  const lines = new Map<string, LedgerLine>();
  for (const record of records) {
    // `started` opens a run; the record with its outcome closes it, and only that one counts.
    if (record.action !== 'runbook.run' || record.outcome === 'started') continue;
    const at = Date.parse(record.ts);
    if (at <= input.period.since.getTime() || at > input.period.until.getTime()) continue;
    const name = typeof record.args.runbook === 'string' ? record.args.runbook : undefined;
    if (!name || !inScope(name)) continue;
    const line = lines.get(name) ?? {
      runbook: name,
      runs: 0,
      succeeded: 0,
      minutes: runbooks.get(name)?.estimatedManualMinutes,
    };
    line.runs++;
    if (SAVED_WORK.has(record.outcome)) line.succeeded++;
    lines.set(name, line);
  }
  if (lines.size === 0)
    return { blocks: [TITLE, text('No runbooks ran in this period.')], headline: 'no runbook runs' };
  const sorted = [...lines.values()].sort(
    (a, b) =>
      b.succeeded * (b.minutes ?? 0) - a.succeeded * (a.minutes ?? 0) || a.runbook.localeCompare(b.runbook),
  );
  const savedMinutes = sorted.reduce((total, line) => total + line.succeeded * (line.minutes ?? 0), 0);
  const runs = sorted.reduce((total, line) => total + line.runs, 0);
  const blocks: Block[] = [
    TITLE,
    text(`*Millwright saved ${minutesText(savedMinutes)} of hand work in ${plural(runs, 'runbook run')}.*`),
    table(
      ['runbook', 'runs', 'succeeded', 'by hand', 'saved'],
      sorted.map((line) => [
        line.runbook,
        String(line.runs),
        String(line.succeeded),
        line.minutes === undefined ? 'no estimate' : `${line.minutes} min`,
        line.minutes === undefined ? '?' : minutesText(line.succeeded * line.minutes),
      ]),
    ),
  ];
  const unestimated = sorted.filter((line) => line.minutes === undefined).map((line) => line.runbook);
  const notes: string[] = [];
  if (unestimated.length > 0) {
    notes.push(
      `Not counted: ${unestimated.join(', ')} (set metadata.estimatedManualMinutes in the runbook).`,
    );
  }
  if (records.length >= AUDIT_LIMIT) notes.push(`Counted the newest ${AUDIT_LIMIT} audit records only.`);
  if (notes.length > 0) blocks.push(context(notes.join(' ')));
  return { blocks, headline: `${minutesText(savedMinutes)} of hand work saved` };
}
