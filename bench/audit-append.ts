// Does appending to the audit trail cost the same at 100,000 records as at 1,000? Prints the ratio
// of mean per-append times for a keyed, checkpointed trail; run with `node --import tsx bench/audit-append.ts`.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FileAuditLog, FileCheckpointSink, formatAuditLine } from '../src/audit/index.js';
import { chainedRecords, BENCH_KEY as KEY, timedAppends } from './lib/audit-records.js';

const SMALL = 1_000;
const LARGE = 100_000;
const APPENDS = 500;
const ROUNDS = 5;
const TARGET = 1.5;

/** Writes `count` validly chained records straight to disk, far faster than appending them. */
async function prefill(path: string, count: number): Promise<void> {
  const lines: string[] = [];
  for (const record of chainedRecords(count)) lines.push(formatAuditLine(record));
  await writeFile(path, lines.join(''), { mode: 0o600 });
}

/** Total ms for `count` sequential, awaited appends (open and close not counted). */
async function timeAppends(path: string, count: number): Promise<number> {
  const sealing = {
    active: KEY,
    keys: new Map([[KEY.id, KEY.secret]]),
    checkpoints: new FileCheckpointSink(join(anchors, `${basename(path)}.checkpoints`)),
    checkpointEvery: 100,
  };
  const audit = await FileAuditLog.open(path, { sealing });
  return timedAppends(audit, count);
}

const dir = await mkdtemp(join(tmpdir(), 'millwright-bench-'));
const anchors = join(dir, 'anchors');
try {
  await mkdir(anchors);
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
