// Public face of runbooks: the file format, loading and linting, parameters, the engine and the service.
export { type LintOptions, type LoadedRunbook, loadRunbooks, type RunbookCatalogResult } from './catalog.js';
export {
  conditionHolds,
  type RunContext,
  type RunOutcome,
  type RunProgress,
  type RunStatus,
  runRunbook,
  type StepOutcome,
  type StepStatus,
} from './engine.js';
export type { RunbookBreakGlass } from './events.js';
export { type AlertFields, type ParamValue, paramsFromAlert, validateParams } from './params.js';
export {
  DNS_1123_LABEL,
  PARAM_TYPES,
  type RunbookParam,
  type RunbookSpec,
  type RunbookStep,
  type RunbookTarget,
  runbookSchema,
} from './schema.js';
export { BREAK_GLASS_PERMISSION, type RunbookDecision, RunbookService } from './service.js';
export { describeWorkload, type Workload, workloadsOf } from './targets.js';
export { findReferences, render, type TemplateScope } from './template.js';
