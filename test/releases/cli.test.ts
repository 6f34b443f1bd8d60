// `millwright release ...` for pipelines, against a real runtime (the release command, the change
// gate, the audited executors on the Kubernetes double): the chat grammar, `--wait` following a
// release until it ends, and the exit codes a CI step branches on.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { fixedClock, type Reply, replyToText } from '../../src/core/index.js';
import { type JsonReply, runReleaseCli } from '../../src/releases/cli.js';
import { type KubernetesApiDouble, startKubernetesApi } from '../doubles/kubernetes-api.js';
import { accessWithImpersonator } from '../helpers/os-user.js';
import { trackedScenario } from '../helpers/release-cluster.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { millwright } from '../helpers/spawn.js';

const SCHEMAS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/schemas');
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date-time', (value: string) => !Number.isNaN(Date.parse(value)));
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json')))
  ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMAS, file), 'utf8')) as object);
/** The release's data against docs/schemas/release.schema.json, in ajv's words when it is not. */
function expectReleaseData(data: unknown, shape: 'one' | 'started' | 'list') {
  const validate = ajv.getSchema(`https://millwright.dev/schemas/release.schema.json#/definitions/${shape}`)!;
  expect(validate(data) ? [] : validate.errors).toEqual([]);
}

const REPO = 'registry.example.com/shop/checkout';
const clock = fixedClock(new Date('2026-12-04T10:00:00Z'));
let k8s: KubernetesApiDouble;
let bot: TestBot;

beforeEach(async () => {
  k8s = await startKubernetesApi({ objects: trackedScenario('checkout', { replicas: 10 }) });
  bot = await startTestBot({
    clock,
    config: `
prometheus: { url: http://127.0.0.1:9 }
kubernetes: { kubeconfig: ${k8s.kubeconfigPath}, allowedNamespaces: [shop] }
services:
  checkout: { channel: C-OPS, kubernetes: { namespace: shop, deployments: [checkout] } }
slos:
  - service: checkout
    name: availability
    objective: 99.9
    window: 30d
    sli:
      events:
        errorQuery: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))
        totalQuery: sum(rate(http_requests_total{service="checkout"}[{{window}}]))
policy:
  rules: [{ kind: freeze, windows: [] }, { kind: lock }]
access:
  defaultRoles: []
  roles: { admin: { allow: ['*'] } }
  subjects: { ana: [admin] }
`,
  });
});

afterEach(async () => {
  await bot.close();
  await k8s.close();
});

const asJson = (reply: Reply): JsonReply => ({
  ok: reply.ok,
  text: replyToText(reply),
  ...(reply.data ? { data: reply.data as Record<string, unknown> } : {}),
  ...(reply.error ? { error: reply.error } : {}),
});

/** Runs the CLI with the bot as its shell; `between` runs at every poll (what happens meanwhile). */
async function cli(args: string[], between: () => Promise<void> = async () => {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk) => out.push(String(chunk)));
  stderr.on('data', (chunk) => err.push(String(chunk)));
  let wall = 0;
  const lines: string[] = [];
  const code = await runReleaseCli(['release', ...args], {
    stdout,
    stderr,
    run: async (line) => {
      lines.push(line);
      return asJson(await bot.run(line));
    },
    sleep: async (ms) => {
      wall += ms;
      await between();
    },
    now: () => wall,
  });
  return { code, stdout: out.join(''), stderr: err.join(''), lines };
}

const service = () => bot.runtime.services.releases;
const origin = { actor: { id: 'ana', roles: ['admin'] }, channel: 'shell', surface: 'shell', ref: 't' };
const stableImage = () =>
  (
    k8s.state.get('Deployment', 'shop', 'checkout') as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    }
  ).spec.template.spec.containers[0]!.image;

