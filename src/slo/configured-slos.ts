// The SLOs a config loads (its `slos:` and the files in `slo.dir`) and every problem in them, the
// schema's and lint's, with line and column: `slo lint`, `config check` and the SLO service share it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { lintSlos } from './lint.js';
import { type LoadedSlos, loadSloDirectory, type SloProblem } from './load.js';
import { locateQueries, type SloFileLocator } from './locate.js';
import { normalizeSlo } from './spec.js';

/**
 * The config's inline SLOs first, then those in `slo.dir` (absolute). Files are named relative to
 * `cwd` when given, else by their absolute paths.
 *
 * @example
 * const { slos, problems } = await configuredSlos(loaded, { cwd: process.cwd() });
 */
export async function configuredSlos(
  loaded: Pick<LoadedConfig, 'path' | 'config'>,
  options: { cwd?: string } = {},
): Promise<LoadedSlos & { dir: string }> {
  const dir = path.resolve(path.dirname(loaded.path), loaded.config.slo.dir);
  const fromFiles = await loadSloDirectory(dir, options.cwd === undefined ? {} : { cwd: options.cwd });
  const file =
    options.cwd === undefined ? loaded.path : path.relative(options.cwd, loaded.path) || loaded.path;
  const fromConfig = loaded.config.slos.map((spec, index) =>
    normalizeSlo(spec, { format: 'config', file, document: 0, path: `slos[${index}]` }),
  );
  return { ...fromFiles, slos: [...fromConfig, ...fromFiles.slos], dir };
}

/**
 * What loading found, then what lint finds (PromQL Prometheus would refuse, unreachable burn
 * factors, duplicate ids), each SLO file read again so a query's problem has its line and column.
 *
 * @example
 * const problems = await sloProblems(await configuredSlos(loaded)); // [] when every SLO is sound
 */
export async function sloProblems(
  loaded: LoadedSlos,
  options: { cwd?: string; onUnreadable?: (file: string, error: Error) => void } = {},
): Promise<SloProblem[]> {
  const files = [...new Set(loaded.slos.flatMap((slo) => (slo.source.file ? [slo.source.file] : [])))];
  const locators = new Map<string, SloFileLocator>();
  await Promise.all(
    files.map(async (file) => {
      try {
        locators.set(file, locateQueries(await readFile(path.resolve(options.cwd ?? '/', file), 'utf8')));
      } catch (error) {
        // Read a moment ago by the loader; if it is gone now, problems are reported without a line.
        options.onUnreadable?.(file, error as Error);
      }
    }),
  );
  return [...loaded.problems, ...lintSlos(loaded.slos, (file) => locators.get(file))];
}
