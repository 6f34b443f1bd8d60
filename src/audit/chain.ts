// The hash chain: how a record is sealed and checked. Verify, the log and the bench share it so
// there is exactly one definition of "the hash of a record", keyed (HMAC) or not (legacy SHA-256).

import { createHash, createHmac } from 'node:crypto';
import type { AuditEntry, AuditRecord } from './types.js';

/** The `prevHash` of the first record in every trail. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record before its own hash is known. */
export type UnsealedAuditRecord = Omit<AuditRecord, 'hash'>;

/** A secret the trail is sealed with, and the id records name it by. */
export interface AuditKey {
  id: string;
  secret: string;
}

/**
 * JSON with object keys sorted at every depth and undefined fields dropped, so the same record
 * always hashes the same however its keys were ordered when written.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = value as Record<string, unknown>;
    const keys = Object.keys(fields)
      .filter((key) => fields[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(fields[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * SHA-256 (hex) over the canonical JSON of a record without its `hash` field.
 *
 * @example
 * const { hash, ...rest } = JSON.parse(line);
 * const intact = hashAuditRecord(rest) === hash;
 */
export function hashAuditRecord(record: UnsealedAuditRecord): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

/**
 * HMAC-SHA256 (hex) under `secret` over the canonical JSON of a record without its `hash` field
 * (its `keyId` included), or of a checkpoint without its `mac`. Without the secret nobody can
 * recompute it, which is what makes a keyed trail tamper-evident against its own file's writer.
 *
 * @example
 * const { hash, ...rest } = record;
 * const intact = macAuditRecord(rest, keys.get(rest.keyId)) === hash;
 */
export function macAuditRecord(record: object, secret: string): string {
  return createHmac('sha256', secret).update(canonicalJson(record)).digest('hex');
}

/**
 * Builds the record that follows `prevHash` in a trail. `entry.args` must already be plain JSON
 * (and redacted): what is hashed here is exactly what gets written.
 *
 * @example
 * const first = sealAuditRecord(entry, 1, new Date().toISOString(), GENESIS_HASH, { id: 'k1', secret });
 * const second = sealAuditRecord(entry, 2, new Date().toISOString(), first.hash, { id: 'k1', secret });
 */
export function sealAuditRecord(
  entry: AuditEntry,
  seq: number,
  ts: string,
  prevHash: string,
  key?: AuditKey,
): AuditRecord {
  // Field order here is the order on disk, chosen for people reading the file.
  const unsealed: UnsealedAuditRecord = {
    seq,
    ts,
    actor: entry.actor,
    // Only impersonated records carry it, so older trails hash exactly as they did.
    ...(entry.via === undefined ? {} : { via: entry.via }),
    surface: entry.surface,
    channel: entry.channel,
    action: entry.action,
    args: entry.args,
    outcome: entry.outcome,
    ...(entry.ref === undefined ? {} : { ref: entry.ref }),
    ...(entry.code === undefined ? {} : { code: entry.code }),
    // Only refusals carry it, so other records hash exactly as they did before it existed.
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
    prevHash,
    // Only keyed records carry it, so unkeyed trails hash exactly as they did before keys existed.
    ...(key === undefined ? {} : { keyId: key.id }),
  };
  const hash = key === undefined ? hashAuditRecord(unsealed) : macAuditRecord(unsealed, key.secret);
  return { ...unsealed, hash };
}

/** One record as one line of the trail, newline included. */
export function formatAuditLine(record: AuditRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** A line of the trail as a record, or undefined when it is not JSON or lacks the chain's fields. */
export function parseAuditLine(line: Buffer | string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.toString());
  } catch {
    // Callers report an unreadable line in their own words, naming the seq.
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Partial<AuditRecord>;
  const chained =
    Number.isSafeInteger(record.seq) &&
    typeof record.ts === 'string' &&
    typeof record.actor === 'string' &&
    typeof record.prevHash === 'string' &&
    typeof record.hash === 'string' &&
    (record.keyId === undefined || typeof record.keyId === 'string');
  return chained ? (record as AuditRecord) : undefined;
}
