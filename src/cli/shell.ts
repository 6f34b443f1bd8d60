// `millwright shell`: the terminal shell, one-shot (`-e`) or interactive, writing store.path itself or
// through the process that holds it.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { AuditBody } from '../../adapters/control/index.js';
import { buildRuntime, createRouter, loadConfig } from '../app.js';
import { shellIdentity } from '../auth/index.js';
import {
  type CommandRequest,
  createLogger,
  ErrorCode,
  type Logger,
  newRef,
  type Router,
  StopRequested,
} from '../core/index.js';
import type { MainIO } from './io.js';

/** `millwright shell`: runs one line (`-e`) or reads lines until the end of input; the exit code. */
export async function runShell(
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
  const { ShellAdapter } = await import('../../adapters/shell/index.js');
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
export async function oneShotJson(
  configPath: string,
  line: string,
  as: string | boolean | undefined,
  io: MainIO,
): Promise<import('../releases/cli.js').JsonReply> {
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
  return JSON.parse(written) as import('../releases/cli.js').JsonReply;
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
    import('../../adapters/control/shell-writer.js'),
    import('../store/store-lock.js'),
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
            const { ControlServer } = await import('../../adapters/control/control-server.js');
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
  logger: import('../core/index.js').Logger,
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

const SHELL_CHANNEL = 'shell';

/** The name the OS gives this process's user; a uid with no name (some containers) is its number. */
export function currentOsUser(): string {
  try {
    return os.userInfo().username;
  } catch (error) {
    // os.userInfo() throws when the uid has no passwd entry; the number still names the user.
    const uid = process.getuid?.();
    if (uid === undefined) throw error;
    return String(uid);
  }
}
