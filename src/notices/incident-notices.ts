// The incident brief, pinned in the incident's room, or posted to the service's channel when the
// incident was declared elsewhere and no surface can open rooms.
import type { Logger } from '../core/logger.js';
import type { Notices } from '../core/surfaces.js';
import type { IncidentDeclared, IncidentService } from '../incidents/index.js';

/** Posts the brief of a declared incident where its people are; a failed post is logged. */
export async function postIncidentBrief(
  { incident, origin }: IncidentDeclared,
  options: { notices: Notices; incidents: Pick<IncidentService, 'brief'>; logger: Logger },
): Promise<void> {
  const { notices, logger } = options;
  const room = notices.room;
  // Without a room, the person who declared it already sees the brief in the reply.
  if (!room && (incident.channel === origin.channel || !notices.available)) return;
  try {
    const brief = await options.incidents.brief(incident);
    if (room) await room.postPinned(incident.channel, brief);
    else await notices.post(incident.channel, brief);
  } catch (error) {
    logger.error({ err: error, incident: incident.id }, 'incident brief could not be posted');
  }
}
