// Incidents as stored, and what the incident feature asks of the rest of Millwright through small
// interfaces: a room to talk in, the budget and impact numbers, and recent deploys.
import type { SloStatus } from '../changes/types.js';
import type { StoredRecord } from '../store/store.js';

export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export interface IncidentEvent {
  at: string;
  kind: 'declared' | 'note' | 'status' | 'role' | 'resolved' | 'alert' | 'postmortem';
  by: string;
  text: string;
}

export interface Incident extends StoredRecord {
  id: string;
  title: string;
  service: string;
  severity: number;
  status: IncidentStatus;
  commander: string;
  declaredBy: string;
  declaredAt: string;
  /** When the trouble began (the alert's startsAt), which ranks the suspects; declaredAt otherwise. */
  startedAt: string;
  resolvedAt?: string;
  summary?: string;
  /** The incident's own channel (Slack) or the service's channel (Teams, shell). */
  channel: string;
  events: IncidentEvent[];
  postmortem?: string;
}

/** Where an incident is talked about: a surface capability, declared in core. */
export type { IncidentRoom } from '../core/surfaces.js';

/** Budget consumed and peak burn for one SLO over an incident window, from Prometheus. */
export interface SloImpact {
  slo: string;
  objective: number;
  budgetConsumedPercent?: number;
  peakBurnRate?: number;
  detail?: string;
}

export interface IncidentNumbers {
  status(service: string, at: Date): Promise<SloStatus[]>;
  impact(service: string, from: Date, to: Date): Promise<SloImpact[]>;
}
