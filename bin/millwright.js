#!/usr/bin/env node
// Runs the single-file build (npm run build) when no source changed since it was built, and the
// TypeScript sources through tsx otherwise, so a fresh clone works right after `npm ci` with no build step.
// CommonJS (bin/package.json), so a start does not pay for the ESM loader before it needs it.
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { buildIsFresh, runBundle } = require('./bundle.js');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

async function start(argv) {
  const fresh = buildIsFresh(root, dist);
  const code = fresh ? await runBundle(dist, argv, fresh) : undefined;
  if (code !== undefined) return code;
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(path.join(root, 'src', 'main.ts')).href);
  return main(argv);
}

start(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // main has finished and flushed; whatever still holds the event loop now (a socket to an upstream
    // that never answered, an abandoned request) must not keep the process alive. Unref'd, so a
    // process with nothing left exits at once without waiting for it.
    setTimeout(() => process.exit(), 1_000).unref();
  },
  (error) => {
    // Only a broken install gets here (main answers every failure itself).
    process.stderr.write(`millwright: ${error?.message ?? error}\n`);
    process.exitCode = 70;
  },
);
