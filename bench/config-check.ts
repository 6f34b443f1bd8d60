// `config check` on a service catalog of 50,000 entries divided by one of 10,000, in one run.
// Linear is 5; the YAML library's duplicate-key check made it ~7.5 (33 s against 2 s on a laptop).
// Target: <= 6.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkConfig } from '../src/app.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'millwright-bench-'));

function catalog(services: number): string {
  const file = path.join(dir, `services-${services}.yml`);
  const lines = ['services:'];
  for (let i = 0; i < services; i++) {
    lines.push(
      `  svc-${i}:`,
      `    description: service ${i}`,
      `    owners: [team-${i % 50}]`,
      `    kubernetes: { namespace: shop, deployments: [svc-${i}] }`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function time(file: string): Promise<number> {
  const started = performance.now();
  const result = await checkConfig(file, {});
  if (!result.ok) throw new Error(result.lines.join('\n'));
  return performance.now() - started;
}

const small = catalog(10_000);
const large = catalog(50_000);
await time(small); // warm up the parser and the schema
const smallMs = await time(small);
const largeMs = await time(large);
rmSync(dir, { recursive: true, force: true });
console.log(
  `config-check: 50,000 services / 10,000 = ${(largeMs / smallMs).toFixed(2)} (target <= 6, linear is 5; ${largeMs.toFixed(0)} ms / ${smallMs.toFixed(0)} ms)`,
);
