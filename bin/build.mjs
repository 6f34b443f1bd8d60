// npm run build: bundles Millwright into one script, dist/millwright.cjs, that bin/millwright.js runs
// with a V8 code cache, so a start neither resolves hundreds of modules nor parses megabytes of code.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = path.resolve(root, values.outdir ?? 'dist');
const relative = (file) => `./${path.relative(root, file).split(path.sep).join('/')}`;

// The commands are all registered at start; the adapters load on first use through their modules.
const commands = readdirSync(path.join(root, 'commands'))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('_'))
  .sort();
const entry = [
  "export * from './src/main.ts';",
  ...commands.map((file, i) => `import command${i} from './commands/${file}';`),
  "globalThis[Symbol.for('millwright.bundle')] = {",
  `  commands: [${commands.map((_, i) => `command${i}`).join(', ')}],`,
  '};',
].join('\n');

// zod re-exports every locale it ships (`z.locales`); Millwright's messages are English and never
// reach for another, so the bundle carries English only (a third of zod's size).
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`)
        ? { path: 'zod-locales', namespace: 'english-only-zod' }
        : undefined,
    );
    builder.onLoad({ filter: /^zod-locales$/, namespace: 'english-only-zod' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: root,
    }));
    // Nor does it build schemas from JSON Schema (`z.fromJSONSchema`), whose module costs every start
    // some 3 ms to set up: it is left out, and calling it says so.
    builder.onResolve({ filter: /^\.\/from-json-schema\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`)
        ? { path: 'from-json-schema', namespace: 'english-only-zod' }
        : undefined,
    );
    builder.onLoad({ filter: /^from-json-schema$/, namespace: 'english-only-zod' }, () => ({
      contents:
        "export function fromJSONSchema() { throw new Error('z.fromJSONSchema is not part of the Millwright build'); }",
    }));
  },
};

