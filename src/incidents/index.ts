// Public face of incidents.

export { AlertIntake, type AlertIntakeOptions, type AlertOutcome } from './alert-intake.js';
export {
  type Alert,
  type AlertmanagerConfig,
  type AlertmanagerWebhook,
  alertmanagerSchema,
  webhookSchema,
} from './alert-schema.js';
export type {
  AlertFiring,
  AlertResolved,
  IncidentDeclared,
  NoticeDelivery,
  RemediationAbandoned,
  RemediationClaim,
} from './events.js';
export { budgetStatusData, impactData, incidentData, suspectData } from './incident-data.js';
export {
  IncidentService,
  type IncidentServiceOptions,
  type PostmortemDraft,
  type ServiceContacts,
  type Suspect,
} from './incident-service.js';
export { sloIncidentNumbers } from './slo-numbers.js';
export * from './types.js';
