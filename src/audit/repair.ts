// `millwright audit repair`: after a crash cut the trail's last line in half, cut that line off
// (keeping its bytes in a side file), check everything before it, and record the repair in the chain.

import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { parseAuditLine } from './chain.js';
import { FileAuditLog } from './file-audit-log.js';
import { readAuditHead } from './head.js';
import { linesBackward } from './lines.js';
import type { AuditSealing } from './sealing.js';
import type { AuditRecord, AuditVerifyResult } from './types.js';
import { verifyAuditTrail } from './verify.js';

export interface AuditRepairOptions {
  sealing: AuditSealing;
  /** Who ran the repair (`os:alice`), for the `audit.repaired` record. */
  actor: string;
  clock?: Clock;
  secrets?: readonly string[];
}

export interface AuditRepairResult {
  /** The `audit.repaired` record, appended after the cut. */
  record: AuditRecord;
  /** What was cut: its would-be seq, size, SHA-256 and where its bytes were kept. */
  cut: { seq: number; bytes: number; sha256: string; savedTo: string };
  /** The trail verified after the repair. */
  verified: AuditVerifyResult;
}

const TAIL_CHUNK = 4 * 1024;

/**
 * Cuts a torn last line off the trail, only when every record before it verifies and nothing
 * (head file, checkpoint) says a record beyond it existed; then appends `audit.repaired`.
 *
 * @example
 * const { cut, record } = await repairAuditTrail('.millwright/audit.jsonl', { sealing, actor: 'os:alice' });
 */
export async function repairAuditTrail(
  path: string,
  options: AuditRepairOptions,
): Promise<AuditRepairResult> {
  const { sealing } = options;
  const before = await verifyAuditTrail(path, sealing);
  if (before.ok) {
    throw new MillwrightError(
      ErrorCode.BadArgument,
      `${path} verifies (${before.records} records): nothing to repair`,
    );
  }
  if (!before.tornTail) {
    throw refused(`${path} is broken in a way repair does not touch: ${before.problem}`);
  }
  const kept = before.records;
  const head = await readAuditHead(path);
  const anchored = await sealing.checkpoints?.latest();
  for (const [what, seq] of [
    ['its head file', head?.seq],
    [`the checkpoint in ${sealing.checkpoints?.name}`, anchored?.seq],
  ] as const) {
    if (seq !== undefined && seq > kept) {
      throw refused(
        `${what} says seq ${seq} was written, so more than a torn line is missing after seq ${kept}`,
      );
    }
  }

  const handle = await open(path, 'r+');
  let cut: AuditRepairResult['cut'];
  try {
    const { size } = await handle.stat();
    const [torn] = await take(linesBackward(handle, size, TAIL_CHUNK));
    if (torn === undefined) throw refused(`${path} has no torn line to cut`);
    const bytes = Buffer.from(torn);
    const savedTo = `${path}.torn-seq-${kept + 1}`;
    // Kept for whoever investigates the crash; the record below names it and its hash.
    await writeFile(savedTo, bytes, { mode: 0o600 });
    await handle.truncate(size - bytes.length);
    await handle.sync();
    cut = {
      seq: parseAuditLine(bytes)?.seq ?? kept + 1,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      savedTo,
    };
  } finally {
    await handle.close();
  }

  const audit = await FileAuditLog.open(path, {
    sealing,
    ...(options.clock ? { clock: options.clock } : { clock: systemClock }),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  let record: AuditRecord;
  try {
    record = await audit.append({
      actor: options.actor,
      surface: 'cli',
      channel: 'cli',
      action: 'audit.repaired',
      args: { cut: `torn last line (would-be seq ${cut.seq})`, ...cut, keptRecords: kept },
      outcome: 'ok',
    });
  } finally {
    await audit.close();
  }
  return { record, cut, verified: await verifyAuditTrail(path, sealing) };
}

function refused(message: string): MillwrightError {
  return new MillwrightError(ErrorCode.AuditBroken, message, {
    hint: 'restore the trail from backup; repair only cuts a torn last line after a crash',
  });
}

async function take<T>(source: AsyncGenerator<T>): Promise<T[]> {
  for await (const item of source) return [item];
  return [];
}
