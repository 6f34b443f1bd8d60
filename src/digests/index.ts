// Public face of digests: the config schema, schedules in a time zone, composition, the service and
// its scheduler, and the sources a digest reads.
export { type ComposedDigest, composeDigest } from './compose.js';
export { CronSchedule, cronProblem, type Slot } from './cron-schedule.js';
export { DigestService, type DigestServiceOptions, type DigestStatus } from './digest-service.js';
export {
  type Decision,
  DIGEST_RUNS,
  type DigestRunRecord,
  decide,
  type PendingRun,
  type RunHistoryEntry,
  type RunKind,
  type RunResult,
} from './run-record.js';
export { DEFAULT_HEARTBEAT, DigestScheduler, type DigestSchedulerOptions } from './scheduler.js';
export { DIGEST_SECTIONS, type DigestConfig, type DigestSection, digestsSchema } from './schema.js';
export { type DigestPeriod, type DigestScope, digestScope } from './section.js';
export type {
  AuditSource,
  BudgetSource,
  ChangeSource,
  DeployOverviewRow,
  DeploySource,
  DigestSources,
  IncidentSource,
  RunbookCatalog,
} from './sources.js';
