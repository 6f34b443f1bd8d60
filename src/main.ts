// The command line: parses argv and runs the shell, the server or a tool. What runs is composed in
// src/app.ts from the module list.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AuditBody } from '../adapters/control/index.js';
import {
  buildRuntime,
  checkConfig,
  createRouter,
  isChatPlatformConfigured,
  loadConfig,
  secretsOf,
  startServer,
} from './app.js';
import {
  type AuditLog,
  type AuditVerifyOptions,
  auditSealingFrom,
  auditVerifyReport,
  repairAuditTrail,
  type VerifiedTrail,
  verifiedChain,
  verifyTrail,
} from './audit/index.js';
import { shellIdentity } from './auth/index.js';
import { formatProblem, parseDuration, resolveConfigPath } from './config/index.js';
import {
  asMillwrightError,
  type CommandRequest,
  closest,
  createLogger,
  ErrorCode,
  type Logger,
  newRef,
  type Router,
  StopRequested,
  systemClock,
} from './core/index.js';
import { buildExecutorHost } from './executors/module.js';
import { loadRunbooks } from './runbooks/index.js';

export { buildRuntime, createRouter, type RunningServer, type Runtime, startServer } from './app.js';

export interface MainIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The OS user at the terminal; only tests set it. Left out, it is the process's own user from
   * the OS, never $USER: anyone can set an environment variable, and this name decides who may
   * use `--as`.
   */
  osUser?: string;
  /** Where SIGINT and SIGTERM come from; `process` unless a test passes an EventEmitter. */
  signals?: import('./server/index.js').SignalSource;
  /** Ends the process at once; only the hard shutdown deadline uses it. Tests leave it out. */
  exit?: (code: number) => void;
}

const USAGE = `usage: millwright <command> [options]

  start                 the shell when no chat platform is configured, else the server (npm start)
  shell                 terminal shell: [--as SUBJECT] [--json] [-e "COMMAND"]
                        (--as needs the impersonate permission; see access.osUsers)
  serve                 HTTP server for Slack, Teams and Alertmanager, with /healthz /readyz /metrics
  config check [FILE]   validate a config file
  rbac                  the least-privilege Kubernetes Roles the configured runbooks and services
                        need, as YAML: [--namespace N] for one namespace's Role only
  audit verify          check the audit trail's chain, keys and checkpoints: [--path FILE] [--json]
                        (the keys come from the config; --path alone checks an unkeyed trail)
  store migrate         apply pending PostgreSQL migrations: [--dry-run]; store status lists them
  store export|import   move an embedded store (records and audit trail) into PostgreSQL:
                        export [--out FILE] with the embedded config, import FILE with the postgres one
  audit repair          after a crash, cut a torn last line (kept in a side file) once every record
                        before it verifies, and record the repair in the trail: [--path FILE]
  slo import|lint|rules import Sloth/OpenSLO, validate slos/, write Prometheus rules (see: millwright slo)
  gate evaluate SERVICE ask a running Millwright's policy gate from a CI step: [version=V] [environment=E]
                        [kind=K] [--wait=10m] [--json]; exit 0 pass, 1 fail, 2 unknown (see: millwright gate)
  release start|status|promote|abort|list  progressive releases from a pipeline, the chat grammar:
                        [--wait[=2h]] [--json]; exit 0 started/promoted, 1 aborted/refused, 2 unknown

  common options: --config FILE (or MILLWRIGHT_CONFIG; default ./millwright.yml)`;

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
  const host = await buildExecutorHost(loaded.config, {
    audit: lintAudit,
    logger,
    clock: systemClock,
    secrets: secretsOf(loaded),
    configDir: path.dirname(loaded.path),
  });
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

/**
 * `millwright rbac [--namespace N]`: the Roles the configured runbooks and service catalog need,
 * derived from the API calls each kubernetes action and reader declares; warnings go to stderr.
 */
