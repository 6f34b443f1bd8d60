// What a service's channel hears when a pipeline's change waits for a person: what is asked, why
// the gate holds it, and the command that lets it through.
import { explainRule } from '../changes/policy-gate.js';
import type { Reply } from '../core/reply.js';
import type { GateAwaitingApproval } from '../gates/index.js';
import { changeNotice } from './change-notices.js';

/** The request for an approval of a pipeline's change, with the rules that hold it. */
export function gateAwaitingNotice(event: GateAwaitingApproval): Reply {
  const { change, answer } = event;
  const holding = (change.evaluations.at(-1)?.rules ?? []).filter((rule) => rule.status !== 'pass');
  const why = answer.decision === 'unknown' ? 'the gate could not decide' : 'it needs an approval';
  return changeNotice(
    change,
    `${answer.pipeline} waits: ${change.summary}; ${why} (${holding.map(explainRule).join('; ')}). Someone other than the pipeline approves with "change approve ${change.id}" or refuses with 'change deny ${change.id} reason="..."'`,
  );
}
