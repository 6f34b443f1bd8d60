// Public face of changes: the service, the gate, the policy schema and the record types.

export { BudgetPolicy } from './budget-policy.js';
export {
  BUDGET_POLICY,
  BUDGET_POLICY_MOVES,
  type BudgetPolicyRecord,
  type BudgetPolicyState,
  type BudgetPolicyTransition,
} from './budget-policy-state.js';
export {
  ChangeService,
  type ChangeServiceOptions,
  type NewChange,
  type NewDelivery,
  type NewRelease,
} from './change-service.js';
export {
  budgetCost,
  type DeliveryStats,
  deliveryStats,
  deliveryStatsByTeam,
  failureRateOf,
  formatBudgetCost,
  formatFailureRate,
  NO_TEAM,
  type TeamDeliveryStats,
} from './delivery-stats.js';
export type { BudgetPolicyTransitioned, ChangeTransitioned, ChangeVerificationFailed } from './events.js';
export { storeIncidentSource } from './incident-source.js';
export {
  type AdHocFreeze,
  activeFreezeWindow,
  decide,
  evaluateGate,
  explainRule,
  type GateInputs,
} from './policy-gate.js';
export {
  type ErrorBudgetPolicyConfig,
  type FreezeWindow,
  type PolicyConfig,
  type PolicyRule,
  policySchema,
} from './policy-schema.js';
export {
  assertMove,
  type Mover,
  mayMove,
  moversOf,
  nextStates,
  PEOPLE,
  sourcesOf,
  TRANSITIONS,
} from './transitions.js';
export * from './types.js';
export {
  knownService,
  ownersOf,
  resolveServices,
  type ServiceCatalog,
  servicesTouchedBy,
} from './workloads.js';