async function rbacCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const [{ planRoles, rolesYaml }, { KUBERNETES_ACTION_CALLS }, { deploysKubernetesCalls }] =
    await Promise.all([
      import('./rbac/index.js'),
      import('./executors/kubernetes/api-calls.js'),
      import('./deploys/api-calls.js'),
    ]);
  const { runbooks, problems } = await loadRunbooks(loaded.config.runbooks.dir, undefined, io.cwd);
  for (const problem of problems)
    io.stderr.write(`warning: ${formatProblem(problem)} (left out, as the bot leaves it out)\n`);
  const plan = planRoles({
    kubernetes: loaded.config.kubernetes,
    services: loaded.config.services,
    runbooks: [...runbooks.values()].map((r) => r.spec),
    actionCalls: KUBERNETES_ACTION_CALLS,
    serviceCalls: deploysKubernetesCalls,
  });
  for (const warning of plan.warnings) io.stderr.write(`warning: ${warning}\n`);
  const wanted = typeof values.namespace === 'string' ? values.namespace : undefined;
  const roles = wanted === undefined ? plan.roles : plan.roles.filter((role) => role.namespace === wanted);
  if (roles.length === 0) {
    const known = plan.roles.map((role) => role.namespace).join(', ');
    io.stderr.write(
      wanted === undefined
        ? 'millwright: nothing configured needs Kubernetes rights (no kubernetes runbook steps, no services with a kubernetes section)\n'
        : `millwright: nothing configured needs rights in namespace ${wanted}\nhint: namespaces with a Role: ${known || 'none'}\n`,
    );
    return 1;
  }
  io.stdout.write(rolesYaml(roles));
  return 0;
}

/** `millwright audit verify`: the answer first, then what it does and does not prove. */
async function auditVerifyCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const explicitConfig = typeof values.config === 'string' || Boolean(io.env.MILLWRIGHT_CONFIG);
  const pathFlag = typeof values.path === 'string' ? values.path : undefined;
  // --path alone is for a copied trail with no config at hand: only the unkeyed chain can be checked.
  const loaded =
    pathFlag === undefined || explicitConfig ? await loadConfig(configPath, { env: io.env }) : undefined;
  const file = pathFlag ?? loaded!.config.audit.path;
  const options: AuditVerifyOptions = loaded
    ? auditSealingFrom(loaded.config.audit, loaded.config.store.path)
    : { keys: new Map() };
  // On PostgreSQL the trail is the millwright_audit table (unless --path names a file, an old copy).
  const inDatabase = pathFlag === undefined && loaded?.config.store.kind === 'postgres';
  let verified: VerifiedTrail;
  if (inDatabase && loaded) {
    const { PostgresDatabase } = await import('./store/postgres-database.js');
    const secrets = secretsOf(loaded);
    const db = await PostgresDatabase.open(loaded.config.store, { scrub: (text) => secrets.text(text) });
    try {
      verified = await verifyTrail({ db }, options);
    } finally {
      await db.close();
    }
  } else {
    verified = await verifyTrail({ file }, options);
  }
  const { result } = verified;
  const hint =
    !result.ok && loaded === undefined && result.problem?.includes('not configured')
      ? 'pass --config so audit verify has the keys from audit.key / audit.keys'
      : undefined;
  const report = auditVerifyReport(verified, options, hint);
  if (values.json === true) {
    const { ok, lines, data, error } = report;
    io.stdout.write(
      `${JSON.stringify({ ok, text: lines.join('\n'), blocks: [], data, ...(error ? { error } : {}) })}\n`,
    );
    return ok ? 0 : 1;
  }
  if (report.error) {
    io.stderr.write(`${report.lines.join('\n')}\n`);
    if (hint) io.stderr.write(`hint: ${hint}\n`);
    return 1;
  }
  io.stdout.write(`${report.lines.join('\n')}\n`);
  return 0;
}

