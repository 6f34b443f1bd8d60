// `millwright slo import FILE`, `millwright slo lint [DIR]`, `millwright slo rules [--format F] [DIR]`:
// the operator's SLO tools, which need no Prometheus.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import type { LoadedConfig } from '../config/index.js';
import { asMillwrightError } from '../core/errors.js';
import { configuredSlos, sloProblems } from './configured-slos.js';
import { formatSloProblem, type LoadedSlos, loadSloDirectory, loadSloFile, type SloProblem } from './load.js';
import { type RulesFormat, sloRulesYaml } from './rules.js';
import { type Slo, sloLabel } from './spec.js';

export interface SloCliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The config file `--config`/`MILLWRIGHT_CONFIG` resolved to. */
  configPath: string;
  /** Reads the config with every module's sections (the composition root's loadConfig). */
  loadConfig(file: string, options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<LoadedConfig>;
}

const USAGE = `usage: millwright slo <subcommand>

  slo import FILE                 validate a Sloth (prometheus/v1) or OpenSLO v1 file; print it as native SLOs
  slo lint [DIR]                  validate every SLO file in DIR (default: slo.dir from the config, or ./slos)
  slo rules [--format prometheus|prometheus-operator] [--out FILE] [--check] [DIR]
                                  Prometheus recording and alert rules for the SLOs in DIR (default: the config's);
                                  --check also runs promtool check rules on them when promtool is on the PATH`;

const FORMAT_NAMES: Record<string, string> = {
  native: 'native',
  sloth: 'Sloth prometheus/v1',
  openslo: 'OpenSLO v1',
};

/**
 * Runs `millwright slo ...` and resolves with the exit code (0 ok, 1 problems found, 2 usage).
 *
 * @example
 * process.exitCode = await runSloCli(['slo', 'lint', 'slos/'], { ...io, configPath: 'millwright.yml' });
 */
export async function runSloCli(argv: string[], io: SloCliIO): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    io.stderr.write(`millwright: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [, sub, target] = positionals;
  try {
    switch (sub) {
      case 'import':
        if (!target) return usage(io, 'slo import needs a FILE');
        return await importCommand(path.resolve(io.cwd, target), target, io);
      case 'lint':
        return await lintCommand(target, io);
      case 'rules': {
        const format = values.format ?? 'prometheus';
        if (format !== 'prometheus' && format !== 'prometheus-operator') {
          return usage(io, `--format must be prometheus or prometheus-operator, got "${format}"`);
        }
        return await rulesCommand(target, format, { out: values.out, check: values.check ?? false }, io);
      }
      default:
        return usage(io, sub ? `unknown: slo ${sub}` : 'slo needs a subcommand');
    }
  } catch (error) {
    const failure = asMillwrightError(error);
    io.stderr.write(`millwright: ${failure.message}${failure.hint ? `\nhint: ${failure.hint}` : ''}\n`);
    return 2;
  }
}

function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      format: { type: 'string' },
      out: { type: 'string' },
      check: { type: 'boolean' },
    },
  });
}

function usage(io: SloCliIO, message: string): number {
  io.stderr.write(`millwright: ${message}\n${USAGE}\n`);
  return 2;
}

function report(loaded: LoadedSlos, io: SloCliIO): boolean {
  for (const problem of loaded.problems) io.stderr.write(`${formatSloProblem(problem)}\n`);
  return loaded.problems.length === 0;
}

/** Every problem in `loaded`, lint's with the line and column of each query. */
function problemsIn(loaded: LoadedSlos, io: SloCliIO): Promise<SloProblem[]> {
  return sloProblems(loaded, {
    cwd: io.cwd,
    onUnreadable: (file, error) =>
      io.stderr.write(`${file}: cannot read it again for positions: ${error.message}\n`),
  });
}

function describeSlo(slo: Slo): string {
  return `${sloLabel(slo)} ${slo.objective}% over ${slo.window}`;
}

async function importCommand(file: string, shown: string, io: SloCliIO): Promise<number> {
  const loaded = await loadSloFile(file, shown);
  const problems = await problemsIn(loaded, io);
  if (!report({ ...loaded, problems }, io)) return 1;
  if (loaded.slos.length === 0) {
    io.stderr.write(`${shown}: no SLO documents found\n`);
    return 1;
  }
  const formats = loaded.formats.map((format) => FORMAT_NAMES[format] ?? format).join(', ');
  io.stderr.write(
    `${shown}: read ${loaded.slos.length} SLO${loaded.slos.length === 1 ? '' : 's'} (${formats}): ${loaded.slos.map(describeSlo).join('; ')}\n`,
  );
  io.stdout.write(`# Imported from ${shown} by millwright slo import; save it under slos/.\n`);
  io.stdout.write(stringify({ slos: loaded.slos.map((slo) => compact(slo.spec)) }, { lineWidth: 0 }));
  return 0;
}

