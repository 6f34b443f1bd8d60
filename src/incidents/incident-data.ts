// Incidents as raw values for `--json` (shape: docs/schemas/incident.schema.json): ids, states, actors,
// ISO times with the durations in seconds, and the brief's numbers as read.
import type { SloStatus } from '../changes/types.js';
import type { Incident, SloImpact } from './types.js';

/** One incident; `durationSeconds` runs from the start of the trouble to its resolution, or to `now`. */
export function incidentData(incident: Incident, now: Date) {
  const end = incident.resolvedAt ? new Date(incident.resolvedAt) : now;
  return {
    id: incident.id,
    title: incident.title,
    service: incident.service,
    severity: incident.severity,
    status: incident.status,
    commander: incident.commander,
    declaredBy: incident.declaredBy,
    declaredAt: incident.declaredAt,
    startedAt: incident.startedAt,
    resolvedAt: incident.resolvedAt ?? null,
    durationSeconds: (end.getTime() - new Date(incident.startedAt).getTime()) / 1000,
    summary: incident.summary ?? null,
    channel: incident.channel,
    events: incident.events.map((event) => ({
      at: event.at,
      kind: event.kind,
      by: event.by,
      text: event.text,
    })),
    hasPostmortem: incident.postmortem !== undefined,
  };
}

/** One SLO's budget as the brief reads it; missing numbers are null. */
export function budgetStatusData(status: SloStatus) {
  return {
    slo: status.slo,
    budgetRemaining: status.remainingPercent === undefined ? null : status.remainingPercent / 100,
    burnState: status.burnState,
    burnRates: { ...(status.burnRates ?? {}) },
    events5m: status.events5m ?? null,
    detail: status.detail ?? null,
  };
}

/** A suspect (a deploy or a change before the trouble began) as raw values. */
export function suspectData(suspect: {
  at: Date;
  kind: 'deploy' | 'change';
  plain: string;
  link?: string;
  by: string;
  leadMinutes: number;
}) {
  return {
    at: suspect.at.toISOString(),
    kind: suspect.kind,
    what: suspect.plain,
    link: suspect.link ?? null,
    by: suspect.by,
    leadMinutes: suspect.leadMinutes,
  };
}

/** Budget consumed (a fraction) and peak burn rate of one SLO during an incident. */
export function impactData(impact: SloImpact) {
  return {
    slo: impact.slo,
    objective: impact.objective,
    budgetConsumed: impact.budgetConsumedPercent === undefined ? null : impact.budgetConsumedPercent / 100,
    peakBurnRate: impact.peakBurnRate ?? null,
    detail: impact.detail ?? null,
  };
}
