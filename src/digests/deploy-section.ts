// Deploys in a digest: what shipped since the last digest (GitHub deployments and rollouts the
// cluster made), and which services run something other than what was last deployed.
import { asMillwrightError, ErrorCode } from '../core/errors.js';
import { type AnswerProblem, type Block, context, list, table, text } from '../core/reply.js';
import type { RecentDeploy } from '../deploys/types.js';
import { plural, type SectionInput, type SectionResult, when } from './section.js';

const TITLE = text('*Deploys*');
const MAX_ROWS = 25;
const CONCURRENCY = 8;
const TROUBLED = new Set(['failed', 'failing', 'degraded', 'error']);

async function eachBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>) {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The deploys section: deployments in the period, newest first, then drift and troubled rollouts.
 * A service whose sources fail gets a line saying so; the rest still show.
 *
 * @example
 * const { blocks, headline } = await deploySection(input); // headline: '6 deploys, 1 drifting'
 */
export async function deploySection(input: SectionInput): Promise<SectionResult> {
  const source = input.sources.deploys;
  if (!source) return { blocks: [TITLE, text('Deploy status is not available here.')] };
  const names = [...input.scope.services]
    .filter(
      (name) => input.catalog[name]?.kubernetes !== undefined || input.catalog[name]?.github !== undefined,
    )
    .sort();
  if (names.length === 0) {
    return {
      blocks: [
        TITLE,
        text(
          'No service in scope has a kubernetes or github section in the catalog, so there are no deploys to report.',
        ),
      ],
    };
  }
  const { since, until } = input.period;
  const [recent, overview] = await Promise.all([
    eachBounded(names, CONCURRENCY, (name) => source.recentDeploys(name, since)),
    source.overview({ services: names, signal: input.signal }).then(
      (rows) => ({ ok: true as const, rows }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  ]);
  const shipped: Array<RecentDeploy & { service: string }> = [];
  const problems: string[] = [];
  const unread: AnswerProblem[] = [];
  const missing = (part: string, error: unknown) => {
    const failure = asMillwrightError(error);
    unread.push({ part: `section deploys: ${part}`, code: failure.code, message: failure.message });
  };
  recent.forEach((result, i) => {
    const service = names[i]!;
    if (result.status === 'rejected') {
      problems.push(`${service}: deploys could not be read (${reasonOf(result.reason)})`);
      missing(`${service} deploy history`, result.reason);
    } else
      for (const deploy of result.value)
        if (Date.parse(deploy.at) <= until.getTime()) shipped.push({ ...deploy, service });
  });
  shipped.sort((a, b) => b.at.localeCompare(a.at));

  const blocks: Block[] = [TITLE];
  if (shipped.length === 0) blocks.push(text(`No deploys since ${when(input.digest, since)}.`));
  else {
    blocks.push(
      table(
        ['when', 'service', 'what', 'by'],
        shipped
          .slice(0, MAX_ROWS)
          .map((deploy) => [when(input.digest, deploy.at), deploy.service, deploy.what, deploy.by]),
      ),
    );
    if (shipped.length > MAX_ROWS)
      blocks.push(context(`and ${shipped.length - MAX_ROWS} more; deploys SERVICE shows each.`));
  }

  let drifting = 0;
  if (overview.ok) {
    const notes: string[] = [];
    for (const row of overview.rows) {
      if (row.drift.status === 'drift') {
        drifting++;
        notes.push(`${row.service}: drift: ${row.drift.reason}`);
      }
      if (TROUBLED.has(row.state)) notes.push(`${row.service}: ${row.state}: ${row.message}`);
      for (const problem of row.problems) {
        problems.push(`${row.service}: ${problem.source}: ${problem.message}`);
        // A side left unconfigured is a setup choice, not a part that could not be read.
        if (problem.code !== ErrorCode.NotConfigured)
          unread.push({
            part: `section deploys: ${row.service} ${problem.source}`,
            code: problem.code,
            message: problem.message,
          });
      }
    }
    if (notes.length > 0) blocks.push(list(notes));
    else blocks.push(text('Every service runs what was last deployed, and no rollout is in trouble.'));
  } else {
    problems.push(`drift could not be checked (${reasonOf(overview.error)})`);
    missing('drift', overview.error);
  }
  if (problems.length > 0) blocks.push(context([...new Set(problems)].slice(0, 10).join('\n')));
  const parts = [plural(shipped.length, 'deploy')];
  if (drifting > 0) parts.push(`${drifting} drifting`);
  return { blocks, headline: parts.join(', '), problems: unread };
}
