// Runs the single-file build (dist/millwright.cjs) with a V8 code cache kept beside it: a start then
// skips parsing and compiling the bundle, most of what a start used to cost.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/**
 * Loads the bundle in `dist` and runs its main with `argv`; returns the exit code. Writes the code
 * cache after the run when there was none or V8 refused it (another Node version, an edited bundle).
 *
 * @example
 * process.exitCode = await runBundle(path.join(root, 'dist'), process.argv.slice(2));
 */
export async function runBundle(dist, argv) {
  const file = path.join(dist, 'millwright.cjs');
  // The cache is named after the bundle's size and time, so it never meets a bundle it was not made from.
  const { size, mtimeMs } = statSync(file);
  const cacheFile = path.join(dist, `.millwright.${size}.${Math.trunc(mtimeMs)}.cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // Inside the script, import() has no loader on Node 20; what Millwright imports from outside
  // itself (plugins, vega) comes through this module's.
  globalThis[Symbol.for('millwright.import')] = (specifier) => import(specifier);
  // The build keeps the bundle ASCII, so latin1 reads it exactly, and faster than utf8.
  const script = new vm.Script(readFileSync(file, 'latin1'), {
    filename: file,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dist);
  const code = await module.exports.main(argv);
  if (!cachedData || script.cachedDataRejected) {
    // After the run the cache also holds the functions the run compiled. Best effort: a read-only
    // install just starts without one.
    try {
      const temporary = `${cacheFile}.${process.pid}`;
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, cacheFile);
    } catch {
      // Nothing to do: the next start compiles again.
    }
  }
  return code;
}
