// Public face of incidents.
export {
  IncidentService,
  type IncidentServiceOptions,
  type ServiceContacts,
  type Suspect,
} from './incident-service.js';
export { sloIncidentNumbers } from './slo-numbers.js';
export * from './types.js';
