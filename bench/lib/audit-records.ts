// The audit records the audit benches append and prefill with: one entry shape, one key, and a chain
// of sealed records built in memory (far faster than appending them one by one).

import { performance } from 'node:perf_hooks';
import {
  type AuditEntry,
  type AuditKey,
  type AuditLog,
  type AuditRecord,
  GENESIS_HASH,
  sealAuditRecord,
} from '../../src/audit/index.js';

export const BENCH_KEY: AuditKey = { id: 'bench', secret: 'bench-audit-key-0123456789abcdef' };

export const benchEntry = (n: number): AuditEntry => ({
  actor: 'bench',
  surface: 'shell',
  channel: 'tty',
  action: 'executor.kubernetes.restart',
  args: { namespace: 'shop', deployment: 'checkout', n },
  outcome: 'ok',
  ref: `bench-${n}`,
});

/** `count` validly chained records from seq 1, sealed with BENCH_KEY. */
export function* chainedRecords(count: number): Generator<AuditRecord> {
  let prevHash = GENESIS_HASH;
  const ts = new Date().toISOString();
  for (let seq = 1; seq <= count; seq++) {
    const record = sealAuditRecord(benchEntry(seq), seq, ts, prevHash, BENCH_KEY);
    prevHash = record.hash;
    yield record;
  }
}

/** Total ms for `count` sequential, awaited appends to `audit` (opening not counted); closes it after. */
export async function timedAppends(audit: AuditLog, count: number): Promise<number> {
  try {
    const start = performance.now();
    for (let n = 0; n < count; n++) await audit.append(benchEntry(n));
    return performance.now() - start;
  } finally {
    await audit.close();
  }
}
