// Public face of gates: the section's schema, the request and the answer a pipeline gets.
export { type GateRequest, type GatesConfig, gateRequestSchema, gatesSchema } from './config.js';
export {
  answerFor,
  decisionOf,
  type GateAnswer,
  type GateRule,
  type PipelineDecision,
  ruleLines,
} from './decision.js';
export type { GateAwaitingApproval } from './events.js';
export { GATE_EVALUATE_ROUTE, GATE_STATUS_ROUTE } from './gate-route.js';
