// Open incidents in a digest, worst severity first, with how long each has been open.
import { formatDuration } from '../core/duration.js';
import { table, text } from '../core/reply.js';
import { plural, type SectionInput, type SectionResult } from './section.js';

const TITLE = text('*Open incidents*');

/**
 * The incidents section: every open incident of the services in scope.
 *
 * @example
 * const { headline } = await incidentSection(input); // '1 open incident (SEV2)'
 */
export async function incidentSection(input: SectionInput): Promise<SectionResult> {
  const source = input.sources.incidents;
  if (!source) return { blocks: [TITLE, text('Incidents are not available here.')] };
  const open = (await source.list('open'))
    .filter((incident) => input.scope.includes(incident.service))
    .filter((incident) => Date.parse(incident.declaredAt) <= input.period.until.getTime())
    .sort((a, b) => a.severity - b.severity || a.declaredAt.localeCompare(b.declaredAt));
  if (open.length === 0)
    return { blocks: [TITLE, text('No open incidents.')], headline: 'no open incidents' };
  const until = input.period.until.getTime();
  return {
    blocks: [
      TITLE,
      table(
        ['incident', 'sev', 'service', 'title', 'status', 'open for', 'commander'],
        open.map((incident) => [
          incident.id,
          `SEV${incident.severity}`,
          incident.service,
          incident.title,
          incident.status,
          formatDuration(Math.max(0, until - Date.parse(incident.startedAt ?? incident.declaredAt))),
          incident.commander,
        ]),
      ),
    ],
    headline: `${plural(open.length, 'open incident')} (worst SEV${open[0]!.severity})`,
  };
}