it('--wait follows a release to promotion and exits 0; the stable then runs the new image', async () => {
  // Meanwhile a person hurries it through each step, and the worker notices the stable rolled out.
  const between = async () => {
    const [open] = await service().list({ open: true });
    if (open?.plan.state === 'running') await service().promote(origin, open.id);
    await service().tick();
  };
  const run = await cli(
    ['start', 'checkout', 'image=2.0.0', 'reason=ship it', '--wait', '--poll=10s'],
    between,
  );
  expect(run.lines[0]).toBe('release start checkout image=2.0.0 reason="ship it"');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^REL-1 checkout → registry\.example\.com\/shop\/checkout:2\.0\.0: promoted/);
  expect(run.stderr.split('\n').filter(Boolean)).toEqual([
    'REL-1: running at 9.1%',
    'REL-1: running at 23.1%',
    'REL-1: running at 50%',
    'REL-1: promoted at 100%',
  ]);
  expect(stableImage()).toBe(`${REPO}:2.0.0`);
  expect(k8s.state.get('Deployment', 'shop', 'checkout-canary')).toBeUndefined();
  // Every answer's data is what the schema says.
  expectReleaseData((await bot.run('release status REL-1')).data, 'one');
  expectReleaseData((await bot.run('release list')).data, 'list');
});

it('exits 1 when the release is aborted while it waits, or refused before it starts', async () => {
  const aborting = async () => {
    const [open] = await service().list({ open: true });
    if (open) await service().abort(origin, open.id, 'latency looks off');
  };
  const aborted = await cli(['start', 'checkout', 'image=2.0.0', '--wait', '--json'], aborting);
  expect(aborted.code).toBe(1);
  const last = JSON.parse(aborted.stdout.trim().split('\n').at(-1)!) as JsonReply;
  expect(last.error?.code).toBe('millwright_release_aborted');
  expect((last.data!.release as { because: string }).because).toBe('aborted by ana: latency looks off');
  expectReleaseData(last.data, 'one');

  const refused = await cli(['start', 'checkout', 'image=2.0.0', 'steps=5,50']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    'steps: the last step must be 100 (the canary takes all traffic before it becomes stable)\nhint: release start checkout image=2.4.0 steps=10,50,100\n',
  );
  const frozen = await bot.run('change freeze service=checkout until=1h reason="sale"');
  expect(frozen.ok).toBe(true);
  const denied = await cli(['start', 'checkout', 'image=2.0.1']);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toMatch(
    /^CR-\d+ was denied; the release of checkout did not start: freeze on checkout/,
  );
});

it('exits 2 when --wait runs out with the release still running, or nobody answers', async () => {
  const running = await cli(['start', 'checkout', 'image=2.0.0', '--wait=1m', '--poll=15s']);
  expect(running.code).toBe(2);
  expect(running.stderr).toMatch(/REL-1 is still running after --wait=1m\n$/);
  expect((await service().get('REL-1')).plan.state).toBe('running');

  const silent = await runReleaseCli(['release', 'list'], {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    run: async () => {
      throw new Error('connect ECONNREFUSED');
    },
  });
  expect(silent).toBe(2);
  const usage = await cli(['launch', 'checkout']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(
    /^millwright: unknown: release launch; expected start, status, promote, abort, list/,
  );
});

it('a dry run changes nothing and says what each step would do', async () => {
  const run = await cli(['start', 'checkout', 'image=2.0.0', '--dry-run', '--json']);
  expect(run.code).toBe(0);
  const reply = JSON.parse(run.stdout) as JsonReply;
  expect(reply.data?.dryRun).toMatchObject({
    stableReplicas: 10,
    steps: [
      { share: 5, canaryReplicas: 1, reached: 9.1 },
      { share: 25, canaryReplicas: 3, reached: 23.1 },
      { share: 50, canaryReplicas: 10, reached: 50 },
      { share: 100, canaryReplicas: 0, reached: 100 },
    ],
  });
  expect(k8s.state.get('Deployment', 'shop', 'checkout-canary')).toBeUndefined();
  expect(await service().list()).toEqual([]);
  expectReleaseData(reply.data, 'started');
});

it('is wired into the millwright command line, with the same exit codes', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-release-cli-'));
  try {
    const config = path.join(dir, 'millwright.yml');
    await writeFile(
      config,
      `store:\n  path: ./data\n${accessWithImpersonator({ roles: { viewer: { allow: ['release.*'] } }, defaultRoles: ['viewer'] })}`,
    );
    const listed = await millwright(['release', 'list', '--json', '--config', config], { cwd: dir });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ ok: true, data: { releases: [] } });
    const missing = await millwright(['release', 'status', 'REL-9', '--config', config], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('there is no release REL-9\nhint: release list shows recent releases\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
