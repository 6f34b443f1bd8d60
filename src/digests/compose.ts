// Puts a digest together: every configured section in order, each allowed to fail on its own, and
// a first line that sums them up.
import { asMillwrightError, ErrorCode } from '../core/errors.js';
import { type AnswerProblem, context, header, type Reply, reply, text } from '../core/reply.js';
import { budgetSection } from './budget-section.js';
import { changeSection } from './change-section.js';
import { deploySection } from './deploy-section.js';
import { incidentSection } from './incident-section.js';
import type { DigestSection } from './schema.js';
import { type SectionInput, type SectionResult, when } from './section.js';
import { toilLedger } from './toil-ledger.js';

const SECTIONS: Record<
  DigestSection,
  { title: string; build: (input: SectionInput) => Promise<SectionResult> }
> = {
  budgets: { title: 'Error budgets', build: budgetSection },
  deploys: { title: 'Deploys', build: deploySection },
  changes: { title: 'Changes', build: changeSection },
  incidents: { title: 'Open incidents', build: incidentSection },
  toil: { title: 'Toil ledger', build: toilLedger },
};

export interface ComposedDigest {
  reply: Reply;
  /** Budget left per SLO id, to compare with at the next digest. */
  budgets: Record<string, number>;
}

/** Rejects when `signal` aborts, so a section that ignores it cannot hold the digest up. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Builds the digest reply for a period. A section whose source fails says so in one line; the
 * other sections still show.
 *
 * @example
 * const { reply } = await composeDigest({ digest, period: { since, until }, scope, catalog, sources, previousBudgets: {}, signal });
 */
export async function composeDigest(input: SectionInput & { note?: string }): Promise<ComposedDigest> {
  const { digest, period } = input;
  const problems: AnswerProblem[] = [];
  const results = await Promise.all(
    digest.sections.map(async (name): Promise<SectionResult & { problem?: AnswerProblem }> => {
      const section = SECTIONS[name];
      try {
        return await untilAborted(section.build(input), input.signal);
      } catch (error) {
        const message = input.signal.aborted
          ? 'took too long and was left out'
          : error instanceof Error
            ? error.message
            : String(error);
        const code = input.signal.aborted ? ErrorCode.Timeout : asMillwrightError(error).code;
        return {
          blocks: [text(`*${section.title}*`), context(`Could not be read: ${message}`)],
          headline: `${section.title.toLowerCase()} unknown`,
          problem: { part: `section ${name}`, code, message },
        };
      }
    }),
  );
  for (const result of results) {
    if (result.problem) problems.push(result.problem);
    problems.push(...(result.problems ?? []));
  }
  const headlines = results.map((result) => result.headline).filter((line): line is string => Boolean(line));
  const scope = input.scope.all
    ? 'all services'
    : [...input.scope.services].sort().join(', ') || 'no services';
  const blocks = [
    header(`${digest.description ?? `${digest.name} digest`}: ${when(digest, period.until)}`),
    ...(headlines.length > 0 ? [text(`*${headlines.join(' · ')}*`)] : []),
    ...results.flatMap((result) => result.blocks),
    context(
      [`Since ${when(digest, period.since)} · ${scope}`, input.note]
        .filter((part): part is string => Boolean(part))
        .join(' · '),
    ),
  ];
  const budgets = Object.assign({}, ...results.map((result) => result.budgets ?? {})) as Record<
    string,
    number
  >;
  // Shape: docs/schemas/digest.schema.json#/definitions/preview; `digest run --here` makes one with problems partial.
  const data = {
    digest: digest.name,
    target: digest.target,
    since: period.since.toISOString(),
    until: period.until.toISOString(),
    scope: { all: input.scope.all, services: [...input.scope.services].sort() },
    sections: digest.sections.map((name, i) => ({
      name,
      title: SECTIONS[name].title,
      headline: results[i]?.headline ?? null,
      read: results[i]?.problem === undefined && !results[i]?.problems?.length,
    })),
    budgetsRemaining: budgets,
    problems,
  };
  return { reply: { ...reply(...blocks), data }, budgets };
}
