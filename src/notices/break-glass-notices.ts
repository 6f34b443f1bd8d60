// The break-glass announcement: who ran which runbook past their permissions, why, and how it went.
import { fields, header, type Reply, reply } from '../core/reply.js';
import type { RunbookBreakGlass } from '../runbooks/index.js';

export function breakGlassNotice({ runbook, reason, status, origin }: RunbookBreakGlass): Reply {
  return reply(
    header(`Break-glass: ${origin.actor.id} ran ${runbook}`),
    fields({ reason, channel: origin.channel, outcome: status, reference: origin.ref }),
  );
}
