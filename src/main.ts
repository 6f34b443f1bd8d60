// Composition root and command-line entry: reads config, builds every service, starts the
// surface. The only module allowed to reach adapters/ and commands/ (by path, at run time).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type AuditLog, FileAuditLog, verifyAuditTrail } from './audit/index.js';
import { AccessControl, ActionSigner } from './auth/index.js';
import { ChangeService, storeIncidentSource } from './changes/index.js';
import {
  checkConfig,
  formatProblem,
  isChatPlatformConfigured,
  type LoadedConfig,
  loadConfig,
  resolveConfigPath,
} from './config/index.js';
import {
  asMillwrightError,
  type Clock,
  type CommandDefinition,
  CommandRegistry,
  createLogger,
  type Logger,
  parseDuration,
  Router,
  type RouterOptions,
  type Services,
  systemClock,
} from './core/index.js';
import { type Deploys, emptyCatalogDeploys } from './deploys/deploys.js';
import { DigestService } from './digests/index.js';
import { registerBuiltInExecutors } from './executors/builtins.js';
import { ExecutorHost } from './executors/host.js';
import { IncidentService, sloIncidentNumbers } from './incidents/index.js';
import { loadRunbooks, RunbookService } from './runbooks/index.js';
import { LowdbStore, type Store } from './store/index.js';
import type { GitHubClient } from './upstreams/github/client.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** commands/ and adapters/ sit beside src/ both in the repo (tsx) and in dist/. */
const ROOT = path.resolve(HERE, '..');
const EXT = path.extname(fileURLToPath(import.meta.url));

/**
 * What a single-file build carries inside itself (its entry sets this before main runs): the adapters
 * and the commands, which the sources load from their folders instead.
 */
interface BundledModules {
  adapters: Record<string, () => Promise<unknown>>;
  commands: CommandDefinition[];
}
const BUNDLE = Symbol.for('millwright.bundle');

function bundled(): BundledModules | undefined {
  return (globalThis as { [BUNDLE]?: BundledModules })[BUNDLE];
}

/** An adapter's module, from the single-file build or from adapters/NAME beside src/. */
async function loadAdapter<T>(name: 'shell' | 'slack' | 'teams' | 'alertmanager'): Promise<T> {
  const carried = bundled()?.adapters[name];
  if (carried) return (await carried()) as T;
  return (await import(pathToFileURL(path.join(ROOT, 'adapters', name, `index${EXT}`)).href)) as T;
}

export interface MainIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const USAGE = `usage: millwright <command> [options]

  start                 the shell when no chat platform is configured, else the server (npm start)
  shell                 terminal shell: [--as USER] [--json] [-e "COMMAND"]
  serve                 HTTP server for Slack, Teams and Alertmanager, with /healthz /readyz /metrics
  config check [FILE]   validate a config file
  audit verify          check the audit trail's hash chain: [--path FILE]
  slo import|lint|rules import Sloth/OpenSLO, validate slos/, write Prometheus rules (see: millwright slo)

  common options: --config FILE (or MILLWRIGHT_CONFIG; default ./millwright.yml)`;

export interface Runtime {
  loaded: LoadedConfig;
  services: Services;
  logger: Logger;
  clock: Clock;
  close(): Promise<void>;
}

