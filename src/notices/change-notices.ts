// What the requester's channel hears about a change when nobody is waiting on a reply: the gate
// stopped it before it ran, its run failed or was interrupted, or its verification failed.
import type { ChangeRequest, ChangeTransitioned, ChangeVerificationFailed } from '../changes/index.js';
import { explainRule } from '../changes/policy-gate.js';
import { servicesOf } from '../changes/types.js';
import { fields, header, list, type Reply, reply, text } from '../core/reply.js';

/** The notice for one transition, or undefined when the transition is not news to anyone. */
export function changeTransitionNotice(event: ChangeTransitioned): Reply | undefined {
  const { change, from, to, mover } = event;
  if (from === 'approved' && to === 'denied' && mover === 'system') {
    // The gate's execution-time evaluation is the last one on the record.
    const rules = change.evaluations.at(-1)?.rules ?? [];
    return changeNotice(
      change,
      `${change.id} was stopped before it ran: ${rules
        .filter((r) => r.status !== 'pass')
        .map(explainRule)
        .join('; ')}`,
    );
  }
  if (from === 'executing' && (to === 'failed' || to === 'rolled-back')) {
    if (change.execution?.status === 'interrupted') {
      return changeNotice(
        change,
        `${change.id} was interrupted by a restart and marked failed; check what ran before retrying`,
      );
    }
    // What ran: the runbook, the release and its image, or the delivery; and how it ended.
    const what =
      change.runbook ??
      (change.release ? `release ${change.release.id} of ${change.release.image}` : change.summary);
    const { detail, status } = change.execution ?? {};
    const how = detail ? `: ${detail}` : status ? ` ${status}` : '';
    return changeNotice(change, `${change.id} ${to}: ${what}${how}`);
  }
  return undefined;
}

/** The notice for a verification that failed (told once, after any rollback). */
export function verificationFailedNotice(event: ChangeVerificationFailed): Reply {
  const { change } = event;
  if (event.reason === 'unmeasured') {
    return changeNotice(
      change,
      `${change.id} could not be verified (no burn-rate data); please check ${change.service}`,
    );
  }
  const { rollback } = event;
  const after =
    rollback.status === 'succeeded'
      ? `rolled back: ${rollback.detail}`
      : rollback.status === 'failed'
        ? `ROLLBACK FAILED: ${rollback.detail}; the service needs a person now`
        : `NOT rolled back: ${rollback.detail}; a person must undo it`;
  return changeNotice(change, `${change.id} failed verification: ${event.why}; ${after}`);
}

/** A headline, who and what, and the last three steps of the timeline. */
export function changeNotice(change: ChangeRequest, message: string): Reply {
  return reply(
    header(message),
    fields({ change: change.id, service: servicesOf(change).join(', '), requester: change.requestedBy }),
    list(change.timeline.slice(-3).map((t) => `${t.event}: ${t.detail ?? ''}`)),
    text(`change show ${change.id} has the full timeline`),
  );
}
