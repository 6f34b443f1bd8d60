// Public face of src/slo: SLO specs, the Prometheus client, error-budget and burn-rate math, the
// SloService commands use and rules generation (the `millwright slo` command line is ./cli.ts, loaded
// only by that command).
export {
  type BurnState,
  type BurnStateResult,
  burnRate,
  burnState,
  describeReading,
  type Exhaustion,
  formatBurn,
  formatExhaustion,
  formatPercent,
  timeToExhaustion,
} from './burn-rate.js';
export {
  availableChartFonts,
  budgetChartSpec,
  CHART_FONT_FAMILY,
  renderBudgetChart,
  renderVegaLite,
  sparkline,
} from './chart.js';
export { isoSeconds } from './coverage.js';
export {
  type EvaluateOptions,
  EXHAUSTION_WINDOWS,
  errorRatio,
  evaluateSlo,
  evaluateSlos,
  type SloEvaluation,
  type WindowBurn,
  worstFirst,
} from './evaluate.js';
export {
  currentBurn,
  formatRemaining,
  formatSli,
  formatSoonestExhaustion,
  soonestExhaustion,
  summarizeEvaluation,
} from './format.js';
export { type BudgetHistory, type BudgetPoint, budgetHistory } from './history.js';
export { importOpenSlo, importSloth } from './import.js';
export { lintSlos } from './lint.js';
export {
  formatSloProblem,
  type LoadedSlos,
  loadSloDirectory,
  loadSloFile,
  parseSloFile,
  type SloProblem,
} from './load.js';
export { locateQueries, type SloFileLocator } from './locate.js';
export {
  type InstantSample,
  PrometheusClient,
  type PrometheusClientOptions,
  type RangeSeries,
} from './prometheus-client.js';
export { checkPromql, type PromqlProblem, withLabel } from './promql.js';
export { errorRatioQuery, recordedMetric, recordedQuery } from './queries.js';
export { isValue, type Reading } from './reading.js';
export { type RuleGroup, type RulesFormat, sloRuleGroups, sloRulesYaml } from './rules.js';
export {
  type BudgetChart,
  createSloService,
  type SloBudgetStatus,
  SloService,
  type SloServiceOptions,
} from './slo-service.js';
export {
  type BurnRule,
  canonicalWindow,
  DEFAULT_BURN_RULES,
  DEFAULT_BURN_WINDOWS,
  normalizeSlo,
  promDuration,
  renderQuery,
  type Slo,
  type SloSpec,
  sloLabel,
  sloSpecSchema,
} from './spec.js';
