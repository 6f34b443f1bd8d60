// npm run build: bundles the entry point, every command and every adapter into dist/ with shared
// chunks (one copy of src/core), which starts far faster than hundreds of separate modules.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const typescriptIn = (dir, recursive) =>
  readdirSync(path.join(root, dir), { recursive })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));

// Each adapter's public face, and each command file (the registry loads commands/ by listing it).
const adapters = typescriptIn('adapters', true).filter((file) => path.basename(file) === 'index.ts');
const commands = typescriptIn('commands', false);
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts', ...adapters, ...commands],
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Native addons cannot be bundled; they load from node_modules at run time.
  external: ['@resvg/resvg-js'],
  // Bundled CommonJS dependencies (pino, yaml) still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __millwrightRequire } from 'node:module'; const require = __millwrightRequire(import.meta.url);",
  },
});
mkdirSync(path.join(root, 'dist'), { recursive: true });
writeFileSync(path.join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
