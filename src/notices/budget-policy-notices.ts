// What a service's channel and owners hear when the error-budget policy freezes the service, lifts
// the freeze, or a person overrides it: the move, its numbers, and what changes are let through.
import type { BudgetPolicyTransitioned } from '../changes/index.js';
import { context, fields, header, type Reply, reply, text } from '../core/reply.js';
import { formatAbsolute } from '../core/time.js';

const HEADLINES = {
  frozen: (service: string) => `${service} is frozen by the error-budget policy`,
  normal: (service: string) => `${service}'s error-budget freeze is lifted`,
  overridden: (service: string) => `${service}'s error-budget freeze is overridden`,
} as const;

const EFFECTS = {
  frozen:
    'Standard and normal changes to it are held, chat changes and pipeline deployments alike; emergency changes still go through.',
  normal: 'Changes to it go through the policy gate as usual again.',
  overridden: 'Changes to it go through the policy gate as usual until the override ends.',
} as const;

/** The notice of one move of the policy, posted once to the service's channel and owners. */
export function budgetPolicyNotice({ record, transition, owners }: BudgetPolicyTransitioned): Reply {
  const lift =
    transition.to === 'frozen' && record.limits
      ? `It lifts by itself once every SLO has more than ${record.limits.budgetAbove}% of its budget left, or with budget override ${record.service} reason="..." by someone allowed to.`
      : '';
  return reply(
    header(HEADLINES[transition.to](record.service)),
    text(transition.detail),
    fields({
      service: record.service,
      state: `${transition.from} → ${transition.to}`,
      since: formatAbsolute(new Date(transition.at)),
      by: transition.by,
      ...(owners.length ? { owners: owners.join(', ') } : {}),
    }),
    text(`${EFFECTS[transition.to]}${lift ? ` ${lift}` : ''}`),
    context(`budget ${record.service} shows its budget and the policy's state`),
  );
}
