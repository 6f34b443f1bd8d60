// Changes in a digest: those the policy gate let through without a human, those that needed a
// person, and those that failed, in the period.
import { type ChangeRequest, ranWithoutAPerson, servicesOf } from '../changes/types.js';
import { type Block, fields, list, text } from '../core/reply.js';
import { inPeriod, plural, type SectionInput, type SectionResult } from './section.js';

const TITLE = text('*Changes*');
const MAX_ITEMS = 10;

const line = (change: ChangeRequest) =>
  `${change.id} ${servicesOf(change).join(', ')}: ${change.summary} (${change.state})`;

function itemsOf(changes: ChangeRequest[]): string[] {
  const shown = changes.slice(0, MAX_ITEMS).map(line);
  if (changes.length > MAX_ITEMS) shown.push(`and ${changes.length - MAX_ITEMS} more (change list)`);
  return shown;
}

/**
 * The changes section, from each change's timeline: a change the gate approved alone that started
 * in the period ran without a human (one stopped at execution did not run); `awaiting approval` means a person had to decide; `failed` or
 * `rolled-back` means it failed.
 *
 * @example
 * const { headline } = await changeSection(input); // '3 changes approved without a human, 1 failed'
 */
export async function changeSection(input: SectionInput): Promise<SectionResult> {
  const source = input.sources.changes;
  if (!source) return { blocks: [TITLE, text('Change requests are not available here.')] };
  const changes = (await source.list()).filter((change) =>
    servicesOf(change).some((service) => input.scope.includes(service)),
  );
  const during = (change: ChangeRequest, match: (event: string, by: string) => boolean) =>
    change.timeline.some((entry) => match(entry.event, entry.by) && inPeriod(input.period, entry.at));
  const automatic = changes.filter(
    (change) => ranWithoutAPerson(change) && inPeriod(input.period, change.execution!.startedAt),
  );
  const needed = changes.filter(
    (change) =>
      during(change, (event) => event === 'awaiting approval') ||
      (change.state === 'pending-approval' && Date.parse(change.requestedAt) <= input.period.until.getTime()),
  );
  const failed = changes.filter((change) =>
    during(change, (event) => event === 'failed' || event === 'rolled-back'),
  );
  if (automatic.length + needed.length + failed.length === 0) {
    return {
      blocks: [TITLE, text('No changes were requested, approved or failed in this period.')],
      headline: 'no changes',
    };
  }
  const blocks: Block[] = [
    TITLE,
    fields([
      { label: 'approved without a human', value: String(automatic.length) },
      { label: 'needed approval', value: String(needed.length) },
      { label: 'failed', value: String(failed.length) },
    ]),
  ];
  if (automatic.length > 0) blocks.push(text('_Approved by the policy gate:_'), list(itemsOf(automatic)));
  if (needed.length > 0) blocks.push(text('_Needed a person:_'), list(itemsOf(needed)));
  if (failed.length > 0) blocks.push(text('_Failed:_'), list(itemsOf(failed)));
  const parts = [`${plural(automatic.length, 'change')} approved without a human`];
  const waiting = needed.filter((change) => change.state === 'pending-approval').length;
  if (waiting > 0) parts.push(`${waiting} waiting for a person`);
  if (failed.length > 0) parts.push(`${failed.length} failed`);
  return { blocks, headline: parts.join(', ') };
}
