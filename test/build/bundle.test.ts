// The single-file build (npm run build) as bin/millwright.js runs it: same answers as the sources, a
// code cache V8 accepts, and the parts that load late (the cluster client, plugins, vega) still load.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startKubernetesApi } from '../doubles/kubernetes-api.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { accessWithImpersonator } from '../helpers/os-user.js';
import { ROOT, runProcess } from '../helpers/spawn.js';
import { scenarioSeries } from '../slo/scenarios.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
// The OS user may pick the actor with --as (access.osUsers and the impersonate permission).
const ACCESS = accessWithImpersonator({
  roles: { sre: { allow: ['*'] } },
  defaultRoles: [],
  subjects: { ana: ['sre'] },
});

let dir: string;
let dist: string;

/** `millwright ARGS` through the bundle in `dist`, the way bin/millwright.js runs a fresh build. */
function bundled(args: string[], input = '') {
  const loader = path.join(ROOT, 'bin', 'bundle.js');
  return runProcess(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { runBundle } from ${JSON.stringify(loader)}; process.exitCode = await runBundle(${JSON.stringify(dist)}, JSON.parse(process.env.MILLWRIGHT_ARGV));`,
    ],
    { input, cwd: dir, env: { MILLWRIGHT_ARGV: JSON.stringify(args) } },
  );
}

async function caches(): Promise<string[]> {
  return (await readdir(dist)).filter((file) => file.endsWith('.cache'));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-bundle-'));
  dist = path.join(dir, 'dist');
  const built = await runProcess(process.execPath, [path.join(ROOT, 'bin', 'build.mjs'), '--outdir', dist]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

it('answers the README quick start like the sources, from a code cache V8 accepts', async () => {
  // The build ran the bundle once, which left the cache.
  const [cache] = await caches();
  expect(cache).toMatch(/^\.millwright\.\d+\.\d+\.cache$/);
  const before = await stat(path.join(dist, cache!));
  await writeFile(path.join(dir, 'millwright.yml'), `store:\n  path: ./data\n${ACCESS}`);
  const run = await bundled(
    ['shell', '--config', 'millwright.yml', '--as', 'ana', '--json'],
    'help\nwhoami\nnonsense\n',
  );
  expect(run.stderr).toBe('');
  const replies = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { ok: boolean; text: string; error?: { code: string } });
  expect(replies.map((reply) => reply.ok)).toEqual([true, true, false]);
  expect(replies[0]!.text).toContain('deploys');
  expect(replies[1]!.text).toContain('roles:   sre');
  expect(replies[2]!.error?.code).toBe('millwright_unknown_command');
  // An accepted cache is not written again; a refused one would be replaced.
  expect(await caches()).toEqual([cache]);
  expect((await stat(path.join(dist, cache!))).mtimeMs).toBe(before.mtimeMs);
});

it('loads a plugin executor and the Kubernetes client from inside the bundle', async () => {
  const kubernetes = await startKubernetesApi({ objects: [] });
  try {
    const calls = path.join(dir, 'calls.jsonl');
    await writeFile(
      path.join(dir, 'plugin.yml'),
      `store:\n  path: ./data-plugin\n${ACCESS}kubernetes:\n  kubeconfig: ${kubernetes.kubeconfigPath}\n  allowedNamespaces: [shop]\n` +
        `executors:\n  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}\n    config: { callsFile: ${calls} }\n` +
        `services:\n  checkout:\n    kubernetes: { namespace: shop, deployments: [checkout] }\n`,
    );
    const run = await bundled(['shell', '--config', 'plugin.yml', '--as', 'ana', '-e', 'deploys checkout']);
    expect(run.stderr).toBe('');
    // The cluster was reached through the bundled client and answered that there is no such deployment.
    expect(run.stdout).toContain('deployment checkout not found in namespace shop');
    expect(kubernetes.requests.some((request) => request.path.endsWith('/deployments/checkout'))).toBe(true);
  } finally {
    await kubernetes.close();
  }
});

it('lints PromQL from the build: the grammar loads from its own chunk, only when slo lint needs it', async () => {
  const run = await bundled(['slo', 'lint', path.join(FIXTURES, 'slo', 'promql')]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /native\.yml:8:25 slos\[0\]\.sli\.events\.errorQuery: checkout\/typo: errorQuery: unknown function "rtae"/,
  );
  const clean = await bundled(['slo', 'lint', path.join(ROOT, 'slos')]);
  expect(clean.stderr).toBe('');
  expect(clean.code).toBe(0);
});

it('serves Teams from the build: the Bot Framework SDK loads from its own chunk under dist/vendor', async () => {
  expect((await readdir(path.join(dist, 'vendor'))).filter((file) => file.endsWith('.cjs')).sort()).toEqual([
    'ajv.cjs',
    'cron.cjs',
    'github.cjs',
    'kubernetes.cjs',
    'metrics.cjs',
    'postgres.cjs',
    'promql.cjs',
    'resilience.cjs',
    'secretlint.cjs',
    'slack.cjs',
    'teams.cjs',
  ]);
  await writeFile(
    path.join(dir, 'teams.yml'),
    'store:\n  path: ./data-teams\nserver:\n  port: 0\n  host: 127.0.0.1\nteams:\n  appId: bundle-test\n  allowUnauthenticated: true\n',
  );
  const loader = path.join(ROOT, 'bin', 'bundle.js');
  const server = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { runBundle } from ${JSON.stringify(loader)}; process.exitCode = await runBundle(${JSON.stringify(dist)}, ['serve', '--config', 'teams.yml']);`,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /millwright listening on [\d.]+:(\d+)/.exec(output);
        if (listening) resolve(Number(listening[1]));
      });
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // The adapter (built on botbuilder's CloudAdapter) answers; a body that is not JSON is refused.
    const refused = await fetch(`http://127.0.0.1:${port}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'not json',
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
});

describe('with a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  beforeAll(async () => {
    const end = evaluationEnd();
    const { series, start } = scenarioSeries(end);
    prometheus = await startPrometheus({ series, start, end });
  }, 120_000);
  afterAll(() => prometheus?.close());

  it('draws the budget chart with vega and resvg, which load from node_modules', async () => {
    await writeFile(
      path.join(dir, 'budget.yml'),
      `store:\n  path: ./data-budget\n${ACCESS}prometheus:\n  url: ${prometheus.url}\nslo:\n  dir: ${path.join(FIXTURES, 'slo', 'scenarios')}\n`,
    );
    const run = await bundled([
      'shell',
      '--config',
      'budget.yml',
      '--as',
      'ana',
      '--json',
      '-e',
      `budget payments/availability --at=${prometheus.end.toISOString()}`,
    ]);
    expect(run.stderr).toBe('');
    const reply = JSON.parse(run.stdout) as { ok: boolean; blocks: Array<{ type: string; url?: string }> };
    expect(reply.ok).toBe(true);
    const image = reply.blocks.find((block) => block.type === 'image');
    const png = await readFile(fileURLToPath(image!.url!));
    expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  });
});

describe('whether bin/millwright.js trusts the build', () => {
  type Fresh = (root: string, dist: string) => Promise<boolean> | undefined;
  const loadCheck = async () =>
    ((await import(pathToFileURL(path.join(ROOT, 'bin', 'bundle.js')).href)) as { buildIsFresh: Fresh })
      .buildIsFresh;

  it('trusts a build that no source is newer than', async () => {
    const buildIsFresh = await loadCheck();
    const stamp = JSON.parse(await readFile(path.join(dist, '.build-stamp'), 'utf8')) as {
      sources: string[];
    };
    expect(stamp.sources).toEqual(
      expect.arrayContaining(['./src', './src/main.ts', './commands', './adapters/slack']),
    );
    await expect(buildIsFresh(ROOT, dist)).resolves.toBe(true);
  });

  it('distrusts it once a source is edited, added or removed, and without a readable stamp', async () => {
    const buildIsFresh = await loadCheck();
    const root = path.join(dir, 'sources');
    const stampDir = path.join(root, 'dist');
    await mkdir(path.join(root, 'src'), { recursive: true });
    await mkdir(stampDir);
    const source = path.join(root, 'src', 'a.ts');
    await writeFile(source, 'export const a = 1;\n');
    const built = new Date('2026-01-01T00:00:00Z');
    const settle = () =>
      Promise.all([utimes(source, built, built), utimes(path.join(root, 'src'), built, built)]);
    await settle();
    await writeFile(
      path.join(stampDir, '.build-stamp'),
      JSON.stringify({ builtAt: built.getTime(), sources: ['./src', './src/a.ts'] }),
    );
    await expect(buildIsFresh(root, stampDir)).resolves.toBe(true);

    const later = new Date(built.getTime() + 1000);
    await utimes(source, later, later);
    await expect(buildIsFresh(root, stampDir)).resolves.toBe(false);

    await settle();
    await writeFile(path.join(root, 'src', 'b.ts'), 'export const b = 2;\n');
    await expect(buildIsFresh(root, stampDir)).resolves.toBe(false);

    await unlink(path.join(root, 'src', 'b.ts'));
    await unlink(source);
    await utimes(path.join(root, 'src'), built, built);
    await expect(buildIsFresh(root, stampDir)).resolves.toBe(false);

    // The stamp of an older build (a date alone) and no stamp at all: run the sources.
    await writeFile(path.join(stampDir, '.build-stamp'), `${built.toISOString()}\n`);
    expect(buildIsFresh(root, stampDir)).toBeUndefined();
    await unlink(path.join(stampDir, '.build-stamp'));
    expect(buildIsFresh(root, stampDir)).toBeUndefined();
  });
});
