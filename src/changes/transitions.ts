// The change state machine as one table: which state may go to which, and who may move it there.
// The change service asks it before every state change; nothing else decides a change's next state.
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { ChangeRequest, ChangeState } from './types.js';

/**
 * Who moves a change: the person who requested it, a holder of the approval role other than the
 * requester (four eyes), or Millwright itself (the gate, the worker, verification).
 */
export type Mover = 'requester' | 'approver' | 'system';

/** The people who may move a change by a command (`change approve|deny|cancel|done`). */
export const PEOPLE: readonly Mover[] = ['requester', 'approver'];

type Table = { readonly [From in ChangeState]?: { readonly [To in ChangeState]?: readonly Mover[] } };

/**
 * from -> to -> who may move it. A state with no row is final.
 *
 * `failed` keeps a row: a change that failed verification may still be rolled back by Millwright,
 * which ends in `rolled-back`, or in `failed` again when the rollback fails too.
 */
export const TRANSITIONS: Table = {
  'pending-approval': {
    approved: ['approver', 'system'], // enough approvals, or the gate alone
    denied: ['approver', 'requester', 'system'], // a person says no, or the gate does
    cancelled: ['requester', 'approver'],
    expired: ['system'],
  },
  approved: {
    executing: ['system'], // a runbook change starts
    'in-progress': ['system'], // a manual change: its requester may go ahead
    denied: ['approver', 'requester', 'system'], // the gate re-checks at execution time
    cancelled: ['requester', 'approver'],
    expired: ['system'], // a polling pipeline never came back for its approved delivery
  },
  executing: {
    verifying: ['system'],
    failed: ['system'], // the runbook failed, or Millwright restarted mid-run
    'rolled-back': ['system'],
  },
  'in-progress': {
    verifying: ['requester'], // change done outcome=success
    failed: ['requester'], // change done outcome=failed
  },
  verifying: {
    succeeded: ['system'],
    failed: ['system'],
  },
  failed: {
    'rolled-back': ['system'],
    failed: ['system'],
  },
};

/** The states a change may go to from `from`, by anyone. */
export function nextStates(from: ChangeState): ChangeState[] {
  return Object.keys(TRANSITIONS[from] ?? {}) as ChangeState[];
}

/** The states from which one of `movers` may move a change to `to`, in table order. */
export function sourcesOf(to: ChangeState, movers: readonly Mover[]): ChangeState[] {
  return (Object.keys(TRANSITIONS) as ChangeState[]).filter((from) =>
    TRANSITIONS[from]?.[to]?.some((mover) => movers.includes(mover)),
  );
}

/** Whether one of `movers` may move `change` from its state to `to`. */
export function mayMove(
  change: Pick<ChangeRequest, 'state'>,
  to: ChangeState,
  movers: readonly Mover[],
): boolean {
  return TRANSITIONS[change.state]?.[to]?.some((mover) => movers.includes(mover)) ?? false;
}

/**
 * Refuses a move the table does not allow, saying what would be allowed.
 *
 * @example
 * assertMove(change, 'executing', 'system'); // throws when change.state is 'succeeded'
 */
export function assertMove(change: Pick<ChangeRequest, 'id' | 'state'>, to: ChangeState, mover: Mover): void {
  const allowed = TRANSITIONS[change.state]?.[to];
  if (!allowed) {
    const next = nextStates(change.state);
    throw new MillwrightError(
      ErrorCode.BadArgument,
      `${change.id} cannot go from ${change.state} to ${to}; ${
        next.length ? `from ${change.state} it may go to ${next.join(', ')}` : `${change.state} is final`
      }`,
      { hint: 'change show ID has its timeline' },
    );
  }
  if (!allowed.includes(mover)) {
    throw new MillwrightError(
      ErrorCode.PermissionDenied,
      `${change.id} goes from ${change.state} to ${to} only by the ${allowed.join(' or ')}, not by the ${mover}`,
    );
  }
}

/**
 * Who a person is to one change: its requester, or an approver when they hold the approval role and
 * did not request it (nobody approves their own change), or neither.
 */
export function moversOf(
  actorId: string,
  roles: readonly string[],
  change: Pick<ChangeRequest, 'requestedBy' | 'requesterIds'>,
  approvalRole: string,
): Mover[] {
  if (change.requestedBy === actorId || change.requesterIds?.includes(actorId)) return ['requester'];
  return roles.includes(approvalRole) ? ['approver'] : [];
}
