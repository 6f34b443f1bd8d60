#!/usr/bin/env node
// Runs the single-file build (npm run build) when no source changed since it was built, and the
// TypeScript sources through tsx otherwise, so a fresh clone works right after `npm ci` with no build step.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

const argv = process.argv.slice(2);
const { buildIsFresh, runBundle } = await import('./bundle.js');
const fresh = buildIsFresh(root, dist);
let code = fresh ? await runBundle(dist, argv, fresh) : undefined;
if (code === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(path.join(root, 'src', 'main.ts')).href);
  code = await main(argv);
}
process.exitCode = code;
// main has finished and flushed; whatever still holds the event loop now (a socket to an upstream
// that never answered, an abandoned request) must not keep the process alive. Unref'd, so a
// process with nothing left exits at once without waiting for it.
setTimeout(() => process.exit(), 1_000).unref();