/** `millwright store ...`: migrations, and moving an embedded store into PostgreSQL (src/store/cli.ts). */
async function storeCommand(argv: string[], configPath: string, io: MainIO): Promise<number> {
  const { runStoreCli } = await import('./store/cli.js');
  return runStoreCli(argv, {
    stdout: io.stdout,
    stderr: io.stderr,
    cwd: io.cwd,
    configPath,
    osUser: io.osUser ?? currentOsUser(),
    loadConfig: () => loadConfig(configPath, { env: io.env }),
    secretsOf: (loaded) => secretsOf(loaded),
    services: async (loaded, names) => {
      const runtime = await buildRuntime(loaded, {
        logger: createLogger({ level: 'silent' }),
        lazy: true,
        mode: 'tool',
      });
      try {
        await runtime.app.prepare(names);
      } catch (error) {
        await runtime.close();
        throw error;
      }
      return { services: runtime.services, close: () => runtime.close() };
    },
  });
}

/** `millwright audit repair`: cuts a torn last line after a crash and records the repair. */
async function auditRepairCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  if (loaded.config.store.kind === 'postgres' && typeof values.path !== 'string') {
    io.stderr.write(
      'millwright: audit repair cuts a torn last line from a file trail; on PostgreSQL each append is one transaction, so there is none to cut\nhint: run `millwright audit verify` to find the first bad record\n',
    );
    return 2;
  }
  const file = typeof values.path === 'string' ? values.path : loaded.config.audit.path;
  const { cut, record, verified } = await repairAuditTrail(file, {
    sealing: auditSealingFrom(loaded.config.audit, loaded.config.store.path),
    actor: `os:${io.osUser ?? currentOsUser()}`,
    secrets: [...loaded.secrets],
  });
  io.stdout.write(
    `${file}: cut a torn last line (would-be seq ${cut.seq}, ${cut.bytes} bytes, sha256 ${cut.sha256.slice(0, 12)}…), kept in ${cut.savedTo}\n`,
  );
  io.stdout.write(
    `recorded as seq ${record.seq} (audit.repaired); the chain continues from seq ${record.seq - 1}\n`,
  );
  if (!verified.ok) {
    io.stderr.write(`${file}: still BROKEN after the repair: ${verified.problem}\n`);
    return 1;
  }
  io.stdout.write(`${file}: ok, ${verified.records} records, ${verifiedChain(verified)}\n`);
  return 0;
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
      namespace: { type: 'string', short: 'n' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'start', sub] = positionals;
  // zod compiles a parser per object schema on its first parse, which pays off only when the schema
  // parses again and again: in a server. A one-shot command parses each schema about once.
  if (command !== 'serve' && command !== 'start') z.config({ jitless: true });
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
        return await (await import('./slo/cli.js')).runSloCli(argv, { ...io, configPath, loadConfig });
      case 'gate':
        return await (await import('./gates/cli.js')).runGateCli(argv, io);
      case 'release':
        return await (await import('./releases/cli.js')).runReleaseCli(argv, {
          stdout: io.stdout,
          stderr: io.stderr,
          // Each line runs as \`millwright shell -e LINE --json\` would, as the same person.
          run: (line) => oneShotJson(configPath, line, values.as, io),
        });
      case 'audit': {
        if (sub === 'repair') return await auditRepairCommand(configPath, values, io);
        if (sub !== 'verify') {
          const near = closest(sub ?? '', ['verify', 'repair']);
          const hint = near ? `"audit ${near}"` : '"audit verify" or "audit repair"';
          return fail(`unknown: audit ${sub ?? ''}; did you mean ${hint}?`);
        }
        return await auditVerifyCommand(configPath, values, io);
      }
      case 'rbac':
        return await rbacCommand(configPath, values, io);
      case 'store':
        return await storeCommand(argv, configPath, io);
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
  // Each command builds only the services it uses, so a one-shot `-e help` opens no store.
  const runtime = await buildRuntime(loaded, { logger, lazy: true });
  const stop = new AbortController();
  const router = createRouter(runtime, { stop: stop.signal });
  const { ShellAdapter } = await import('../adapters/shell/index.js');
  const osUser = io.osUser ?? currentOsUser();
  const requested = typeof values.as === 'string' && values.as ? values.as : undefined;
  const oneShot = typeof values.e === 'string';
  let writer: Awaited<ReturnType<typeof storeWriter>> | undefined;
  try {
    // Who writes store.path: this shell, or the process holding it, through its control endpoint.
    writer = await storeWriter(runtime, router, { interactive: !oneShot, logger });
    if ('refused' in writer) {
      io.stderr.write(`millwright: ${writer.refused}\n`);
      return 1;
    }
    // Access needs only the config, and the router builds it before the first command anyway.
    await runtime.app.prepare(['access']);
    const identity = shellIdentity(
      runtime.services.access,
      loaded.config.access.osUsers,
      osUser,
      requested,
      SHELL_CHANNEL,
    );
    if (!identity.allowed) {
      io.stderr.write(`millwright: ${identity.message}\n`);
      await writer.audit({
        actor: identity.subject,
        via: identity.via,
        channel: SHELL_CHANNEL,
        action: 'shell.impersonate',
        args: { as: requested },
        outcome: 'denied',
        ref: newRef(),
        code: ErrorCode.PermissionDenied,
      });
      return 1;
    }
    const commands = writer;
    const shell = new ShellAdapter({
      // A signal (SIGINT, SIGTERM) aborts the running command, here or in the holder.
      handle: (request) => commands.handle({ ...request, signal: request.signal ?? stop.signal }),
      onInterrupt: () => interrupted.interrupt('SIGINT'),
      actor: identity.actor,
      ...(identity.via ? { via: identity.via } : {}),
      channel: SHELL_CHANNEL,
      // Read when the shell first reads a line: a one-shot `-e` never does, and building the stdin
      // stream costs a start several milliseconds.
      get input() {
        return io.stdin as NodeJS.ReadableStream & import('node:stream').Readable;
      },
      output: io.stdout as NodeJS.WritableStream & import('node:stream').Writable,
      json: values.json === true,
      historyFile: path.join(loaded.config.store.path, 'shell_history'),
    });
    // SIGINT/SIGTERM abort the running command (audited `aborted`) and end the shell with 128+signal;
    // a reader that went away (`| head`) ends it quietly with 0.
    const interrupted = shellInterrupts(io, () => void shell.stop(), stop, logger);
    try {
      const code = oneShot ? ((await shell.runLine(values.e as string)).ok ? 0 : 1) : await shell.run();
      return interrupted.exitCode() ?? code;
    } finally {
      interrupted.dispose();
    }
  } finally {
    if (writer && 'close' in writer) await writer.close();
    await runtime.close();
    logger.flush();
  }
}

