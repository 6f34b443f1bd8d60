// The composition root: the list of modules, the config schema they compose, and the runtime and
// server built from them. With src/main.ts, the only code that reaches adapters/ and commands/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertmanagerModule } from '../adapters/alertmanager/module.js';
import { controlModule } from '../adapters/control/module.js';
import { slackModule } from '../adapters/slack/module.js';
import { teamsModule } from '../adapters/teams/module.js';
import { auditModule } from './audit/module.js';
import { accessModule, actionsModule, spentActionsModule } from './auth/module.js';
import { changesModule } from './changes/module.js';
import type { LoadConfigOptions, LoadedConfig } from './config/index.js';
import * as configFiles from './config/index.js';
import {
  asMillwrightError,
  bindLogSecrets,
  type CheckFinding,
  type Clock,
  type CommandDefinition,
  CommandRegistry,
  type Composition,
  composeModules,
  createLogger,
  EventBus,
  type Logger,
  type MillwrightModule,
  Router,
  type RouterOptions,
  type RunMode,
  SecretSet,
  type Services,
  StopRequested,
  SurfaceHub,
  systemClock,
  UpstreamResilience,
} from './core/index.js';
import { deploysModule } from './deploys/module.js';
import { digestsModule } from './digests/module.js';
import { executorsModule } from './executors/module.js';
import { gatesModule } from './gates/module.js';
import { githubAppModule } from './github-app/module.js';
import { incidentsModule } from './incidents/module.js';
import { noticesModule } from './notices/module.js';
import { releasesModule } from './releases/module.js';
import { runbooksModule } from './runbooks/module.js';
import { sloModule } from './slo/module.js';
import { postgresModule, storeLockModule, storeModule } from './store/module.js';
import { upstreamsModule } from './upstreams/module.js';

/**
 * Every module Millwright loads, features first, then the surfaces. A new feature or chat platform
 * is one line here.
 */
export const MODULES: readonly MillwrightModule[] = [
  storeLockModule,
  postgresModule,
  storeModule,
  auditModule,
  accessModule,
  actionsModule,
  spentActionsModule,
  upstreamsModule,
  executorsModule,
  runbooksModule,
  sloModule,
  deploysModule,
  changesModule,
  gatesModule,
  githubAppModule,
  releasesModule,
  incidentsModule,
  noticesModule,
  digestsModule,
  alertmanagerModule,
  controlModule,
  slackModule,
  teamsModule,
];

/** The schema of millwright.yml: the base sections with every module's. */
export function configSchemaFor(modules: readonly MillwrightModule[] = MODULES): configFiles.ConfigSchema {
  return configFiles.composeConfigSchema(
    modules.map((module) => ({
      owner: `module ${module.name}`,
      ...(module.config ? { sections: module.config } : {}),
      ...(module.configPaths ? { paths: module.configPaths } : {}),
    })),
  );
}

let defaultSchema: configFiles.ConfigSchema | undefined;
function schemaOf(modules?: readonly MillwrightModule[]): configFiles.ConfigSchema {
  if (modules) return configSchemaFor(modules);
  defaultSchema ??= configSchemaFor();
  return defaultSchema;
}

/** The composed schema itself (zod), for tools that parse a config object directly. */
export function millwrightConfigSchema(modules?: readonly MillwrightModule[]) {
  return schemaOf(modules).schema;
}

/**
 * Reads, interpolates and validates a config file against every module's sections.
 *
 * @example
 * const loaded = await loadConfig('millwright.yml', { env: process.env });
 */
export function loadConfig(
  file: string,
  options: Omit<LoadConfigOptions, 'schema'> & { modules?: readonly MillwrightModule[] },
): Promise<LoadedConfig> {
  const { modules, ...rest } = options;
  return configFiles.loadConfig(file, { ...rest, schema: schemaOf(modules) });
}