/** Builds every service from a loaded config. Tests call this with a temp config. */
export async function buildRuntime(
  loaded: LoadedConfig,
  options: { logger: Logger; clock?: Clock },
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const { config } = loaded;
  // Whatever opened before a failure is closed again, so a refused start leaves nothing half-open.
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const store = await LowdbStore.open(config.store.path, { clock });
    closers.push(() => store.close());
    const audit = await FileAuditLog.open(auditPath(loaded), { clock, secrets: loaded.secrets });
    closers.push(() => audit.close());
    const registry = new CommandRegistry();
    const carried = bundled()?.commands;
    if (carried) for (const command of carried) registry.register(command);
    else await registry.loadDirectory(path.join(ROOT, 'commands'));
    const access = new AccessControl(config.access);
    const actions = new ActionSigner(
      config.security.actionSecret ?? (await storedActionSecret(store)),
      parseDuration(config.security.actionTtl) / 1000,
      () => clock.now(),
    );
    // One GitHub client for the executor and `deploys`, so both stop at the same rate-limit gate.
    const github = config.github
      ? (await import('./upstreams/github/client.js')).createGitHubClient({
          baseUrl: config.github.baseUrl,
          token: config.github.token,
          logger: logger.child({ client: 'github' }),
          clock,
        })
      : undefined;
    const executors = await buildExecutorHost(loaded, { audit, logger, clock, github });
    closers.push(() => executors.close());
    const runbooks = new RunbookService({
      dir: config.runbooks.dir,
      host: executors,
      access,
      audit,
      clock,
    });
    await runbooks.load();
    for (const problem of runbooks.problems) logger.warn({ problem }, 'runbook not loaded');
    // Error budgets need Prometheus; without it `budget` says so and the gate has no budget source.
    const slo = config.prometheus
      ? await (await import('./slo/index.js')).createSloService(loaded, {
          clock,
          logger: logger.child({ service: 'slo' }),
        })
      : undefined;
    const changes = new ChangeService({
      store,
      audit,
      runbooks,
      policy: config.policy,
      gate: { incidents: storeIncidentSource(store), ...(slo ? { budgets: slo } : {}) },
      clock,
      logger: logger.child({ service: 'changes' }),
      // Adapters set the notifier once they run; read it when a notice is due.
      notifier: () => services.notifier,
    });
    // The deploy reader pulls in the Kubernetes client library; a config without services never needs it.
    let deploys: Deploys = emptyCatalogDeploys();
    if (Object.keys(config.services).length > 0) {
      const { createDeployService } = await import('./deploys/index.js');
      deploys = createDeployService(config, { github, clock, logger: logger.child({ service: 'deploys' }) });
    }
    // Kubernetes connections kept open between reads.
    closers.push(async () => deploys.close());
    const incidents = new IncidentService({
      store,
      audit,
      runbooks,
      clock,
      logger: logger.child({ service: 'incidents' }),
      contacts: (service) => config.services[service],
      room: () => services.incidentRoom,
      notifier: () => services.notifier,
      ...(slo ? { numbers: sloIncidentNumbers(slo) } : {}),
      deploys,
    });
    // Digests read the other services through getters: a chat adapter sets the notifier later.
    const digests = new DigestService({
      digests: config.digests,
      catalog: config.services,
      sources: {
        budgets: () => services.slo,
        deploys: () => services.deploys,
        changes: () => services.changes,
        incidents: () => services.incidents,
        runbooks: () => services.runbooks,
        audit: () => services.audit,
      },
      store,
      audit,
      notifier: () => services.notifier,
      clock,
      logger: logger.child({ service: 'digests' }),
    });
    const services: Services = {
      config,
      store,
      audit,
      registry,
      access,
      actions,
      executors,
      runbooks,
      changes,
      incidents,
      deploys,
      digests,
    };
    if (slo) services.slo = slo;
    closers.push(() => changes.stop());
    // Stops the schedule (started by startServer) before the store and audit trail close.
    closers.push(() => digests.stop());
    return { loaded, services, logger, clock, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The built-in executors for the configured systems, and every third-party plugin from the config. */
async function buildExecutorHost(
  loaded: LoadedConfig,
  options: { audit: AuditLog; logger: Logger; clock: Clock; github?: GitHubClient | undefined },
): Promise<ExecutorHost> {
  const executors = new ExecutorHost(options);
  await registerBuiltInExecutors(executors, loaded.config, { ...options, secrets: loaded.secrets });
  for (const plugin of loaded.config.executors) {
    await executors.load(plugin.module, plugin.config, path.dirname(loaded.path));
  }
  return executors;
}

/** `millwright runbooks lint [DIR]`: every problem as file:line:column path: message; exit 1 if any. */
async function lintRunbooksCommand(configPath: string, dir: string | undefined, io: MainIO): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const refuse = async (): Promise<never> => {
    throw new Error('lint runs no executor');
  };
  const logger = createLogger({ level: 'silent' });
  const lintAudit: AuditLog = {
    append: refuse,
    recent: refuse,
    flush: async () => {},
    close: async () => {},
  };
  const host = await buildExecutorHost(loaded, { audit: lintAudit, logger, clock: systemClock });
  const folder = path.resolve(io.cwd, dir ?? loaded.config.runbooks.dir);
  const { runbooks, problems } = await loadRunbooks(
    folder,
    { action: (uses) => host.action(uses), roles: Object.keys(loaded.config.access.roles) },
    io.cwd,
  );
  await host.close();
  if (problems.length > 0) {
    io.stderr.write(`${problems.map(formatProblem).join('\n')}\n`);
    io.stderr.write(`${problems.length} problem(s); ${runbooks.size} runbook(s) ok\n`);
    return 1;
  }
  io.stdout.write(`${runbooks.size} runbook(s) ok in ${path.relative(io.cwd, folder) || '.'}\n`);
  return 0;
}

/** Without a configured secret, one random secret per store signs buttons (enough for one replica). */
async function storedActionSecret(store: Store): Promise<string> {
  const record = await store.update<{ id: string; value: string }>(
    'secrets',
    'action-signing',
    (current) => current ?? { id: 'action-signing', value: randomBytes(32).toString('hex') },
  );
  return record!.value;
}

function auditPath(loaded: LoadedConfig): string {
  return loaded.config.audit?.path ?? path.join(loaded.config.store.path, 'audit.jsonl');
}

export function createRouter(runtime: Runtime, extra: Partial<RouterOptions> = {}): Router {
  return new Router({ services: runtime.services, clock: runtime.clock, logger: runtime.logger, ...extra });
}

/**
 * Runs the command line and resolves with the process exit code.
 *
 * @example
 * process.exitCode = await main(['shell', '-e', 'whoami']);
 */
export async function main(argv: string[], io: MainIO = defaultIO()): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      config: { type: 'string', short: 'c' },
      as: { type: 'string' },
      json: { type: 'boolean' },
      e: { type: 'string', short: 'e' },
      path: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'start', sub] = positionals;
  const fail = (message: string, code = 2) => {
    io.stderr.write(`millwright: ${message}\n`);
    return code;
  };
  if (values.help || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const configPath = resolveConfigPath({
    ...(typeof values.config === 'string' ? { flag: values.config } : {}),
    env: io.env,
    cwd: io.cwd,
  });
  try {
    switch (command) {
      case 'config': {
        if (sub !== 'check') return fail(`unknown: config ${sub ?? ''}; did you mean "config check"?`);
        const file = positionals[2] ?? configPath;
        const result = await checkConfig(file, io.env);
        (result.ok ? io.stdout : io.stderr).write(`${result.lines.join('\n')}\n`);
        return result.ok ? 0 : 1;
      }
      case 'runbooks': {
        if (sub !== 'lint') return fail(`unknown: runbooks ${sub ?? ''}; did you mean "runbooks lint"?`);
        return await lintRunbooksCommand(configPath, positionals[2], io);
      }
      case 'slo':
        return await (await import('./slo/index.js')).runSloCli(argv, { ...io, configPath });
      case 'audit': {
        if (sub !== 'verify') return fail(`unknown: audit ${sub ?? ''}; did you mean "audit verify"?`);
        const file =
          typeof values.path === 'string'
            ? values.path
            : auditPath(await loadConfig(configPath, { env: io.env }));
        const result = await verifyAuditTrail(file);
        if (result.ok) {
          io.stdout.write(`${file}: ok, ${result.records} records, hash chain intact\n`);
          return 0;
        }
        io.stderr.write(`${file}: BROKEN at seq ${result.badSeq}: ${result.problem}\n`);
        return 1;
      }
      case 'shell':
        return await runShell(configPath, values, io);
      case 'serve':
        return await runServer(configPath, io);
      case 'start': {
        const loaded = await loadConfig(configPath, { env: io.env });
        return isChatPlatformConfigured(loaded.config)
          ? await runServer(configPath, io)
          : await runShell(configPath, values, io);
      }
      default:
        return fail(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (error) {
    const failure = asMillwrightError(error);
    const hint = failure.hint ? `\nhint: ${failure.hint}` : '';
    return fail(`${failure.message}${hint}`, 2);
  }
}

async function runShell(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  // Logs go to a file so the terminal shows only replies; failures name their reference.
  const logger = createLogger({
    level: loaded.config.log.level,
    file: path.join(loaded.config.store.path, 'millwright.log'),
  });
  const runtime = await buildRuntime(loaded, { logger });
  const router = createRouter(runtime);
  const { ShellAdapter } = await loadAdapter<typeof import('../adapters/shell/index.js')>('shell');
  const actor =
    typeof values.as === 'string' && values.as ? values.as : (io.env.USER ?? os.userInfo().username);
  const shell = new ShellAdapter({
    handle: (request) => router.handle(request),
    actor,
    input: io.stdin as NodeJS.ReadableStream & import('node:stream').Readable,
    output: io.stdout as NodeJS.WritableStream & import('node:stream').Writable,
    json: values.json === true,
    historyFile: path.join(loaded.config.store.path, 'shell_history'),
  });
  try {
    if (typeof values.e === 'string') return (await shell.runLine(values.e)).ok ? 0 : 1;
    return await shell.run();
  } finally {
    await runtime.close();
    logger.flush();
  }
}

async function runServer(configPath: string, io: MainIO): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const logger = createLogger({ level: loaded.config.log.level });
  const running = await startServer(loaded, { logger });
  io.stdout.write(`millwright listening on ${loaded.config.server.host}:${running.port}\n`);
  await running.stopped;
  return 0;
}

export interface RunningServer {
  runtime: Runtime;
  router: Router;
  server: import('./server/index.js').HttpServer;
  port: number;
  /** Resolves once a termination signal has drained the server and flushed the audit trail. */
  stopped: Promise<import('./server/index.js').CloseResult>;
  /** The chat adapters that were mounted, by name (`teams`). */
  adapters: Record<string, import('./core/index.js').Adapter>;
}

/**
 * Starts the HTTP server with every configured surface mounted, and wires SIGTERM/SIGINT to a
 * graceful shutdown: stop accepting, drain in-flight commands for up to 10 s, flush the audit trail.
 */
export async function startServer(
  loaded: LoadedConfig,
  options: {
    logger: Logger;
    clock?: Clock;
    signals?: import('./server/index.js').SignalSource;
    port?: number;
    /** I/O for the Teams adapter (tests point its token and key fetches at local doubles). */
    teams?: import('../adapters/teams/index.js').TeamsIO;
    /** The digest scheduler's node-cron heartbeat (default every 15 s); tests tick every second. */
    digests?: { heartbeat?: string };
  },
): Promise<RunningServer> {
  const { logger } = options;
  const { createMetrics, HttpServer, onTerminate } = await import('./server/index.js');
  const runtime = await buildRuntime(loaded, { logger, ...(options.clock ? { clock: options.clock } : {}) });
  const metrics = createMetrics({ verbs: runtime.services.registry.list().map((command) => command.name) });
  const server = new HttpServer({
    port: options.port ?? loaded.config.server.port,
    host: loaded.config.server.host,
    logger,
    metrics,
    // Reaching this check means config, store and audit trail opened; shutdown flips it via the server.
    readiness: async () => ({ ready: true, checks: { config: 'ok', store: 'ok', audit: 'ok' } }),
  });
  const router = createRouter(runtime, {
    observe: (observation) => metrics.observeCommand(observation),
    track: (work) => server.track(work),
  });
  // Chat adapters (Slack, Teams) and the Alertmanager intake mount their routes on `server` here.
  const adapters: Record<string, import('./core/index.js').Adapter> = {};
  if (loaded.config.slack) {
    try {
      adapters.slack = await mountSlack(loaded.config.slack, { runtime, router, server, logger });
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }
  if (loaded.config.teams) {
    try {
      adapters.teams = await mountTeams(loaded.config.teams, {
        runtime,
        router,
        server,
        logger,
        io: options.teams,
      });
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }
  if (adapters.slack && adapters.teams) {
    // Both platforms: Slack ids (channels C/G/D, users U/W) go to Slack, anything else (Teams conversations) to Teams.
    const slack = adapters.slack;
    const teams = adapters.teams;
    runtime.services.notifier = {
      post: (target, message) => (/^[CGDUW][A-Z0-9]{6,}$/.test(target) ? slack : teams).post(target, message),
    };
  }
  if (loaded.config.alertmanager) {
    const { AlertIntake, sloIncidentNumbers } = await import('./incidents/index.js');
    const { mountAlertmanager } =
      await loadAdapter<typeof import('../adapters/alertmanager/index.js')>('alertmanager');
    const { services } = runtime;
    const intake = new AlertIntake({
      config: loaded.config.alertmanager,
      store: services.store,
      clock: runtime.clock,
      logger: logger.child({ adapter: 'alertmanager' }),
      changes: services.changes,
      incidents: services.incidents,
      runbooks: services.runbooks,
      access: services.access,
      actions: services.actions,
      ...(services.slo ? { numbers: sloIncidentNumbers(services.slo) } : {}),
      channelOf: (service) => loaded.config.services[service]?.channel,
      notifier: () => services.notifier,
    });
    mountAlertmanager(server, { intake, config: loaded.config.alertmanager, logger });
  }
  const { port } = await server.listen();
  // Scheduled changes, approvals that expire and verifications run in the background.
  await runtime.services.changes.start();
  // Digests post on schedule from the server only; the shell previews them.
  await runtime.services.digests.start(options.digests);
  for (const platform of ['slack', 'teams'] as const) {
    if (!loaded.config[platform]) logger.info(`${platform} is not configured`);
  }
  const stopped = new Promise<import('./server/index.js').CloseResult>((resolve) => {
    onTerminate(
      async () => {
        logger.info('shutting down: draining in-flight work');
        const result = await server.close({ graceMs: 10_000 });
        // A digest being posted finishes while its chat adapter is still up.
        await runtime.services.digests
          .stop()
          .catch((error: unknown) => logger.error({ err: error }, 'digest scheduler stop failed'));
        for (const [name, adapter] of Object.entries(adapters)) {
          // One adapter failing to stop must not keep the audit trail from being flushed.
          await adapter
            .stop()
            .catch((error: unknown) => logger.error({ err: error, adapter: name }, 'adapter stop failed'));
        }
        await runtime.services.audit.flush();
        await runtime.close();
        logger.info(result, 'shut down');
        resolve(result);
      },
      { logger, ...(options.signals ? { source: options.signals } : {}) },
    );
  });
  return { runtime, router, server, port, stopped, adapters };
}

/**
 * Builds the Slack adapter: Bolt on `POST /slack/events`, or Socket Mode when `slack.socketMode` is set.
 * A wrong bot or app token stops start-up with a clear error (auth.test runs before listening).
 */
async function mountSlack(
  config: NonNullable<LoadedConfig['config']['slack']>,
  parts: { runtime: Runtime; router: Router; server: import('./server/index.js').HttpServer; logger: Logger },
): Promise<import('./core/index.js').Adapter> {
  const { runtime, router, server, logger } = parts;
  const { SlackAdapter, SlackIncidentRoom } =
    await loadAdapter<typeof import('../adapters/slack/index.js')>('slack');
  const slack = new SlackAdapter({
    config,
    handle: (request) => router.handle(request),
    services: runtime.services,
    logger: logger.child({ surface: 'slack' }),
    clock: runtime.clock,
    track: (work) => server.track(work),
  });
  slack.mount(server);
  await slack.start();
  runtime.services.notifier ??= slack;
  // Incidents get their own Slack channel, with the brief pinned.
  runtime.services.incidentRoom = new SlackIncidentRoom({
    web: slack.web,
    logger: logger.child({ surface: 'slack', part: 'incidents' }),
    signButton: (command, channel) => runtime.services.actions.sign({ command, channel }),
  });
  return slack;
}

/** Builds the Teams adapter on `POST /api/messages`; without authentication it says so at every start. */
async function mountTeams(
  config: NonNullable<LoadedConfig['config']['teams']>,
  parts: {
    runtime: Runtime;
    router: Router;
    server: import('./server/index.js').HttpServer;
    logger: Logger;
    io: import('../adapters/teams/index.js').TeamsIO | undefined;
  },
): Promise<import('./core/index.js').Adapter> {
  const { runtime, router, server, logger, io } = parts;
  if (config.allowUnauthenticated) {
    logger.warn(
      'TEAMS AUTHENTICATION IS OFF (teams.allowUnauthenticated: true): anyone who can reach /api/messages can run commands as anyone. Use this for local development only.',
    );
  }
  const { TeamsAdapter } = await loadAdapter<typeof import('../adapters/teams/index.js')>('teams');
  const teams = new TeamsAdapter({
    config,
    handle: (request) => router.handle(request),
    services: runtime.services,
    logger: logger.child({ surface: 'teams' }),
    clock: runtime.clock,
    track: (work) => server.track(work),
    ...(io ? { io } : {}),
  });
  teams.mount(server);
  await teams.start();
  runtime.services.notifier ??= teams;
  return teams;
}

function defaultIO(): MainIO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}
