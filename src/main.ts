// Composition root and command-line entry: reads config, builds every service, starts the
// surface. The only module allowed to reach adapters/ and commands/ (by path, at run time).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FileAuditLog, verifyAuditTrail } from './audit/index.js';
import { AccessControl } from './auth/index.js';
import {
  checkConfig,
  isChatPlatformConfigured,
  type LoadedConfig,
  loadConfig,
  resolveConfigPath,
} from './config/index.js';
import {
  asMillwrightError,
  type Clock,
  CommandRegistry,
  createLogger,
  type Logger,
  Router,
  type RouterOptions,
  type Services,
  systemClock,
} from './core/index.js';
import { LowdbStore } from './store/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** commands/ and adapters/ sit beside src/ both in the repo (tsx) and in dist/. */
const ROOT = path.resolve(HERE, '..');
const EXT = path.extname(fileURLToPath(import.meta.url));

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
  const { config } = loaded;
  const store = await LowdbStore.open(config.store.path, { clock });
  let audit: FileAuditLog;
  try {
    audit = await FileAuditLog.open(auditPath(loaded), { clock, secrets: loaded.secrets });
  } catch (error) {
    await store.close();
    throw error;
  }
  const registry = new CommandRegistry();
  await registry.loadDirectory(path.join(ROOT, 'commands'));
  const access = new AccessControl(config.access);
  const services: Services = { config, store, audit, registry, access };
  return {
    loaded,
    services,
    logger: options.logger,
    clock,
    close: async () => {
      await audit.close();
      await store.close();
    },
  };
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
  const { ShellAdapter } = (await import(
    pathToFileURL(path.join(ROOT, 'adapters', 'shell', `index${EXT}`)).href
  )) as typeof import('../adapters/shell/index.js');
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
  const { port } = await server.listen();
  for (const platform of ['slack', 'teams'] as const) {
    if (!loaded.config[platform]) logger.info(`${platform} is not configured`);
  }
  const stopped = new Promise<import('./server/index.js').CloseResult>((resolve) => {
    onTerminate(
      async () => {
        logger.info('shutting down: draining in-flight work');
        const result = await server.close({ graceMs: 10_000 });
        await runtime.services.audit.flush();
        await runtime.close();
        logger.info(result, 'shut down');
        resolve(result);
      },
      { logger, ...(options.signals ? { source: options.signals } : {}) },
    );
  });
  return { runtime, router, server, port, stopped };
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
