// Millwright's Prometheus metrics, on a registry of its own so tests and embedders never share
// state through prom-client's global registry. Label values are normalised to keep cardinality bounded.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitStateName, UpstreamResilience } from '../core/resilience.js';

export type CommandOutcome = 'ok' | 'error' | 'denied' | 'aborted';

/** One finished command, as the router reports it. */
export interface CommandObservation {
  verb: string;
  outcome: CommandOutcome;
  seconds: number;
  /** The error code (`millwright_timeout`) when the command failed or was refused. */
  code?: string;
}

export interface Metrics {
  readonly registry: Registry;
  /** Records one command; never throws, so it can be handed to the router as its `observe` hook. */
  observeCommand(observation: CommandObservation): void;
  /** Counts one HTTP response under its route pattern (never the raw URL). */
  observeHttpRequest(route: string, status: number | string): void;
  /**
   * The exposition text for `GET /metrics`. Scrapes arriving together share one rendering, and a
   * rendering is reused for `cacheMs`, so a scrape storm costs one render, not thousands.
   */
  render(): Promise<{ contentType: string; text: string }>;
}

export interface MetricsOptions {
  /** Verbs recorded under their own name; anything else is recorded as `unknown`. Defaults to the command grammar's verbs. */
  verbs?: Iterable<string>;
  /** How long one rendering is served again. Default 1 s (Prometheus scrapes every 15 s or more). */
  cacheMs?: number;
  /** Milliseconds now; tests pass a fake clock to expire the cache. */
  now?: () => number;
  /** The upstream policies whose retries and circuits are exported. */
  upstreams?: UpstreamResilience;
}

/** The verbs of the command grammar (ARCHITECTURE.md). */
export const DEFAULT_VERBS: readonly string[] = [
  'help',
  'runbook',
  'deploys',
  'budget',
  'change',
  'incident',
  'digest',
  'audit',
  'whoami',
];

// Chat commands range from an instant `whoami` to a runbook step waiting on a rollout.
const COMMAND_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const OUTCOMES: ReadonlySet<string> = new Set<CommandOutcome>(['ok', 'error', 'denied', 'aborted']);
// The gauge's values, so a dashboard can graph "open" as a level: 0 closed, 1 half-open, 2 open.
const CIRCUIT_LEVEL: Record<CircuitStateName, number> = { closed: 0, half_open: 1, open: 2 };
// Codes are namespaced and short; anything else (a raw message, a third-party string) is folded.
const ERROR_CODE = /^millwright_[a-z0-9_]{1,48}$/;

/**
 * Creates the metrics and their registry: Millwright's own under `millwright_*`, and prom-client's
 * default process metrics under their standard `process_*` and `nodejs_*` names.
 *
 * @example
 * const metrics = createMetrics({ verbs: registry.verbs() });
 * const router = new Router({ ..., observe: metrics.observeCommand });
 * const { contentType, text } = await metrics.render(); res.writeHead(200, { 'content-type': contentType }).end(text);
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // prom-client's default names (process_*, nodejs_*), the ones every Node.js dashboard expects.
  collectDefaultMetrics({ register: registry });
  const { cacheMs = 1_000, now = () => performance.now() } = options;
  let rendered: { at: number; text: Promise<string> } | undefined;
  const verbs = new Set(options.verbs ?? DEFAULT_VERBS);

  const commands = new Counter({
    name: 'millwright_commands_total',
    help: 'Chat commands handled, by verb and outcome (ok, error, denied).',
    labelNames: ['verb', 'outcome'] as const,
    registers: [registry],
  });
  const commandDuration = new Histogram({
    name: 'millwright_command_duration_seconds',
    help: 'Time from receiving a command to its final reply.',
    labelNames: ['verb'] as const,
    buckets: COMMAND_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'millwright_errors_total',
    help: 'Failed or refused commands, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'millwright_http_requests_total',
    help: 'HTTP responses, by route pattern and status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const { upstreams } = options;
  if (upstreams) {
    new Counter({
      name: 'millwright_upstream_retries_total',
      help: 'Retries of idempotent upstream reads, by upstream (prometheus, kubernetes, github, slack, bot_connector, http).',
      labelNames: ['upstream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [upstream, count] of upstreams.retries()) this.inc({ upstream }, count);
      },
    });
    new Counter({
      name: 'millwright_upstream_circuit_opened_total',
      help: 'Times an upstream circuit opened after consecutive failures, by upstream.',
      labelNames: ['upstream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [upstream, count] of upstreams.opened()) this.inc({ upstream }, count);
      },
    });
    new Gauge({
      name: 'millwright_upstream_circuit_state',
      help: 'Circuit state per upstream target: 0 closed, 1 half-open (one probe let through), 2 open (calls fail fast).',
      labelNames: ['upstream', 'target'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const circuit of upstreams.circuits()) {
          this.set({ upstream: circuit.upstream, target: circuit.target }, CIRCUIT_LEVEL[circuit.state]);
        }
      },
    });
  }

  return {
    registry,
    observeCommand: (observation) => {
      try {
        const { verb, outcome, seconds, code } = observation;
        const verbLabel = typeof verb === 'string' && verbs.has(verb) ? verb : 'unknown';
        const outcomeLabel = OUTCOMES.has(outcome) ? outcome : 'error';
        commands.inc({ verb: verbLabel, outcome: outcomeLabel });
        if (Number.isFinite(seconds) && seconds >= 0) commandDuration.observe({ verb: verbLabel }, seconds);
        if (code !== undefined) errors.inc({ code: ERROR_CODE.test(code) ? code : 'other' });
        else if (outcomeLabel === 'error') errors.inc({ code: 'millwright_internal' });
      } catch {
        // Metrics must never change a command's outcome; a bad observation is dropped.
      }
    },
    observeHttpRequest: (route, status) => {
      httpRequests.inc({ route, status: String(status) });
    },
    render: async () => {
      const at = now();
      if (rendered === undefined || at - rendered.at >= cacheMs) {
        const text = registry.metrics();
        rendered = { at, text };
        // A failed render is not cached: the next scrape tries again.
        text.catch(() => {
          if (rendered?.text === text) rendered = undefined;
        });
      }
      return { contentType: registry.contentType, text: await rendered.text };
    },
  };
}
