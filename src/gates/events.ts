// What the pipeline gate tells the rest of Millwright: a pipeline's change waits for a person, so
// src/notices can ask the service's channel for an approval.
import type { ChangeRequest } from '../changes/types.js';
import type { GateAnswer } from './decision.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A pipeline's change is held for a person's approval (the policy asks, or the gate could not decide). */
    'gate.awaiting-approval': GateAwaitingApproval;
  }
}

export interface GateAwaitingApproval {
  change: ChangeRequest;
  answer: GateAnswer;
}
