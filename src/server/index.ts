// Public face of the HTTP server: the server itself, its metrics, and the signal hook main uses.
export {
  type CloseOptions,
  type CloseResult,
  HttpServer,
  type HttpServerOptions,
  type Readiness,
  type RequestContext,
  type RouteHandler,
  readJsonBody,
  SERVER_LIMITS,
  type ServerLimits,
  sendJson,
} from './http-server.js';
export {
  type CommandObservation,
  type CommandOutcome,
  createMetrics,
  DEFAULT_VERBS,
  type Metrics,
  type MetricsOptions,
} from './metrics.js';
export { type OnTerminateOptions, onTerminate, type SignalSource } from './on-terminate.js';