// The chat platforms' SDKs and the cluster and GitHub clients weigh six times the rest together, and
// the libraries of the server's metrics, digest schedules, plugin input schemas and secret detection
// are needed by few commands. Each group is its own bundle under vendor/, read and run on the first use of anything it
// exports, so a start that does not use it neither reads nor compiles it. They hold no state shared
// with Millwright's own code, which stays in one bundle.
const VENDORS = {
  kubernetes: ['@kubernetes/client-node', '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js'],
  slack: ['@slack/bolt', '@slack/web-api'],
  teams: ['botbuilder', 'botframework-connector', 'botframework-schema', '@azure/msal-node'],
  github: ['@octokit/rest', '@octokit/graphql', '@octokit/app', '@octokit/core'],
  metrics: ['prom-client'],
  cron: ['node-cron'],
  ajv: ['ajv'],
  secretlint: ['@secretlint/core', '@secretlint/secretlint-rule-preset-recommend'],
  resilience: ['cockatiel'],
  // Only `slo lint` and `slo rules` parse PromQL; the bot and every other command never load it.
  promql: ['@prometheus-io/lezer-promql'],
  // Only store.kind postgres (and `millwright store`) reaches the database driver and the migrator.
  postgres: ['pg', 'node-pg-migrate'],
};
const vendorOf = new Map(
  Object.entries(VENDORS).flatMap(([group, packages]) => packages.map((name) => [name, group])),
);
const requireHere = createRequire(path.join(root, 'package.json'));
// The stand-in for a vendored package: a proxy that knows the package's export names (read here, at
// build time, from the built chunk), so importing it costs nothing, and that loads the group on the
// first export used.
function lazyVendor(name) {
  const exported = requireHere(path.join(outdir, 'vendor', `${vendorOf.get(name)}.cjs`))[name];
  const names = Object.getOwnPropertyNames(exported);
  return `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(`./vendor/${vendorOf.get(name)}.cjs`)})[${JSON.stringify(name)}]);
const names = ${JSON.stringify(names)};
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' ? ${exported.__esModule === true} : load()[key]),
  has: (_, key) => names.includes(key),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, key) =>
    names.includes(key) ? { configurable: true, enumerable: true, writable: true, value: undefined } : undefined,
  getPrototypeOf: () => Object.prototype,
});`;
}
const vendorChunks = {
  name: 'vendor-chunks',
  setup(builder) {
    builder.onResolve({ filter: /^[@a-z]/ }, (args) =>
      vendorOf.has(args.path) ? { path: args.path, namespace: 'millwright-vendor' } : undefined,
    );
    builder.onResolve({ filter: /^\.\/vendor\// }, (args) =>
      args.namespace === 'millwright-vendor' ? { path: args.path, external: true } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'millwright-vendor' }, (args) => ({
      contents: lazyVendor(args.path),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

// Node built-ins a start need not load: pino reads worker_threads (for its asynchronous destination
// and its worker transports, neither of which Millwright uses) and several of its helpers require
// assert to check what always holds. Each costs a start some 15 million instructions. assert becomes
// a stand-in that loads the real one only when a check fails (so the error is the real
// AssertionError); pino's two requires are moved to where they are used. A pino whose text no longer matches fails the build.
const LAZY_ASSERT = `let real;
const load = () => (real ??= require('node:assert'));
function assert(value, message) { if (!value) load()(value, message); }
assert.ok = assert;
assert.equal = (actual, expected, message) => { if (actual != expected) load().equal(actual, expected, message); };
module.exports = new Proxy(assert, { get: (target, key) => (key in target ? target[key] : load()[key]) });`;
const PINO_EDITS = {
  [path.join('pino', 'lib', 'tools.js')]: [
    ["const { isMainThread } = require('worker_threads')", ''],
    ['!opts.sync && isMainThread', "!opts.sync && require('worker_threads').isMainThread"],
  ],
  [path.join('pino', 'lib', 'transport.js')]: [
    ["const ThreadStream = require('thread-stream')", ''],
    ['new ThreadStream(', "new (require('thread-stream'))("],
  ],
};
const startupTrim = {
  name: 'startup-trim',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?assert$/ }, (args) =>
      args.namespace === 'lazy-assert'
        ? { path: 'node:assert', external: true }
        : { path: 'assert', namespace: 'lazy-assert' },
    );
    builder.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: LAZY_ASSERT,
      loader: 'js',
    }));
    builder.onLoad({ filter: /[\\/]pino[\\/]lib[\\/](tools|transport)\.js$/ }, (args) => {
      const edits = Object.entries(PINO_EDITS).find(([tail]) => args.path.endsWith(tail))?.[1];
      if (!edits) return undefined;
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of edits) {
        if (text.split(from).length !== 2) throw new Error(`${args.path} no longer holds "${from}" once`);
        text = text.replace(from, to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

// What every bundle here shares: Node 20, CommonJS, whitespace and syntax minified.
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

// The stamp lists what bin/millwright.js checks before it trusts the build: every TypeScript source
// and every directory holding them, none of which may change after this moment.
const builtAt = Date.now();
function sourcesUnder(dir) {
  const found = [relative(dir)];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourcesUnder(full));
    else if (entry.name.endsWith('.ts')) found.push(relative(full));
  }
  return found;
}
const sources = ['src', 'commands', 'adapters'].flatMap((dir) => sourcesUnder(path.join(root, dir)));

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
// The vendor chunks first: the main bundle's stand-ins read their export names from them.
for (const [group, packages] of Object.entries(VENDORS)) {
  await build({
    ...common,
    stdin: {
      contents: `module.exports = {${packages.map((name) => `${JSON.stringify(name)}: require(${JSON.stringify(name)})`).join(', ')}};`,
      resolveDir: root,
      sourcefile: `vendor-${group}.js`,
      loader: 'js',
    },
    outfile: path.join(outdir, 'vendor', `${group}.cjs`),
    legalComments: 'external',
  });
}
const bundle = path.join(outdir, 'millwright.cjs');
await build({
  ...common,
  stdin: { contents: entry, resolveDir: root, sourcefile: 'millwright-bundle.ts', loader: 'ts' },
  outfile: bundle,
  sourcemap: 'linked',
  // Short local names make the bundle a quarter smaller, so a start reads, decodes and deserialises
  // less (about 90 million fewer instructions per start). Only Millwright's own bundle: its names that
  // matter are strings (error names are set explicitly); the vendor chunks keep theirs.
  minifyIdentifiers: true,
  // Licences go beside the bundle; the bundle itself stays ASCII, which the loader relies on.
  legalComments: 'external',
  charset: 'ascii',
  plugins: [englishOnlyZod, vendorChunks, startupTrim],
  // A native addon, and vega (top-level await, which a CommonJS bundle cannot hold): both load from
  // node_modules when a chart is drawn.
  external: ['@resvg/resvg-js', 'vega', 'vega-lite'],
  // The script runs as the body of (exports, require, module, __filename, __dirname) => ..., the way
  // Node runs a CommonJS file; import.meta.url is the bundle's own URL, as each chunk's was.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) {var __millwrightUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '})' },
  define: { 'import.meta.url': '__millwrightUrl' },
});
const bytes = readFileSync(bundle);
// The bundle runs as a script with no module loader: an import() of a Node built-in fails there at
// run time ("A dynamic import callback was not specified"), so the build refuses it now.
const builtinImport = /\bimport\(\s*["'](node:[\w/]+)["']\s*\)/.exec(bytes.toString('latin1'));
if (builtinImport)
  throw new Error(
    `${relative(bundle)} holds import("${builtinImport[1]}"); use process.getBuiltinModule("${builtinImport[1]}") instead`,
  );
const wide = bytes.findIndex((byte) => byte > 0x7f);
if (wide !== -1)
  throw new Error(`${relative(bundle)} is not ASCII at byte ${wide}; the loader reads it as latin1`);
writeFileSync(path.join(outdir, '.build-stamp'), `${JSON.stringify({ builtAt, sources })}\n`);
console.log(`${relative(bundle)}: ${(bytes.length / 1e6).toFixed(1)} MB`);

// One start leaves the code cache beside the bundle, so the first real start is already fast.
const scratch = mkdtempSync(path.join(tmpdir(), 'millwright-build-'));
try {
  writeFileSync(
    path.join(scratch, 'millwright.yml'),
    `store:\n  path: ${JSON.stringify(path.join(scratch, 'data'))}\n`,
  );
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { runBundle } from ${JSON.stringify(path.join(root, 'bin', 'bundle.js'))}; process.exitCode = await runBundle(${JSON.stringify(outdir)}, ['shell', '--config', ${JSON.stringify(path.join(scratch, 'millwright.yml'))}, '-e', 'help']);`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
