// Error budgets in a digest: the SLOs below the digest's threshold or burning, and how much budget
// each has gained or lost since the last digest.
import { type Block, context, table, text } from '../core/reply.js';
import { currentBurn, formatBurn, formatRemaining, type SloEvaluation, sloLabel } from '../slo/index.js';
import { plural, type SectionInput, type SectionResult } from './section.js';

const TITLE = text('*Error budgets*');

/** `-4.2 pts`, `+1 pts`, `no change`, or `first digest` when there is nothing to compare with. */
function changeSince(evaluation: SloEvaluation, previous: number | undefined): string {
  const remaining = evaluation.budgetRemaining;
  if (remaining.kind !== 'value') return '';
  if (previous === undefined) return 'first digest';
  const points = Number(((remaining.value - previous) * 100).toFixed(1));
  if (points === 0) return 'no change';
  return `${points > 0 ? '+' : ''}${points} pts`;
}

function needsAttention(evaluation: SloEvaluation, belowPercent: number): boolean {
  const remaining = evaluation.budgetRemaining;
  // A state nobody can read (a scrape gap in a short window) may hide a page: look at it, never "fine".
  if (evaluation.state === 'page' || evaluation.state === 'ticket' || evaluation.state === 'unknown')
    return true;
  if (remaining.kind === 'unknown' || remaining.kind === 'no_data') return true;
  return remaining.kind === 'value' && remaining.value * 100 < belowPercent;
}

/**
 * The budgets section. Without Prometheus it says so; Prometheus failures show as `unknown` rows.
 *
 * @example
 * const { blocks, headline, budgets } = await budgetSection(input); // headline: '2 of 7 SLOs need attention'
 */
export async function budgetSection(input: SectionInput): Promise<SectionResult> {
  const source = input.sources.budgets;
  if (!source) {
    return {
      blocks: [TITLE, text('Prometheus is not configured, so there are no error budgets to report.')],
      headline: 'budgets unknown (no Prometheus)',
    };
  }
  const slos = source.list().filter((slo) => input.scope.includes(slo.service));
  if (slos.length === 0) {
    return { blocks: [TITLE, text('No SLOs are defined for these services.')] };
  }
  const evaluations = await source.evaluateMany(slos, input.period.until, input.signal);
  const budgets: Record<string, number> = {};
  for (const evaluation of evaluations) {
    if (evaluation.budgetRemaining.kind === 'value')
      budgets[evaluation.slo.id] = evaluation.budgetRemaining.value;
  }
  // Any window Prometheus did not answer leaves that SLO's numbers incomplete.
  const problems = evaluations.flatMap((evaluation) => {
    const unread = [evaluation.errorRatio, ...evaluation.burnRates.map((burn) => burn.errorRatio)].find(
      (reading) => reading.kind === 'unknown',
    );
    return unread?.kind === 'unknown'
      ? [{ part: `section budgets: ${sloLabel(evaluation.slo)}`, code: unread.code, message: unread.message }]
      : [];
  });
  const below = input.digest.budgetBelow;
  const flagged = evaluations.filter((evaluation) => needsAttention(evaluation, below));
  const blocks: Block[] = [TITLE];
  if (flagged.length === 0) {
    blocks.push(
      text(
        `All ${plural(slos.length, 'SLO')} have at least ${below}% of their error budget left and none is burning.`,
      ),
    );
  } else {
    blocks.push(
      table(
        ['SLO', 'budget left', 'since last digest', 'burn 1h', 'state'],
        flagged.map((evaluation) => [
          sloLabel(evaluation.slo),
          formatRemaining(evaluation.budgetRemaining),
          changeSince(evaluation, input.previousBudgets[evaluation.slo.id]),
          formatBurn(currentBurn(evaluation)),
          evaluation.state,
        ]),
      ),
    );
    const rest = slos.length - flagged.length;
    const unknown = flagged
      .map((evaluation) => evaluation.budgetRemaining)
      .find((reading) => reading.kind === 'unknown');
    const unread = flagged
      .filter((evaluation) => evaluation.state === 'unknown' && evaluation.budgetRemaining.kind === 'value')
      .map((evaluation) => `${sloLabel(evaluation.slo)} burn state unknown: ${evaluation.stateReason}.`);
    blocks.push(
      context(
        [
          rest > 0 ? `${plural(rest, 'other SLO')} above ${below}% and not burning.` : '',
          unknown?.kind === 'unknown' ? `Prometheus did not answer: ${unknown.message}` : '',
          ...unread,
        ]
          .filter(Boolean)
          .join(' '),
      ),
    );
  }
  return {
    blocks: blocks.filter((block) => block.type !== 'context' || block.text.length > 0),
    headline:
      flagged.length === 0
        ? 'budgets healthy'
        : `${flagged.length} of ${plural(slos.length, 'SLO')} need attention`,
    budgets,
    problems,
  };
}