/** The SLOs a subcommand works on: those in DIR, or the config's `slos:` plus its `slo.dir`. */
async function sloSources(
  dir: string | undefined,
  io: SloCliIO,
): Promise<{ loaded: LoadedSlos; where: string }> {
  if (dir) {
    const absolute = path.resolve(io.cwd, dir);
    return { loaded: await loadSloDirectory(absolute, { required: true, cwd: io.cwd }), where: dir };
  }
  const config = await io.loadConfig(io.configPath, { env: io.env, cwd: io.cwd });
  const loaded = await configuredSlos(config, { cwd: io.cwd });
  return { loaded, where: path.relative(io.cwd, loaded.dir) || '.' };
}

async function lintCommand(dir: string | undefined, io: SloCliIO): Promise<number> {
  const { loaded, where } = await sloSources(dir, io);
  const problems = await problemsIn(loaded, io);
  if (!report({ ...loaded, problems }, io)) {
    io.stderr.write(`${where}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  io.stdout.write(
    `${where}: ok, ${loaded.slos.length} SLO${loaded.slos.length === 1 ? '' : 's'}${loaded.slos.length ? ` (${loaded.slos.map(sloLabel).join(', ')})` : ''}\n`,
  );
  return 0;
}

async function rulesCommand(
  dir: string | undefined,
  format: RulesFormat,
  { out, check }: { out: string | undefined; check: boolean },
  io: SloCliIO,
): Promise<number> {
  const { loaded, where } = await sloSources(dir, io);
  const problems = await problemsIn(loaded, io);
  if (!report({ ...loaded, problems }, io)) return 1;
  if (loaded.slos.length === 0) {
    io.stderr.write(`${where}: no SLOs to write rules for\n`);
    return 1;
  }
  const yaml = sloRulesYaml(loaded.slos, format);
  if (check && !(await promtoolCheck(yaml, format, io))) return 1;
  if (out) {
    await writeFile(path.resolve(io.cwd, out), yaml);
    io.stderr.write(`wrote ${format} rules for ${loaded.slos.length} SLOs to ${out}\n`);
  } else {
    io.stdout.write(yaml);
  }
  return 0;
}

/** The first executable `name` on the PATH of `env`, as a shell would find it. */
async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory (or not executable): try the next one, as a shell does.
    }
  }
  return undefined;
}

/**
 * Runs `promtool check rules` on the generated rules and passes its findings on; true when it
 * accepts them or is not installed (said on stderr, since lint has already run).
 */
async function promtoolCheck(yaml: string, format: RulesFormat, io: SloCliIO): Promise<boolean> {
  const promtool = await onPath('promtool', io.env);
  if (!promtool) {
    io.stderr.write('promtool is not on the PATH; checked with slo lint only\n');
    return true;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-rules-check-'));
  try {
    const file = path.join(dir, 'slo-rules.yml');
    // promtool reads a rule_files document; a PrometheusRule's groups are the same groups.
    const groups =
      format === 'prometheus'
        ? yaml
        : stringify({ groups: (parse(yaml) as { spec: { groups: unknown } }).spec.groups }, { lineWidth: 0 });
    await writeFile(file, groups);
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(promtool, ['check', 'rules', file], { env: io.env }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}`.replaceAll(file, 'generated rules') });
      });
    });
    const lines = result.output.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) io.stderr.write(`promtool: ${line.trim()}\n`);
    if (result.code !== 0) {
      io.stderr.write(
        `promtool check rules refused the generated rules (exit ${result.code}); nothing written\n`,
      );
      return false;
    }
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Drops defaults and empty mappings so printed specs read like hand-written ones. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .map(([key, inner]) => [key, compact(inner)] as const)
    .filter(
      ([key, inner]) =>
        inner !== undefined &&
        !(key === 'disable' && inner === false) &&
        !(
          typeof inner === 'object' &&
          inner !== null &&
          !Array.isArray(inner) &&
          Object.keys(inner).length === 0
        ),
    );
  return Object.fromEntries(entries);
}