/**
 * `millwright config check`: one ok line or every problem, the schema's and what each enabled
 * module's `check` says start-up would refuse.
 */
export function checkConfig(
  file: string,
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; modules?: readonly MillwrightModule[] } = {},
) {
  const { modules = MODULES, ...rest } = options;
  return configFiles.checkConfig(file, env, {
    ...rest,
    schema: schemaOf(options.modules),
    startChecks: (loaded) => startChecks(loaded, modules),
  });
}

async function startChecks(
  loaded: LoadedConfig,
  modules: readonly MillwrightModule[],
): Promise<{ refused: string[]; findings: CheckFinding[] }> {
  const services = {
    config: loaded.config,
    configFile: loaded.path,
    secrets: secretsOf(loaded, modules),
  } as unknown as Services;
  const ctx = {
    services,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    configDir: path.dirname(loaded.path),
  };
  const refused: string[] = [];
  const findings: CheckFinding[] = [];
  for (const module of modules) {
    if (!module.check || !(module.enabled?.(services) ?? true)) continue;
    try {
      findings.push(...((await module.check(ctx)) ?? []));
    } catch (error) {
      const failure = asMillwrightError(error);
      refused.push(`${failure.message}${failure.hint ? ` (${failure.hint})` : ''}`);
    }
  }
  return { refused, findings };
}

