// `millwright audit verify`: walks the whole trail once, streaming, and names the first record
// that was edited, removed, moved, cut off, or sealed with a key it does not know.

import { stat } from 'node:fs/promises';
import { isMillwrightError } from '../core/errors.js';
import { GENESIS_HASH, hashAuditRecord, macAuditRecord, parseAuditLine } from './chain.js';
import { type AuditCheckpoint, type AuditCheckpointSink, checkpointIsAuthentic } from './checkpoints.js';
import { type AuditHead, readAuditHead } from './head.js';
import { linesForward } from './lines.js';
import type { AuditSealing } from './sealing.js';
import type { AuditVerifyResult } from './types.js';

/** What verify checks keyed records and the tail against; with neither, only the plain chain. */
export type AuditVerifyOptions = Pick<AuditSealing, 'keys' | 'checkpoints'>;

/**
 * Checks every record's hash (HMAC under the key it names, or plain SHA-256 for records written
 * before keys), seq and link to the one before, then the trail against every signed checkpoint and
 * its head file. Reads the trail line by line, so memory stays flat on a large trail.
 *
 * @example
 * const result = await verifyAuditTrail('.millwright/audit.jsonl', auditSealingFrom(config.audit, config.store.path));
 * if (!result.ok) console.error(result.problem); // "seq 57: hash does not match its content (edited)"
 */
export async function verifyAuditTrail(
  path: string,
  options: AuditVerifyOptions = { keys: new Map() },
): Promise<AuditVerifyResult> {
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

  return verifyAuditLines(linesForward(path), head, options);
}

/**
 * The walk `verifyAuditTrail` does, over any source of the trail's lines in seq order (the file, or
 * PostgreSQL's millwright_audit): each record, the chain, the head (the `.head` file or head row) and
 * every checkpoint.
 */
export async function verifyAuditLines(
  lines: AsyncIterable<{ line: Buffer | string; terminated: boolean }>,
  head: AuditHead | undefined,
  options: AuditVerifyOptions,
): Promise<AuditVerifyResult> {
  const anchors = await readCheckpoints(options);
  if (typeof anchors === 'string') return { ok: false, records: 0, problem: anchors };
  const { bySeq, newest } = anchors;

  let records = 0;
  let prevHash = GENESIS_HASH;
  let keyed: { firstSeq: number; keyIds: string[] } | undefined;
  const fail = (badSeq: number, problem: string): AuditVerifyResult => ({
    ok: false,
    records,
    badSeq,
    problem,
  });
  for await (const { line, terminated } of lines) {
    const seq = records + 1;
    const record = parseAuditLine(line);
    if (!terminated) {
      return {
        ...fail(seq, `seq ${seq}: the last line is incomplete (truncated tail)`),
        tornTail: true,
      };
    }
    if (record === undefined) return fail(seq, `seq ${seq}: the line is not a readable record`);
    if (record.seq !== seq) {
      return fail(
        seq,
        `seq ${seq}: found seq ${record.seq} in its place (records deleted, duplicated or reordered)`,
      );
    }
    const { hash, ...content } = record;
    if (content.keyId === undefined) {
      if (keyed !== undefined) {
        return fail(
          seq,
          `seq ${seq}: sealed without a key after keyed records from seq ${keyed.firstSeq} (rewritten without the key)`,
        );
      }
      if (hashAuditRecord(content) !== hash)
        return fail(seq, `seq ${seq}: hash does not match its content (edited)`);
    } else {
      const secret = options.keys.get(content.keyId);
      if (secret === undefined) {
        return fail(
          seq,
          `seq ${seq}: sealed with key "${content.keyId}", which is not configured (a forged record, or audit.keys lacks that key)`,
        );
      }
      if (macAuditRecord(content, secret) !== hash) {
        return fail(
          seq,
          `seq ${seq}: HMAC under key "${content.keyId}" does not match its content (edited, or sealed with another key)`,
        );
      }
      keyed ??= { firstSeq: seq, keyIds: [] };
      if (!keyed.keyIds.includes(content.keyId)) keyed.keyIds.push(content.keyId);
    }
    if (record.prevHash !== prevHash) {
      return fail(
        seq,
        `seq ${seq}: prevHash does not match the hash of seq ${seq - 1} (a record was replaced)`,
      );
    }
    if (head !== undefined && head.seq === seq && head.hash !== hash) {
      return fail(seq, `seq ${seq}: does not match the head file (the record was replaced)`);
    }
    const anchored = bySeq.get(seq);
    if (anchored !== undefined && anchored.hash !== hash) {
      return fail(
        seq,
        `seq ${seq}: does not match the checkpoint of ${anchored.ts} (the record was replaced)`,
      );
    }
    prevHash = hash;
    records = seq;
  }
  if (head !== undefined && head.seq > records) {
    return fail(records + 1, `records after seq ${records} are missing (head says ${head.seq})`);
  }
  if (newest !== undefined && newest.seq > records) {
    return fail(
      records + 1,
      `records after seq ${records} are missing (the checkpoint of ${newest.ts} says ${newest.seq})`,
    );
  }
  return {
    ok: true,
    records,
    ...(keyed === undefined ? {} : { keyed }),
    ...(newest === undefined ? {} : { checkpoint: { seq: newest.seq, ts: newest.ts, keyId: newest.keyId } }),
  };
}

/** Every checkpoint, authenticated, by seq; or one line on why the sink cannot be trusted. */
async function readCheckpoints(
  options: AuditVerifyOptions,
): Promise<{ bySeq: Map<number, AuditCheckpoint>; newest?: AuditCheckpoint } | string> {
  const sink: AuditCheckpointSink | undefined = options.checkpoints;
  const bySeq = new Map<number, AuditCheckpoint>();
  if (sink === undefined) return { bySeq };
  let checkpoints: AuditCheckpoint[] | undefined;
  try {
    checkpoints = await sink.readAll();
  } catch (error) {
    if (isMillwrightError(error)) return error.message;
    throw error;
  }
  if (checkpoints === undefined || checkpoints.length === 0) {
    return `no checkpoints in ${sink.name}, though audit.checkpoints is configured (deleted, or moved): the trail's tail cannot be checked`;
  }
  let newest: AuditCheckpoint | undefined;
  for (const checkpoint of checkpoints) {
    const secret = options.keys.get(checkpoint.keyId);
    if (secret === undefined) {
      return `the checkpoint at seq ${checkpoint.seq} in ${sink.name} is signed with key "${checkpoint.keyId}", which is not configured`;
    }
    if (!checkpointIsAuthentic(checkpoint, secret)) {
      return `the checkpoint at seq ${checkpoint.seq} in ${sink.name} has a bad signature (forged or edited)`;
    }
    const earlier = bySeq.get(checkpoint.seq);
    if (earlier !== undefined && earlier.hash !== checkpoint.hash) {
      return `two checkpoints in ${sink.name} disagree on seq ${checkpoint.seq} (the trail was rewritten and reopened)`;
    }
    bySeq.set(checkpoint.seq, checkpoint);
    if (newest === undefined || checkpoint.seq > newest.seq) newest = checkpoint;
  }
  return { bySeq, newest };
}
