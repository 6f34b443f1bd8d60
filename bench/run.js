// npm run bench: builds once, then runs every benchmark; each prints a ratio against a baseline
// measured in the same run, so the numbers compare across machines.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
const only = process.argv.slice(2);
for (const file of readdirSync(here)
  .filter((f) => f.endsWith('.ts'))
  .sort()) {
  if (only.length && !only.some((name) => file.includes(name))) continue;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(here, file)], { cwd: root, stdio: 'inherit' });
}
