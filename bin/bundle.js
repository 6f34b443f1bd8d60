// Runs the single-file build (dist/millwright.cjs) with a V8 code cache kept beside it: a start then
// skips parsing and compiling the bundle, most of what a start used to cost. It also tells whether the
// build is still the sources' (bin/millwright.js runs the sources through tsx when it is not).
// CommonJS (bin/package.json): an ES module entry costs every start the ESM loader's own start-up.
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

/**
 * Whether the build is fresh: the stamp lists every source file and directory the build read, and
 * none may be newer than the build (a directory that gained or lost a file is newer too). The stats are
 * synchronous and stop at the first newer source: a few hundred cached stats cost less on the main
 * thread than dispatching as many promises to libuv's threads (about 28 million fewer instructions per
 * start, counted with callgrind). Undefined when there is no build (or it predates the stamp's format).
 *
 * @example
 * const fresh = buildIsFresh(root, path.join(root, 'dist')); // Promise<boolean> | undefined
 */
function buildIsFresh(root, dist) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(dist, '.build-stamp'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Number.isFinite(stamp?.builtAt) || !Array.isArray(stamp.sources)) return undefined;
  const prefix = `${root}${path.sep}`;
  for (const source of stamp.sources) {
    const found = statSync(prefix + source, { throwIfNoEntry: false });
    if (!found || found.mtimeMs > stamp.builtAt) return Promise.resolve(false);
  }
  return Promise.resolve(true);
}

/**
 * Loads the bundle in `dist` and runs its main with `argv`; returns the exit code. Writes the code
 * cache after the run when there was none or V8 refused it (another Node version, an edited bundle).
 * With `fresh`, a promise of whether the build is current, the bundle is read and compiled while it
 * settles and runs only when it holds; otherwise the answer is undefined and nothing of it has run.
 *
 * @example
 * process.exitCode = await runBundle(path.join(root, 'dist'), process.argv.slice(2));
 */
async function runBundle(dist, argv, fresh = Promise.resolve(true)) {
  const file = path.join(dist, 'millwright.cjs');
  // The cache is named after the bundle's size and time, so it never meets a bundle it was not made from.
  const found = statSync(file, { throwIfNoEntry: false });
  if (!found) return undefined;
  const { size, mtimeMs } = found;
  const cacheFile = path.join(dist, `.millwright.${size}.${Math.trunc(mtimeMs)}.cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The build keeps the bundle ASCII, so latin1 reads it exactly, and faster than utf8.
  const script = new vm.Script(readFileSync(file, 'latin1'), {
    filename: file,
    cachedData,
  });
  if (!(await fresh)) return undefined;
  // Inside the script, import() has no loader on Node 20; what Millwright imports from outside
  // itself (plugins, vega) comes through this module's.
  globalThis[Symbol.for('millwright.import')] = (specifier) => import(specifier);
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

module.exports = { buildIsFresh, runBundle };
