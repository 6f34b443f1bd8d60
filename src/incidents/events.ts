// What incidents and the alert intake tell the rest of Millwright: an incident was declared, an
// alert fires or resolves. src/notices renders and posts them.
import type { Origin } from '../core/context.js';
import type { Alert } from './alert-schema.js';
import type { Incident } from './types.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** Stored and audited; `incident.channel` is where it is talked about (the room, when one opened). */
    'incident.declared': IncidentDeclared;
    /** A firing alert that deserves a notice in its service's channel. */
    'alert.firing': AlertFiring;
    /** A firing alert resolved; its notice (if one went out) is updated, else a new one is posted. */
    'alert.resolved': AlertResolved;
    /** An auto-remediation whose replica stopped between its claim and filing the change. */
    'alert.remediation-abandoned': RemediationAbandoned;
  }
}

export interface IncidentDeclared {
  incident: Incident;
  /** Who declared it, from where (the channel they typed in). */
  origin: Origin;
}

/** Whether a notice went out, filled in by whoever posts it, so the webhook answer can say. */
export interface NoticeDelivery {
  posted: boolean;
  /** Why it did not go out, in one line. */
  failure?: string;
}

export interface AlertFiring {
  /** One firing of one alert: fingerprint@startsAt. The resolve of the same firing has the same id. */
  id: string;
  alert: Alert;
  service: string;
  /** The service's channel from the catalog. */
  channel: string;
  delivery: NoticeDelivery;
}

export interface AlertResolved {
  id: string;
  alert: Alert;
  service?: string;
  /** The service's channel, when the alert names a service that has one. */
  channel?: string;
}

export interface RemediationAbandoned {
  id: string;
  alert: Alert;
  runbook: string;
  /** The claim as it now stands (abandoned), with the replica that made it and when. */
  claim: RemediationClaim;
  detectedAt: string;
  service?: string;
  /** The service's channel, where people are told to check and act by hand. */
  channel?: string;
}

/**
 * One auto-remediation of one firing, by runbook: claimed (recorded before the change is filed, by
 * the replica filing it), filed (the change request exists; the change worker runs it), or abandoned
 * (its replica stopped between the two, so nobody knows whether a change was filed: never filed
 * again automatically, told to the service's channel instead).
 */
export interface RemediationClaim {
  state: 'claimed' | 'filed' | 'abandoned';
  by: string;
  at: string;
  result?: string;
}
