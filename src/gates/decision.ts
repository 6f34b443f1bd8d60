// What a pipeline is told about its change: pass, fail, unknown or pending, read from the change's
// record alone, so the first answer and every later poll agree.
import type { ChangeRequest, RuleResult } from '../changes/types.js';

export type PipelineDecision = 'pass' | 'fail' | 'unknown' | 'pending';

/** One rule of the gate as a pipeline reads it. */
export interface GateRule {
  name: string;
  verdict: RuleResult['status'];
  severity: RuleResult['severity'];
  detail: string;
  fix?: string;
  subject?: string;
  numbers?: Record<string, number>;
}

/** The JSON a pipeline gets back (docs/schemas/gate.schema.json). */
export interface GateAnswer {
  decision: PipelineDecision;
  /** One line: why this decision, and what would change it. */
  reason: string;
  changeId: string;
  /** The change's state in Millwright (`change show ID` tells its story). */
  state: ChangeRequest['state'];
  /** Set while the answer can still change: a person's approval, or the service's change lock. */
  awaiting?: 'approval' | 'lock';
  service: string;
  kind: ChangeRequest['kind'];
  version?: string;
  environment?: string;
  pipeline: string;
  evaluatedAt: string;
  rules: GateRule[];
  approvals: Array<{ by: string; at: string }>;
}

/** Who moved the change into its current state, from its timeline. */
function movedBy(change: ChangeRequest): string | undefined {
  return [...change.timeline].reverse().find((entry) => entry.event === change.state)?.by;
}

/** What the timeline says about the move into the change's current state. */
function movedWhy(change: ChangeRequest): string | undefined {
  return [...change.timeline].reverse().find((entry) => entry.event === change.state)?.detail;
}

/**
 * The decision a pipeline sees for a change, from its state and the gate's last evaluation:
 * let through (by the gate or a person) is pass; refused by a rule or a person is fail; a gate
 * that could not decide is unknown (held for a person or refused, as `policy.whenUnknown` says);
 * held for an approval or the service's change lock is pending.
 *
 * @example
 * decisionOf(change) // { decision: 'pending', awaiting: 'approval', reason: 'needs approval: ...' }
 */
export function decisionOf(
  change: ChangeRequest,
): Pick<GateAnswer, 'decision' | 'reason'> & { awaiting?: GateAnswer['awaiting'] } {
  const last = change.evaluations.at(-1);
  // Two rules that could not read the same thing (budget and burn state with no SLO) say it once.
  const failing = [
    ...new Set((last?.rules ?? []).filter((rule) => rule.status !== 'pass').map((rule) => rule.evidence)),
  ].join('; ');
  const approve = `an approver runs "change approve ${change.id}" in chat`;
  if (change.execution) return { decision: 'pass', reason: passReason(change) };
  switch (change.state) {
    case 'pending-approval':
      return last?.decision === 'unknown'
        ? {
            decision: 'unknown',
            awaiting: 'approval',
            reason: `the gate could not decide (${failing}); held for a person: ${approve}`,
          }
        : {
            decision: 'pending',
            awaiting: 'approval',
            reason: `needs approval (${failing}): ${approve}`,
          };
    case 'approved':
      return {
        decision: 'pending',
        awaiting: 'lock',
        reason: `approved; waiting for the change lock on ${change.service} (change show ${change.id})`,
      };
    case 'denied': {
      const by = movedBy(change);
      if (by && by !== 'millwright') return { decision: 'fail', reason: `denied by ${by}` };
      if (last?.decision === 'unknown')
        return {
          decision: 'unknown',
          // Refused at the request (policy.whenUnknown: deny) or stopped at execution after an
          // approval, when the gate still could not read: the timeline says which.
          reason: `the gate could not decide (${failing}); ${(movedWhy(change) ?? 'refused').replace(/^the gate could not decide and /, '')}`,
        };
      return { decision: 'fail', reason: `refused by the policy gate: ${failing}` };
    }
    case 'expired':
      return {
        decision: 'fail',
        reason: change.humanApproved
          ? 'approved, but not asked about again before the request expired; nothing was delivered'
          : 'no approval came before the request expired',
      };
    case 'cancelled':
      return { decision: 'fail', reason: `cancelled by ${movedBy(change) ?? 'someone'}` };
    default:
      return { decision: 'fail', reason: `${change.id} is ${change.state}` };
  }
}

function passReason(change: ChangeRequest): string {
  const people = change.approvals.map((approval) => approval.by);
  return people.length
    ? `approved by ${people.join(', ')}`
    : 'every rule of the policy gate passed; no person needed';
}

/** The answer for a change: its decision, the last evaluation's rules with their numbers. */
export function answerFor(change: ChangeRequest): GateAnswer {
  const last = change.evaluations.at(-1);
  const { decision, reason, awaiting } = decisionOf(change);
  return {
    decision,
    reason,
    changeId: change.id,
    state: change.state,
    ...(awaiting ? { awaiting } : {}),
    service: change.service,
    kind: change.kind,
    ...(change.delivery?.version ? { version: change.delivery.version } : {}),
    ...(change.delivery?.environment ? { environment: change.delivery.environment } : {}),
    pipeline: change.delivery?.pipeline ?? change.requestedBy,
    evaluatedAt: last?.at ?? change.requestedAt,
    rules: (last?.rules ?? []).map((rule) => ({
      name: rule.kind,
      verdict: rule.status,
      severity: rule.severity,
      detail: rule.evidence,
      ...(rule.fix ? { fix: rule.fix } : {}),
      ...(rule.subject ? { subject: rule.subject } : {}),
      ...(rule.numbers ? { numbers: rule.numbers } : {}),
    })),
    approvals: change.approvals.map(({ by, at }) => ({ by, at })),
  };
}

const MARK = { pass: '✔', fail: '✘', unknown: '?' } as const;

/**
 * Each rule of an answer as one line a person reads (a CI log, a GitHub review comment): its mark,
 * its evidence with the numbers, and the fix when it did not pass.
 *
 * @example
 * ruleLines(answer) // ['✘ burn state payments-availability: page: 1h 52.1× > 14.4 and 5m 60.0× > 14.4', ...]
 */
export function ruleLines(answer: Pick<GateAnswer, 'rules'>): string[] {
  return answer.rules.map(
    (rule) =>
      `${MARK[rule.verdict]} ${rule.detail}${rule.verdict !== 'pass' && rule.fix ? ` — ${rule.fix}` : ''}`,
  );
}
