// The container image: the Dockerfile's promises read from the file (base a build argument, non-root
// user, the store's volume, HEALTHCHECK, a smoke-testing last stage), the baked config run on this
// machine as the smoke stage runs it, and, where podman and a Node 20 base are at hand, a real build.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { millwright, ROOT, runProcess } from '../helpers/spawn.js';

const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const OFFICIAL_BASE = 'docker.io/library/node:20-bookworm-slim';
/** What `node bin/build-image.mjs --make-base` imports where no registry is reachable. */
const LOCAL_BASE = 'localhost/millwright-node-base:20';

/** Instructions per stage: `[['FROM ...', 'RUN ...'], ...]`, continuation lines joined. */
function stages(text: string): string[][] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const result: string[][] = [[]];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) result.push([]);
    result.at(-1)?.push(line);
  }
  return result;
}

const has = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const imageExists = (image: string) =>
  spawnSync('podman', ['image', 'exists', image], { stdio: 'ignore' }).status === 0;

/** The base to build on, or why the build is skipped. */
function buildPlan(): { base: string } | { skip: string } {
  if (!has('podman')) return { skip: 'podman is not installed (apt-get install podman)' };
  const candidates = [process.env.MILLWRIGHT_TEST_NODE_IMAGE, OFFICIAL_BASE, LOCAL_BASE].filter(
    (image): image is string => Boolean(image),
  );
  const base = candidates.find(imageExists);
  return base
    ? { base }
    : {
        skip: `no Node 20 base image is present locally (${candidates.join(', ')}); pull one, set MILLWRIGHT_TEST_NODE_IMAGE, or run node bin/build-image.mjs --make-base`,
      };
}

describe('the container image', () => {
  let dockerfile: string[][];
  beforeAll(async () => {
    dockerfile = stages(await readFile(DOCKERFILE, 'utf8'));
  });

  it('takes its base as a build argument defaulting to the official Node 20 image, in three stages', () => {
    const [preamble = [], ...built] = dockerfile;
    expect(preamble).toEqual([`ARG NODE_IMAGE=${OFFICIAL_BASE}`]);
    const fromBase = (stage: string) => `FROM $${'{NODE_IMAGE}'} AS ${stage}`;
    expect(built.map((stage) => stage[0])).toEqual([fromBase('build'), fromBase('runtime'), 'FROM runtime']);
    const build = built[0] ?? [];
    expect(build.join('\n')).toMatch(/^RUN --mount=type=secret,id=npm-ca,required=false .*&& npm ci$/m);
    expect(build).toContain('RUN npm run build && npm prune --omit=dev');
  });

  it('runs as uid 10001 with the store on a volume, a HEALTHCHECK on /healthz and the server by default', async () => {
    const runtime = dockerfile[2] ?? [];
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime).toContain('VOLUME ["/var/lib/millwright"]');
    expect(runtime).toContain('ENTRYPOINT ["millwright"]');
    expect(runtime).toContain('CMD ["serve"]');
    expect(runtime.join('\n')).toMatch(/MILLWRIGHT_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:3000\/healthz/);
    expect(runtime.find((line) => line.startsWith('HEALTHCHECK'))).toMatch(
      /CMD \["node", "-e", "fetch\(process\.env\.MILLWRIGHT_HEALTHCHECK_URL\)/,
    );
    // The kustomize base runs the image as that user and mounts the volume where the image declares it.
    const { stdout } = await promisify(execFile)('kubectl', [
      'kustomize',
      path.join(ROOT, 'deploy', 'kubernetes'),
    ]);
    const deployment = parseAllDocuments(stdout)
      .map((doc) => doc.toJSON())
      .find((o) => o.kind === 'Deployment');
    expect(deployment.spec.template.spec.securityContext).toMatchObject({
      runAsUser: 10001,
      runAsGroup: 10001,
    });
    expect(deployment.spec.template.spec.containers[0].volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/var/lib/millwright',
    });
  });

  it("ends with the smoke test: config check and shell -e help as the image's user", () => {
    const smoke = (dockerfile[3] ?? []).join('\n');
    expect(smoke).toMatch(
      /^RUN export MILLWRIGHT_STORE=\/tmp\/millwright-smoke\s+&& millwright config check\s+&& millwright shell -e help/m,
    );
    expect(smoke).toContain("buildIsFresh('/app', '/app/dist')");
    expect(smoke).toContain('find /app /etc/millwright -writable');
  });

  it('bakes a config that passes config check and answers help, run here as the smoke stage runs it', async () => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'millwright-smoke-'));
    try {
      const env = {
        MILLWRIGHT_CONFIG: path.join(ROOT, 'deploy', 'image', 'millwright.yml'),
        MILLWRIGHT_STORE: store,
      };
      const check = await millwright(['config', 'check'], { env });
      expect(check.stdout).toMatch(/millwright\.yml: ok/);
      expect(check.code).toBe(0);
      // The baked config names /app/runbooks; here the shell answers help whether or not that exists.
      const help = await millwright(['shell', '-e', 'help'], { env });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('runbook');
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });

  it('keeps the build context to what the Dockerfile copies', async () => {
    const ignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    for (const copied of [
      'package.json',
      'package-lock.json',
      'bin/',
      'src/',
      'commands/',
      'adapters/',
      'runbooks/',
      'deploy/image/',
    ]) {
      expect(ignore).toContain(`!${copied}`);
    }
  });

  const plan = buildPlan();
  const buildIt = 'skip' in plan ? it.skip : it;
  buildIt(
    `builds with podman and the smoke stage passes${'skip' in plan ? ` (skipped: ${plan.skip})` : ''}`,
    async () => {
      if ('skip' in plan) return;
      const tag = 'localhost/millwright:test';
      const built = await runProcess(
        process.execPath,
        [path.join(ROOT, 'bin', 'build-image.mjs'), '--tag', tag, '--base', plan.base],
        {
          // This sandbox allows podman builds only without user namespaces; chroot isolation works everywhere.
          env: { MILLWRIGHT_BUILD_ISOLATION: process.env.MILLWRIGHT_BUILD_ISOLATION ?? 'chroot' },
        },
      );
      expect({
        code: built.code,
        tail: built.code === 0 ? '' : `${built.stdout}${built.stderr}`.slice(-3000),
      }).toEqual({
        code: 0,
        tail: '',
      });
      const inspect = await runProcess('podman', ['image', 'inspect', tag]);
      const [image] = JSON.parse(inspect.stdout) as {
        Config: {
          User: string;
          Entrypoint: string[];
          Cmd: string[];
          Volumes: Record<string, object>;
          Env: string[];
        };
        Healthcheck?: { Test: string[] };
      }[];
      expect(image?.Config).toMatchObject({
        User: '10001:10001',
        Entrypoint: ['millwright'],
        Cmd: ['serve'],
        Volumes: { '/var/lib/millwright': {} },
      });
      expect(image?.Config.Env).toContain('MILLWRIGHT_CONFIG=/etc/millwright/millwright.yml');
      expect(image?.Healthcheck?.Test).toEqual([
        'CMD',
        'node',
        '-e',
        expect.stringContaining('MILLWRIGHT_HEALTHCHECK_URL'),
      ]);
    },
    20 * 60_000,
  );
});
