// `millwright slo import FILE`, `millwright slo lint [DIR]`, `millwright slo rules [--format F] [DIR]`:
// the operator's SLO tools, which need no Prometheus.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../config/index.js';
import { asMillwrightError } from '../core/errors.js';
import { lintSlos } from './lint.js';
import { formatSloProblem, type LoadedSlos, loadSloDirectory, loadSloFile, type SloProblem } from './load.js';
import { locateQueries, type QueryLocator } from './locate.js';
import { type RulesFormat, sloRulesYaml } from './rules.js';
import { normalizeSlo, type Slo, sloLabel } from './spec.js';

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
  slo rules [--format prometheus|prometheus-operator] [--out FILE] [DIR]
                                  Prometheus recording and alert rules for the SLOs in DIR (default: the config's)`;

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
        return await rulesCommand(target, format, values.out, io);
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

/** `lintSlos` with each SLO file read again so PromQL problems get their line and column. */
async function lintWithPositions(slos: readonly Slo[], io: SloCliIO): Promise<SloProblem[]> {
  const files = [...new Set(slos.map((slo) => slo.source.file ?? io.configPath))];
  const locators = new Map<string, QueryLocator>();
  await Promise.all(
    files.map(async (file) => {
      try {
        locators.set(file, locateQueries(await readFile(path.resolve(io.cwd, file), 'utf8')));
      } catch (error) {
        // Read a moment ago by the loader; if it is gone now, problems are reported without a line.
        io.stderr.write(`${file}: cannot read it again for positions: ${(error as Error).message}\n`);
      }
    }),
  );
  return lintSlos(slos, (file) => locators.get(file));
}

function describeSlo(slo: Slo): string {
  return `${sloLabel(slo)} ${slo.objective}% over ${slo.window}`;
}

async function importCommand(file: string, shown: string, io: SloCliIO): Promise<number> {
  const loaded = await loadSloFile(file, shown);
  const problems = [...loaded.problems, ...(await lintWithPositions(loaded.slos, io))];
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
  const base = path.dirname(config.path);
  const sloDir = path.resolve(base, config.config.slo.dir);
  const fromFiles = await loadSloDirectory(sloDir, { cwd: io.cwd });
  const fromConfig = config.config.slos.map((spec) =>
    normalizeSlo(spec, { format: 'config', file: config.path }),
  );
  return {
    loaded: { ...fromFiles, slos: [...fromConfig, ...fromFiles.slos] },
    where: path.relative(io.cwd, sloDir) || '.',
  };
}

async function lintCommand(dir: string | undefined, io: SloCliIO): Promise<number> {
  const { loaded, where } = await sloSources(dir, io);
  const problems = [...loaded.problems, ...(await lintWithPositions(loaded.slos, io))];
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
  out: string | undefined,
  io: SloCliIO,
): Promise<number> {
  const { loaded, where } = await sloSources(dir, io);
  const problems = [...loaded.problems, ...(await lintWithPositions(loaded.slos, io))];
  if (!report({ ...loaded, problems }, io)) return 1;
  if (loaded.slos.length === 0) {
    io.stderr.write(`${where}: no SLOs to write rules for\n`);
    return 1;
  }
  const yaml = sloRulesYaml(loaded.slos, format);
  if (out) {
    await writeFile(path.resolve(io.cwd, out), yaml);
    io.stderr.write(`wrote ${format} rules for ${loaded.slos.length} SLOs to ${out}\n`);
  } else {
    io.stdout.write(yaml);
  }
  return 0;
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
