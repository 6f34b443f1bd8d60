// Start-up cost of `millwright shell -e help` divided by a bare `node -e 0`, measured in
// alternating rounds in one run. Target: <= 2. Uses the compiled build when it is fresh.
// Each round times one bare start and one Millwright start back to back, so both see the machine in
// the same state; the result is the median of the rounds' ratios (a neighbour that slows the machine
// for a few seconds moves both sides of the rounds it touches, not the result).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROUNDS = 21;
const dir = mkdtempSync(path.join(os.tmpdir(), 'millwright-bench-'));
const config = path.join(dir, 'millwright.yml');
writeFileSync(config, 'store:\n  path: ./data\n');

function time(args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const shell = ['bin/millwright.js', 'shell', '--config', config, '-e', 'help'];
time(shell); // warm the file cache and create the store
const bare: number[] = [];
const millwright: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  bare.push(time(['-e', '0']));
  millwright.push(time(shell));
}
rmSync(dir, { recursive: true, force: true });
const ratio = median(millwright.map((ms, i) => ms / bare[i]!));
console.log(
  `shell-start: millwright shell -e help / node -e 0 = ${ratio.toFixed(2)} (target <= 2; medians ${median(millwright).toFixed(0)} ms / ${median(bare).toFixed(0)} ms)`,
);