/** Runs one command line like \`millwright shell -e LINE --json [--as]\` and parses its reply. */
async function oneShotJson(
  configPath: string,
  line: string,
  as: string | boolean | undefined,
  io: MainIO,
): Promise<import('./releases/cli.js').JsonReply> {
  const { PassThrough } = process.getBuiltinModule('node:stream');
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await runShell(
    configPath,
    { e: line, json: true, ...(typeof as === 'string' ? { as } : {}) },
    {
      ...io,
      stdout: out,
    },
  );
  const written = Buffer.concat(chunks).toString('utf8').trim().split('\n').at(-1) ?? '';
  if (!written) throw new Error(`the shell answered nothing (exit ${code})`);
  return JSON.parse(written) as import('./releases/cli.js').JsonReply;
}

/**
 * Who writes store.path for this shell: itself when it can take the lock (an interactive one then
 * serves a control endpoint, so another shell works through it), else the holder, through its control
 * endpoint; a one-shot holder is waited for a moment.
 */
async function storeWriter(
  runtime: Awaited<ReturnType<typeof buildRuntime>>,
  router: Router,
  options: { interactive: boolean; logger: Logger },
) {
  const local = {
    handle: (request: CommandRequest) => router.handle(request),
    audit: async (entry: AuditBody) => {
      await runtime.app.prepare(['audit']);
      await runtime.services.audit.append({ ...entry, surface: 'shell', args: entry.args ?? {} });
    },
  };
  // On PostgreSQL every process writes to the database itself: no lock to hold, nobody to go through.
  if (runtime.loaded.config.store.kind === 'postgres') return { ...local, close: async () => {} };
  // The control server (node:http) loads only when this shell serves others: a one-shot never does.
  const [{ shellWriter }, { StoreLockedError, describeHolder }] = await Promise.all([
    import('../adapters/control/shell-writer.js'),
    import('./store/store-lock.js'),
  ]);
  return shellWriter({
    local,
    takeLock: async () => {
      try {
        await runtime.app.prepare(['storeLock']);
        return undefined;
      } catch (error) {
        if (!(error instanceof StoreLockedError)) throw error;
        return {
          name: describeHolder(error.holder),
          refusal: `${error.message}\nhint: ${error.hint}`,
          ...(error.holder?.control ? { control: error.holder.control } : {}),
        };
      }
    },
    ...(options.interactive
      ? {
          serve: async () => {
            const { ControlServer } = await import('../adapters/control/control-server.js');
            const token = randomBytes(32).toString('hex');
            const control = await ControlServer.start({
              handle: local.handle,
              audit: async () => {
                await runtime.app.prepare(['audit']);
                return runtime.services.audit;
              },
              token,
              logger: options.logger.child({ adapter: 'control' }),
            });
            await runtime.services.storeLock.advertise({ port: control.port, token });
            return () => control.close();
          },
        }
      : {}),
  });
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** How the shell ends early: a signal aborts the running command; a closed output pipe just stops reading. */
function shellInterrupts(
  io: MainIO,
  stopReading: () => void,
  stop: AbortController,
  logger: import('./core/index.js').Logger,
) {
  const signals = io.signals ?? process;
  let exitCode: number | undefined;
  const interrupt = (signal: NodeJS.Signals) => {
    logger.warn({ signal }, 'shell interrupted: aborting the running command');
    exitCode ??= SIGNAL_EXIT[signal] ?? 1;
    stop.abort(new StopRequested(`interrupted (${signal})`));
    stopReading();
  };
  const onOutputError = (error: NodeJS.ErrnoException) => {
    // The reader is gone (EPIPE) or the stream was destroyed after it: nobody is left to tell.
    if (exitCode === undefined) logger.info({ code: error.code }, 'shell output closed; stopping');
    exitCode ??= 0;
    stopReading();
  };
  for (const signal of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) signals.on(signal, interrupt);
  io.stdout.on('error', onOutputError);
  return {
    interrupt,
    exitCode: () => exitCode,
    dispose: () => {
      for (const signal of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) signals.off(signal, interrupt);
      // Later writes to a closed pipe still emit errors; keep absorbing them.
    },
  };
}

async function runServer(configPath: string, io: MainIO): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const logger = createLogger({ level: loaded.config.log.level });
  const running = await startServer(loaded, { logger });
  io.stdout.write(`millwright listening on ${loaded.config.server.host}:${running.port}\n`);
  void running.stopping.then(() => {
    // However shutdown goes (a module that never stops, a flush that hangs), the process ends.
    const deadlineMs = parseDuration(loaded.config.server.shutdownDeadline);
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish by server.shutdownDeadline; exiting');
      logger.flush();
      io.exit?.(1);
    }, deadlineMs);
    void running.stopped.then(() => clearTimeout(timer));
  });
  await running.stopped;
  return 0;
}

const SHELL_CHANNEL = 'shell';

/** The name the OS gives this process's user; a uid with no name (some containers) is its number. */
function currentOsUser(): string {
  try {
    return os.userInfo().username;
  } catch (error) {
    // os.userInfo() throws when the uid has no passwd entry; the number still names the user.
    const uid = process.getuid?.();
    if (uid === undefined) throw error;
    return String(uid);
  }
}

function defaultIO(): MainIO {
  return {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    exit: (code) => process.exit(code),
  };
}
