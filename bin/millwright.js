#!/usr/bin/env node
// Runs the single-file build (npm run build) when it is newer than every source file, and the
// TypeScript sources through tsx otherwise, so a fresh clone works right after `npm ci` with no build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsFresh() {
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return ['src', 'commands', 'adapters'].every((dir) => newestSource(path.join(root, dir)) <= built);
}

const argv = process.argv.slice(2);
if (buildIsFresh()) {
  const { runBundle } = await import('./bundle.js');
  process.exitCode = await runBundle(path.join(root, 'dist'), argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(path.join(root, 'src', 'main.ts')).href);
  process.exitCode = await main(argv);
}
// main has finished and flushed; whatever still holds the event loop now (a socket to an upstream
// that never answered, an abandoned request) must not keep the process alive. Unref'd, so a
// process with nothing left exits at once without waiting for it.
setTimeout(() => process.exit(), 1_000).unref();
