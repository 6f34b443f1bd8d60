#!/usr/bin/env node
// Builds Millwright's image with podman (or docker) from the Dockerfile; its last stage smoke-tests it.
// Says plainly when it cannot, and with --if-available skips (exit 0) where no container tool is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const { values } = parseArgs({
  options: {
    tag: { type: 'string', default: `localhost/millwright:${version}` },
    base: { type: 'string' },
    'if-available': { type: 'boolean', default: false },
    'make-base': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: node bin/build-image.mjs [--tag NAME] [--base IMAGE] [--if-available] [--make-base]

  --tag NAME       the image to build (default localhost/millwright:${version})
  --base IMAGE     the Node 20 base (NODE_IMAGE build argument; default the Dockerfile's, node:20-bookworm-slim)
  --if-available   exit 0 with a note when neither podman nor docker is installed, or no base image is
                   here (the official one, or the one --make-base made) nor pullable (CI)
  --make-base      first make a local base from Debian's packages (mmdebstrap + podman import), for
                   machines that reach the Debian mirror but no container registry; implies
                   --base localhost/millwright-node-base:20

  MILLWRIGHT_BUILD_ISOLATION=chroot passes --isolation chroot to podman (sandboxes without user namespaces).
  NODE_EXTRA_CA_CERTS (a CA file) is handed to npm ci in the build as a secret, for TLS-inspecting proxies.`);
  process.exit(0);
}

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const tool = ['podman', 'docker'].find(has);
if (!tool) {
  const message = 'image build skipped: neither podman nor docker is installed (apt-get install podman)';
  console.log(message);
  process.exit(values['if-available'] ? 0 : 1);
}

const run = (command, args) => {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

/** The base `--make-base` makes from Debian's packages. */
const LOCAL_BASE = 'localhost/millwright-node-base:20';
let base = values.base;
if (values['make-base']) {
  base = LOCAL_BASE;
  if (tool !== 'podman' || !has('mmdebstrap')) {
    console.error('--make-base needs podman and mmdebstrap: apt-get install podman mmdebstrap');
    process.exit(1);
  }
  // Debian 13 (trixie) packages Node 20; minbase plus nodejs, npm and CA certificates.
  const tarball = path.join(root, '.millwright-node-base.tar');
  run('mmdebstrap', [
    '--variant=minbase',
    '--include=nodejs,npm,ca-certificates',
    'trixie',
    tarball,
    'http://deb.debian.org/debian',
  ]);
  run('podman', ['import', tarball, base]);
  run('rm', ['-f', tarball]);
}

// With --if-available, a base that is neither here nor pullable (no registry reachable) is a skip too;
// without --base, a local base made by --make-base is used when the official one is not here.
if (values['if-available']) {
  const present = (image) => spawnSync(tool, ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
  const official = /^ARG NODE_IMAGE=(.+)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  const candidates = base ? [base] : [official, LOCAL_BASE].filter(Boolean);
  const here = candidates.find(present);
  const wanted = here ?? candidates[0];
  const pulled =
    here !== undefined ||
    spawnSync(tool, ['pull', '--quiet', wanted], { stdio: 'ignore', timeout: 120_000 }).status === 0;
  if (!pulled) {
    console.log(
      `image build skipped: no base image here (${candidates.join(', ')}) and ${wanted} cannot be pulled; pass --base IMAGE, or --make-base on a Debian machine`,
    );
    process.exit(0);
  }
  if (wanted !== official) base = wanted;
}

const args = ['build', '--tag', values.tag, '--file', 'Dockerfile'];
// podman writes OCI images by default, and OCI has no HEALTHCHECK; the docker format keeps it.
if (tool === 'podman') args.push('--format', 'docker');
if (tool === 'podman' && process.env.MILLWRIGHT_BUILD_ISOLATION) {
  args.push('--isolation', process.env.MILLWRIGHT_BUILD_ISOLATION);
}
if (base) args.push('--build-arg', `NODE_IMAGE=${base}`);
// npm in the build trusts what npm here trusts: a proxy's CA goes in as a secret, never into a layer.
if (process.env.NODE_EXTRA_CA_CERTS)
  args.push('--secret', `id=npm-ca,src=${process.env.NODE_EXTRA_CA_CERTS}`);
run(tool, [...args, '.']);
console.log(
  `built ${values.tag} with ${tool}; its last stage ran config check and shell -e help as uid 10001`,
);
