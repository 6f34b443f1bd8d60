// The command line: parses argv and hands over to the shell (src/cli/shell.ts), the server or a tool
// (src/cli/tools.ts). What runs is composed in src/app.ts from the module list.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { checkConfig, isChatPlatformConfigured, loadConfig, startServer } from './app.js';
import { defaultIO, type MainIO } from './cli/io.js';
import { oneShotJson, runShell } from './cli/shell.js';
import {
  auditRepairCommand,
  auditVerifyCommand,
  lintRunbooksCommand,
  rbacCommand,
  storeCommand,
} from './cli/tools.js';
import { parseDuration, resolveConfigPath } from './config/index.js';
import { asMillwrightError, closest, createLogger } from './core/index.js';

export { buildRuntime, createRouter, type RunningServer, type Runtime, startServer } from './app.js';
export type { MainIO } from './cli/io.js';

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
        const result = await checkConfig(file, io.env, { cwd: io.cwd });
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
