// `millwright audit verify`: walks the whole trail once, streaming, and names the first record
// that was edited, removed, moved or cut off.

import { stat } from 'node:fs/promises';
import { isMillwrightError } from '../core/errors.js';
import { GENESIS_HASH, hashAuditRecord, parseAuditLine } from './chain.js';
import { type AuditHead, readAuditHead } from './head.js';
import { linesForward } from './lines.js';
import type { AuditVerifyResult } from './types.js';

/**
 * Checks every record's hash, seq and link to the one before, then the trail's end against its
 * head file. Reads the file line by line, so memory stays flat on a large trail.
 *
 * @example
 * const result = await verifyAuditTrail('.millwright/audit.jsonl');
 * if (!result.ok) console.error(result.problem); // "seq 57: hash does not match its content (edited)"
 */
export async function verifyAuditTrail(path: string): Promise<AuditVerifyResult> {
  try {
    await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { ok: false, records: 0, problem: `no audit trail at ${path}` };
    }
    throw error;
  }
  let head: AuditHead | undefined;
  try {
    head = await readAuditHead(path);
  } catch (error) {
    if (isMillwrightError(error)) return { ok: false, records: 0, problem: error.message };
    throw error;
  }

  let records = 0;
  let prevHash = GENESIS_HASH;
  const fail = (badSeq: number, problem: string): AuditVerifyResult => ({
    ok: false,
    records,
    badSeq,
    problem,
  });
  for await (const { line, terminated } of linesForward(path)) {
    const seq = records + 1;
    const record = parseAuditLine(line);
    if (!terminated) return fail(seq, `seq ${seq}: the last line is incomplete (truncated tail)`);
    if (record === undefined) return fail(seq, `seq ${seq}: the line is not a readable record`);
    if (record.seq !== seq) {
      return fail(
        seq,
        `seq ${seq}: found seq ${record.seq} in its place (records deleted, duplicated or reordered)`,
      );
    }
    const { hash, ...content } = record;
    if (hashAuditRecord(content) !== hash)
      return fail(seq, `seq ${seq}: hash does not match its content (edited)`);
    if (record.prevHash !== prevHash) {
      return fail(
        seq,
        `seq ${seq}: prevHash does not match the hash of seq ${seq - 1} (a record was replaced)`,
      );
    }
    if (head !== undefined && head.seq === seq && head.hash !== hash) {
      return fail(seq, `seq ${seq}: does not match the head file (the record was replaced)`);
    }
    prevHash = hash;
    records = seq;
  }
  if (head !== undefined && head.seq > records) {
    return fail(records + 1, `records after seq ${records} are missing (head says ${head.seq})`);
  }
  return { ok: true, records };
}
