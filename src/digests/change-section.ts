// Changes in a digest: those the policy gate let through without a human, those that needed a
// person, and those that failed, in the period.
import type { BudgetPolicyRecord } from '../changes/budget-policy-state.js';
import {
  type DeliveryStats,
  deliveryStats,
  deliveryStatsByTeam,
  formatBudgetCost,
  formatFailureRate,
} from '../changes/delivery-stats.js';
import { type ChangeRequest, ranWithoutAPerson, servicesOf } from '../changes/types.js';
import { type Block, fields, list, text } from '../core/reply.js';
import { inPeriod, plural, type SectionInput, type SectionResult, when } from './section.js';

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
  const frozen = (await source.budgetPolicy?.states())?.filter(
    (record) => record.state !== 'normal' && input.scope.includes(record.service),
  );
  const reminders = policyReminders(input, frozen ?? []);
  const delivered = deliveryBlocks(input, changes);
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
  const policyHeadline = frozen?.some((r) => r.state === 'frozen')
    ? `${plural(frozen.filter((r) => r.state === 'frozen').length, 'service')} frozen by the error-budget policy`
    : undefined;
  if (automatic.length + needed.length + failed.length === 0) {
    return {
      blocks: [TITLE, ...reminders, text('No changes were requested, approved or failed in this period.')],
      headline: policyHeadline ? `no changes, ${policyHeadline}` : 'no changes',
    };
  }
  const blocks: Block[] = [
    TITLE,
    ...reminders,
    fields([
      { label: 'approved without a human', value: String(automatic.length) },
      { label: 'needed approval', value: String(needed.length) },
      { label: 'failed', value: String(failed.length) },
    ]),
  ];
  if (automatic.length > 0) blocks.push(text('_Approved by the policy gate:_'), list(itemsOf(automatic)));
  if (needed.length > 0) blocks.push(text('_Needed a person:_'), list(itemsOf(needed)));
  if (failed.length > 0) blocks.push(text('_Failed:_'), list(itemsOf(failed)));
  blocks.push(...delivered);
  const parts = [`${plural(automatic.length, 'change')} approved without a human`];
  const waiting = needed.filter((change) => change.state === 'pending-approval').length;
  if (waiting > 0) parts.push(`${waiting} waiting for a person`);
  if (failed.length > 0) parts.push(`${failed.length} failed`);
  if (policyHeadline) parts.push(policyHeadline);
  return { blocks, headline: parts.join(', ') };
}

/** The reminder that stays in every digest while the error-budget policy freezes (or is overridden on) a service. */
function policyReminders(input: SectionInput, records: readonly BudgetPolicyRecord[]): Block[] {
  if (records.length === 0) return [];
  return [
    text('_Error-budget policy in force:_'),
    list(
      records.map((r) =>
        r.state === 'frozen'
          ? `${r.service} frozen since ${when(input.digest, r.since)}: ${r.detail}; only emergency changes go through (budget override ${r.service} reason="..." to set it aside)`
          : `${r.service} frozen, overridden by ${r.override?.by} until ${when(input.digest, r.override?.until ?? r.since)}: ${r.override?.reason}`,
      ),
    ),
  ];
}

/** `checkout: 2 deployments, change failure rate 50.0% (1 of 2), 0.46 pp of the budget per deployment`. */
function deliveryLine(name: string, figures: Omit<DeliveryStats, 'service'>): string {
  return `${name}: ${plural(figures.delivered, 'deployment')}, change failure rate ${formatFailureRate(figures)}, budget cost ${formatBudgetCost(figures)} per deployment`;
}

/** The period's gated deliveries per service and per team: the DORA figures with their budget cost. */
function deliveryBlocks(input: SectionInput, changes: readonly ChangeRequest[]): Block[] {
  const inThePeriod = changes.filter(
    (change) => change.delivery && change.execution && inPeriod(input.period, change.execution.startedAt),
  );
  const services = deliveryStats(inThePeriod).filter((s) => input.scope.includes(s.service));
  if (services.length === 0) return [];
  const teams = deliveryStatsByTeam(inThePeriod, (service) => input.catalog[service]?.team);
  return [
    text('_Gated deliveries per service:_'),
    list(services.map((s) => deliveryLine(s.service, s))),
    text('_Per team:_'),
    list(teams.map((t) => deliveryLine(t.team, t))),
  ];
}
