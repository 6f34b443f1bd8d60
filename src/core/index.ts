// Public face of the command core.
export {
  type AccessDecision,
  permissionDenied,
  type UnreadGroups,
  withUnreadGroups,
} from './access.js';
export { type ActionPayload, ActionSigner, signAction, verifyAction } from './action-token.js';
export type { Adapter } from './adapter.js';
export {
  type AuditEntry,
  type AuditLog,
  type AuditOutcome,
  type AuditQuery,
  type AuditRecord,
  type AuditVerifyResult,
  viaOf,
} from './audit.js';
export { clip } from './clip.js';
export { type Clock, fixedClock, systemClock } from './clock.js';
export { type ComposeOptions, type Composition, composeModules } from './compose.js';
export {
  type AccessPolicy,
  type Actor,
  type Context,
  type MessageHandle,
  type Notifier,
  type Origin,
  originOf,
  type ReplySink,
  type Services,
  type Surface,
} from './context.js';
export { counted } from './counted.js';
export { formatDuration, isDuration, parseDuration } from './duration.js';
export {
  asMillwrightError,
  badArgument,
  ErrorCode,
  isMillwrightError,
  MillwrightError,
  type MillwrightErrorOptions,
  StopRequested,
  stoppedBy,
} from './errors.js';
export { type DomainEvents, EventBus, type EventHandler, type EventName } from './events.js';
export { prefillNote, prefillProblem, prefillRefusal, tooLong } from './form-prefill.js';
export { helpFor, helpOverview, usageLine } from './help.js';
export {
  answerWithin,
  type CheckedInteraction,
  checkInteraction,
  type FormValues,
  formError,
  formLine,
  type InteractionActor,
  type InteractionCheck,
  type InteractionRequest,
  type InteractionRuntime,
  type InteractionSurface,
  refusedBeforeRunning,
  runChecked,
  runInteraction,
} from './interaction.js';
export { lazySchema } from './lazy-schema.js';
export { bindLogSecrets, createLogger, type Logger, silentLogger } from './logger.js';
export {
  type CheckFinding,
  defineModule,
  type MillwrightModule,
  type ModuleContext,
  orderModules,
  type RequestContext,
  type RouteHandler,
  type RouteHost,
  type RunMode,
  type ServeContext,
  type ServiceName,
} from './module.js';
export { MAX_COMMAND_LENGTH, type ParsedLine, parseLine } from './parser.js';
export { isSecretKey, REDACTED, redactText, redactWith } from './redact.js';
export {
  type CommandArgs,
  type CommandDefinition,
  type CommandHandler,
  CommandRegistry,
  type CommandSpec,
  defineCommand,
  type Invocation,
  type OptionSpec,
  type OptionValue,
  type PositionalSpec,
} from './registry.js';
export * from './reply.js';
export {
  type CallOptions,
  type CircuitStateName,
  parseRetryAfter,
  type UpstreamKind,
  type UpstreamLimits,
  type UpstreamPolicy,
  UpstreamResilience,
  type UpstreamResilienceOptions,
  type UpstreamSnapshot,
  type UpstreamTarget,
} from './resilience.js';
export {
  abortableSleep,
  isConnectionError,
  isRetryableStatus,
  type Sleep,
} from './retry.js';
export {
  type CommandObservation,
  type CommandRequest,
  errorReply,
  newRef,
  Router,
  type RouterOptions,
} from './router.js';
export { findSecret, findSecretQuickly, type SecretFinding, secretRefusal } from './secret-detection.js';
export { SecretSet } from './secrets.js';
export type { SpendClaim, SpentActions, SpentOutcome, SpentUse } from './spent-actions.js';
export { closest, nearest } from './suggest.js';
export { type ChatSurface, type IncidentRoom, type Notices, SurfaceHub } from './surfaces.js';
export { formatAbsolute, formatWhen, untilFrom } from './time.js';
export { isTimeZone, parseZoned, type WallTime, wallTime, zonedToInstant } from './zoned-time.js';
