#!/usr/bin/env node
// Before `npm test`: the tests run a real Prometheus (with promtool) and a real PostgreSQL (throwaway
// clusters made with initdb), drive kubectl against the Kubernetes double and render charts with a font. Installs the Debian packages when they are
// missing and this is a Debian machine we may install on; otherwise says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const missing = [];
if (!has('prometheus') || !has('promtool')) missing.push('prometheus');
if (!has('kubectl')) missing.push('kubernetes-client');
// Debian puts initdb and pg_ctl under /usr/lib/postgresql/<version>/bin, off the PATH.
const postgresBins = existsSync('/usr/lib/postgresql')
  ? readdirSync('/usr/lib/postgresql').some((version) =>
      existsSync(`/usr/lib/postgresql/${version}/bin/initdb`),
    )
  : false;
if (!postgresBins && !has('initdb')) missing.push('postgresql');
if (!existsSync(FONT)) missing.push('fonts-dejavu-core');

if (missing.length === 0) process.exit(0);

const canInstall = has('apt-get') && typeof process.getuid === 'function' && process.getuid() === 0;
if (!canInstall) {
  console.error(`The tests need these Debian packages: ${missing.join(' ')}`);
  console.error(
    `Install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
  );
  process.exit(1);
}
console.error(`Installing what the tests need: ${missing.join(' ')} (apt-get, about a minute)`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env,
});
