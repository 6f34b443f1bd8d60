// What `audit verify` says about a trail, for the command line and the chat command alike: the
// verdict first, what it does not prove as notes, and the raw values (docs/schemas/audit-verify.schema.json).
import path from 'node:path';
import { ErrorCode } from '../core/errors.js';
import type { PostgresDatabase } from '../store/postgres-database.js';
import type { AuditVerifyResult } from './types.js';
import { type AuditVerifyOptions, verifyAuditTrail } from './verify.js';

/** A verified trail, named for messages, with who could rewrite it. */
export interface VerifiedTrail {
  result: AuditVerifyResult;
  /** The file, or `PostgreSQL at host:port/db`. */
  name: string;
  /** Who could rewrite an unkeyed trail: the file's folder, or the database. */
  writable: string;
}

/**
 * Verifies a trail end to end: a file (the embedded store's, or a copy), or the table in PostgreSQL.
 *
 * @example
 * const { result, name } = await verifyTrail({ db: services.postgres }, options);
 */
export async function verifyTrail(
  trail: { file: string } | { db: PostgresDatabase },
  options: AuditVerifyOptions,
): Promise<VerifiedTrail> {
  if ('file' in trail) {
    return {
      result: await verifyAuditTrail(trail.file, options),
      name: trail.file,
      writable: path.dirname(trail.file),
    };
  }
  // pg loads only for a trail in PostgreSQL.
  const { verifyPostgresAuditTrail } = await import('./postgres-audit-log.js');
  return {
    result: await verifyPostgresAuditTrail(trail.db, options),
    name: `PostgreSQL at ${trail.db.name}`,
    writable: `the database at ${trail.db.name}`,
  };
}

/** `hash chain intact, HMAC-SHA256 under key k1; matches the checkpoint at seq 3 (...)`. */
export function verifiedChain(result: AuditVerifyResult): string {
  const parts = [
    result.keyed === undefined
      ? 'hash chain intact'
      : `hash chain intact, HMAC-SHA256 under key ${result.keyed.keyIds.join(', ')}`,
  ];
  if (result.checkpoint !== undefined) {
    parts.push(`matches the checkpoint at seq ${result.checkpoint.seq} (${result.checkpoint.ts})`);
  }
  return parts.join('; ');
}

/** What an intact verdict does not prove: unkeyed records, a checkpoint behind, no checkpoints configured. */
export function verifyNotes(
  result: AuditVerifyResult,
  writable: string,
  options: AuditVerifyOptions,
): string[] {
  const notes: string[] = [];
  const unkeyedUpTo = result.keyed === undefined ? result.records : result.keyed.firstSeq - 1;
  if (result.keyed === undefined && options.keys.size === 0) {
    notes.push(
      `the trail is UNKEYED (plain SHA-256): anyone who can write ${writable} can rewrite it and recompute every hash undetected; set audit.key to seal new records with HMAC`,
    );
  } else if (unkeyedUpTo > 0) {
    notes.push(
      `seq 1-${unkeyedUpTo} are UNKEYED (written before audit.key was set): their chain is intact, but they are not tamper-evident against someone with write access`,
    );
  }
  if (result.checkpoint !== undefined && result.checkpoint.seq < result.records) {
    notes.push(
      `seq ${result.checkpoint.seq + 1}-${result.records} are not anchored by a checkpoint yet: normal while Millwright runs, but after a clean stop the checkpoint sink is behind (an old copy?)`,
    );
  }
  if (options.checkpoints === undefined && result.records > 0) {
    notes.push('no audit.checkpoints configured: a cut tail is detected only while the .head file survives');
  }
  return notes;
}

/** The verdict as lines to print, raw values, and the error when the trail is not intact. */
export interface AuditVerifyReport {
  ok: boolean;
  lines: string[];
  data: {
    path: string;
    intact: boolean;
    recordsChecked: number;
    firstBadSeq: number | null;
    problem: string | null;
    tornTail: boolean;
    keyed: { firstSeq: number; keyIds: string[] } | null;
    checkpoint: { seq: number; ts: string; keyId: string } | null;
    notes: string[];
  };
  error?: { code: string; message: string; hint?: string };
}

/**
 * The report on one verification.
 *
 * @example
 * const report = auditVerifyReport(await verifyTrail({ file }, options), options);
 * console.log(report.lines.join('\n')); // ".millwright/audit.jsonl: ok, 3 records, hash chain intact"
 */
export function auditVerifyReport(
  trail: VerifiedTrail,
  options: AuditVerifyOptions,
  hint?: string,
): AuditVerifyReport {
  const { result, name: file } = trail;
  const notes = result.ok ? verifyNotes(result, trail.writable, options) : [];
  const where = result.badSeq === undefined ? '' : ` at seq ${result.badSeq}`;
  const broken = `${file}: BROKEN${where}: ${result.problem}`;
  const advice = hint ?? (result.tornTail ? 'millwright audit repair cuts a torn last line' : undefined);
  return {
    ok: result.ok,
    lines: result.ok
      ? [
          `${file}: ok, ${result.records} records, ${verifiedChain(result)}`,
          ...notes.map((n) => `note: ${n}`),
        ]
      : [broken],
    data: {
      path: file,
      intact: result.ok,
      recordsChecked: result.records,
      firstBadSeq: result.badSeq ?? null,
      problem: result.problem ?? null,
      tornTail: result.tornTail ?? false,
      keyed: result.keyed ?? null,
      checkpoint: result.checkpoint ?? null,
      notes,
    },
    ...(result.ok
      ? {}
      : { error: { code: ErrorCode.AuditBroken, message: broken, ...(advice ? { hint: advice } : {}) } }),
  };
}