/** Whether a chat surface is set up; without one `npm start` runs the shell. */
export function isChatPlatformConfigured(
  config: LoadedConfig['config'],
  modules: readonly MillwrightModule[] = MODULES,
): boolean {
  const services = { config } as Services;
  return modules.some((module) => module.kind === 'surface' && (module.enabled?.(services) ?? true));
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUNDLE = Symbol.for('millwright.bundle');

/** The commands in commands/: carried by the single-file build, else read from the folder. */
async function registerCommands(registry: CommandRegistry): Promise<void> {
  const carried = (globalThis as { [BUNDLE]?: { commands: CommandDefinition[] } })[BUNDLE]?.commands;
  if (carried) for (const command of carried) registry.register(command);
  else await registry.loadDirectory(path.join(HERE, '..', 'commands'));
}

/** Every module's store collections and record schemas; a collection claimed twice is an error. */
function recordSchemasOf(modules: readonly MillwrightModule[]): Record<string, import('zod').ZodType> {
  const schemas: Record<string, import('zod').ZodType> = {};
  const owners = new Map<string, string>();
  for (const module of modules) {
    for (const [collection, schema] of Object.entries(module.records ?? {})) {
      const owner = owners.get(collection);
      if (owner)
        throw new Error(`modules "${owner}" and "${module.name}" both keep store collection "${collection}"`);
      owners.set(collection, module.name);
      schemas[collection] = schema;
    }
  }
  return schemas;
}

export interface Runtime {
  loaded: LoadedConfig;
  services: Services;
  logger: Logger;
  clock: Clock;
  /** The composed modules: their serve/start hooks, for the server. */
  app: Composition;
  /** Services are built when a command first needs them (the shell), not all at start. */
  lazy: boolean;
  close(): Promise<void>;
}

/**
 * The process's one set of secrets, gathered before anything is built: values under secret-named keys,
 * every value from the environment, and what each enabled module declares (http header values).
 */
export function secretsOf(loaded: LoadedConfig, modules: readonly MillwrightModule[] = MODULES): SecretSet {
  const secrets = new SecretSet(loaded.secrets);
  secrets.add(loaded.interpolated ?? [], { certain: false });
  const services = { config: loaded.config } as Services;
  for (const module of modules) {
    if (module.secrets && (module.enabled?.(services) ?? true)) secrets.add(module.secrets(services));
  }
  return secrets;
}

/** Builds every service from a loaded config. Tests call this with a temp config. */
export async function buildRuntime(
  loaded: LoadedConfig,
  options: {
    logger: Logger;
    clock?: Clock;
    mode?: RunMode;
    modules?: readonly MillwrightModule[];
    /** Build each service when a command first needs it (the shell), instead of all up front. */
    lazy?: boolean;
    /** The upstream policies; tests pass one with a fake timer. Default: one on `clock`. */
    upstreams?: UpstreamResilience;
  },
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const modules = options.modules ?? MODULES;
  const secrets = secretsOf(loaded, modules);
  bindLogSecrets(logger, secrets);
  const registry = new CommandRegistry();
  await registerCommands(registry);
  const app = await composeModules({
    modules,
    seed: {
      config: loaded.config,
      configFile: loaded.path,
      secrets,
      recordSchemas: recordSchemasOf(modules),
      registry,
      events: new EventBus(logger.child({ part: 'events' })),
      notices: new SurfaceHub({ scrub: (reply) => secrets.strings(reply) }),
      resilience: options.upstreams ?? upstreamPolicyFrom(loaded.config.resilience, clock),
    },
    clock,
    logger,
    mode: options.mode ?? 'shell',
    configDir: path.dirname(loaded.path),
    ...(options.lazy ? { lazy: true } : {}),
  });
  return {
    loaded,
    services: app.services,
    logger,
    clock,
    app,
    lazy: options.lazy === true,
    close: () => app.close(),
  };
}

export function createRouter(runtime: Runtime, extra: Partial<RouterOptions> = {}): Router {
  return new Router({
    services: runtime.services,
    clock: runtime.clock,
    logger: runtime.logger,
    // Only a lazy runtime has anything to build; the server's commands skip the step.
    ...(runtime.lazy ? { prepare: (names: readonly string[] | 'all') => runtime.app.prepare(names) } : {}),
    ...extra,
  });
}

/** The server's limits from `server:` in millwright.yml (durations as written there). */
function serverLimitsOf(server: LoadedConfig['config']['server']) {
  return {
    headersTimeoutMs: configFiles.parseDuration(server.headersTimeout),
    bodyTimeoutMs: configFiles.parseDuration(server.bodyTimeout),
    keepAliveTimeoutMs: configFiles.parseDuration(server.keepAliveTimeout),
    maxConnections: server.maxConnections,
    maxBodyReads: server.maxBodyReads,
  };
}

export interface RunningServer {
  runtime: Runtime;
  router: Router;
  server: import('./server/index.js').HttpServer;
  port: number;
  /** Resolves with the signal as soon as one starts the shutdown (main arms its hard deadline then). */
  stopping: Promise<NodeJS.Signals>;
  /** Resolves once a termination signal has drained the server and flushed the audit trail. */
  stopped: Promise<import('./server/index.js').CloseResult>;
  /** The chat surfaces that are running, by name (`teams`). */
  adapters: Record<string, import('./core/index.js').ChatSurface>;
}

/**
 * Starts the HTTP server with every enabled module served, and wires SIGTERM/SIGINT to a graceful
 * shutdown: `/readyz` fails for `server.drain`, the listener stops, running commands get
 * `server.shutdownGrace` and are then aborted (audited `aborted`), the modules stop and the trail
 * is flushed. A second signal cuts the waiting short.
 */
export async function startServer(
  loaded: LoadedConfig,
  options: {
    logger: Logger;
    clock?: Clock;
    signals?: import('./server/index.js').SignalSource;
    port?: number;
    modules?: readonly MillwrightModule[];
    /** I/O for the Teams adapter (tests point its token and key fetches at local doubles). */
    teams?: unknown;
    /** The digest scheduler's node-cron heartbeat (default every 15 s); tests tick every second. */
    digests?: { heartbeat?: string };
    /** The upstream policies (tests: small limits, a movable clock); default one on `clock`. */
    upstreams?: UpstreamResilience;
  },
): Promise<RunningServer> {
  const { logger } = options;
  const { createMetrics, HttpServer, onTerminate } = await import('./server/index.js');
  const runtime = await buildRuntime(loaded, {
    logger,
    mode: 'server',
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.upstreams ? { upstreams: options.upstreams } : {}),
    ...(options.modules ? { modules: options.modules } : {}),
  });
  const { services } = runtime;
  const metrics = createMetrics({
    verbs: services.registry.list().map((command) => command.name),
    upstreams: services.resilience,
  });
  const server = new HttpServer({
    port: options.port ?? loaded.config.server.port,
    host: loaded.config.server.host,
    logger,
    metrics,
    limits: serverLimitsOf(loaded.config.server),
    // Reaching this check means config, store and audit trail opened; the surfaces may still be
    // connecting (Slack Socket Mode), and shutdown flips it via the server.
    readiness: async () =>
      surfacesUp
        ? { ready: true, checks: { config: 'ok', store: 'ok', audit: 'ok', surfaces: 'ok' } }
        : { ready: false, checks: { config: 'ok', store: 'ok', audit: 'ok', surfaces: 'starting' } },
  });
  let surfacesUp = false;
  const stop = new AbortController();
  const router = createRouter(runtime, {
    observe: (observation) => metrics.observeCommand(observation),
    track: (work) => server.track(work),
    stop: stop.signal,
  });
  // Listening first, so /healthz answers (and /readyz says "starting") while surfaces connect.
  const { port } = await server.listen();
  try {
    await runtime.app.serve({
      routes: server,
      handle: (request) => router.handle(request),
      track: (work) => server.track(work),
      options: {
        ...(options.teams ? { teams: options.teams } : {}),
        ...(options.digests ? { digests: options.digests } : {}),
      },
    });
    await runtime.app.start();
  } catch (error) {
    await server.close({ graceMs: 0 });
    await runtime.close();
    throw error;
  }
  surfacesUp = true;
  for (const platform of ['slack', 'teams']) {
    if (!services.notices.names.includes(platform)) logger.info(`${platform} is not configured`);
  }
  const section = loaded.config.server;
  let announce!: (signal: NodeJS.Signals) => void;
  const stopping = new Promise<NodeJS.Signals>((resolve) => {
    announce = resolve;
  });
  const stopped = new Promise<import('./server/index.js').CloseResult>((resolve) => {
    onTerminate(
      async (signal, hurry) => {
        announce(signal);
        server.drain();
        await waitOrHurry(configFiles.parseDuration(section.drain), hurry);
        logger.info('shutting down: draining in-flight work');
        const result = await server.close({
          graceMs: configFiles.parseDuration(section.shutdownGrace),
          hurry,
          abort: () => stop.abort(new StopRequested(`Millwright is shutting down (${signal})`)),
        });
        await runtime.close();
        logger.info(result, 'shut down');
        resolve(result);
      },
      { logger, ...(options.signals ? { source: options.signals } : {}) },
    );
  });
  const adapters = Object.fromEntries(services.notices.surfaces.map((surface) => [surface.name, surface]));
  return { runtime, router, server, port, stopping, stopped, adapters };
}

/** Resolves after `ms`, or at once when `hurry` is aborted. */
function waitOrHurry(ms: number, hurry: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (hurry.aborted) done();
    hurry.addEventListener('abort', done, { once: true });
  });
}

/** The shared upstream policy from the `resilience:` section. */
function upstreamPolicyFrom(section: LoadedConfig['config']['resilience'], clock: Clock): UpstreamResilience {
  return new UpstreamResilience({
    clock,
    attempts: section.attempts,
    baseDelayMs: configFiles.parseDuration(section.backoff),
    maxDelayMs: configFiles.parseDuration(section.maxBackoff),
    maxRetryAfterMs: configFiles.parseDuration(section.maxRetryAfter),
    failureThreshold: section.failureThreshold,
    halfOpenAfterMs: configFiles.parseDuration(section.halfOpenAfter),
  });
}
