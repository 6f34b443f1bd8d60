// Does appending to the audit trail cost the same at 100,000 records as at 1,000? Prints the ratio
// of mean per-append times; run with `node --import tsx bench/audit-append.ts`.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type AuditEntry,
  FileAuditLog,
  formatAuditLine,
  GENESIS_HASH,
  sealAuditRecord,
} from '../src/audit/index.js';

const SMALL = 1_000;
const LARGE = 100_000;
const APPENDS = 500;
const ROUNDS = 5;
const TARGET = 1.5;

const entry = (n: number): AuditEntry => ({
  actor: 'bench',
  surface: 'shell',
  channel: 'tty',
  action: 'executor.kubernetes.restart',
  args: { namespace: 'shop', deployment: 'checkout', n },
  outcome: 'ok',
  ref: `bench-${n}`,
});

/** Writes `count` validly chained records straight to disk, far faster than appending them. */
async function prefill(path: string, count: number): Promise<void> {
  const lines: string[] = [];
  let prevHash = GENESIS_HASH;
  const ts = new Date().toISOString();
  for (let seq = 1; seq <= count; seq++) {
    const record = sealAuditRecord(entry(seq), seq, ts, prevHash);
    prevHash = record.hash;
    lines.push(formatAuditLine(record));
  }
  await writeFile(path, lines.join(''), { mode: 0o600 });
}

/** Total ms for `count` sequential, awaited appends (open and close not counted). */
async function timeAppends(path: string, count: number): Promise<number> {
  const audit = await FileAuditLog.open(path);
  try {
    const start = performance.now();
    for (let n = 0; n < count; n++) await audit.append(entry(n));
    return performance.now() - start;
  } finally {
    await audit.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'millwright-bench-'));
try {
  const small = join(dir, 'small.jsonl');
  const large = join(dir, 'large.jsonl');
  await prefill(small, SMALL);
  await prefill(large, LARGE);
  await timeAppends(small, 20); // warm up the JIT and the file system before measuring
  await timeAppends(large, 20);

  // Alternating rounds keep drift in disk speed from landing on one side only.
  let smallMs = 0;
  let largeMs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    smallMs += await timeAppends(small, APPENDS / ROUNDS);
    largeMs += await timeAppends(large, APPENDS / ROUNDS);
  }
  const ratio = largeMs / APPENDS / (smallMs / APPENDS);
  console.log(
    `audit-append: per-append cost at ${LARGE} records / at ${SMALL} records = ${ratio.toFixed(2)} (target <= ${TARGET})`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
