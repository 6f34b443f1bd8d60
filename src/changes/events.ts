// What the change service tells the rest of Millwright: every state change, and a verification that
// failed. Plain records; src/notices decides which of them a person hears about, and in what words.

import type { BudgetPolicyRecord, BudgetPolicyTransition } from './budget-policy-state.js';
import type { Mover } from './transitions.js';
import type { ChangeRequest, ChangeState } from './types.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A change moved from one state to another; recorded and saved before it is emitted. */
    'change.transitioned': ChangeTransitioned;
    /** Verification after a change ended badly: a regression (maybe rolled back) or nothing measurable. */
    'change.verification-failed': ChangeVerificationFailed;
    /** The error-budget policy froze a service, lifted its freeze, or a person overrode it; told once. */
    'budget-policy.transitioned': BudgetPolicyTransitioned;
  }
}

export interface ChangeTransitioned {
  change: ChangeRequest;
  from: ChangeState;
  to: ChangeState;
  /** Who moved it, in the terms of the transition table. */
  mover: Mover;
  /** The id recorded in the audit trail (a person, or `millwright`). */
  by: string;
  detail: string;
  /** The correlation id of the command that caused it; absent for the background worker. */
  ref?: string;
}

/** What ran to undo a change that failed verification, and how it ended; `none` says why nothing could. */
export interface RollbackOutcome {
  status: 'succeeded' | 'failed' | 'none';
  runbook?: string;
  detail: string;
}

export type ChangeVerificationFailed =
  | {
      change: ChangeRequest;
      reason: 'regressed';
      why: string;
      rolledBack: boolean;
      rollback: RollbackOutcome;
      /** The home channels of the services touched, other than the change's own: told when no rollback held. */
      owners: string[];
    }
  | { change: ChangeRequest; reason: 'unmeasured' };

export interface BudgetPolicyTransitioned {
  /** The service's policy record after the move. */
  record: BudgetPolicyRecord;
  transition: BudgetPolicyTransition;
  /** Where the notice goes: the service's channel and its owners, as `policy.errorBudget.notify` says. */
  targets: string[];
  owners: string[];
}
