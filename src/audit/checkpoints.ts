// Signed checkpoints of the trail's head, kept where the trail's own writer cannot rewrite them, so
// a cut tail or a rewritten trail shows even when the `.head` file went with it.

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { type AuditKey, macAuditRecord } from './chain.js';
import { linesBackward } from './lines.js';

/** The head of the trail at one moment, signed with the key named by `keyId`. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  ts: string;
  keyId: string;
  /** HMAC-SHA256 under the key `keyId` over the other four fields. */
  mac: string;
}

/**
 * Somewhere checkpoints are appended and never rewritten: a file outside the store today; a chat
 * channel or a database table can implement the same three methods.
 */
export interface AuditCheckpointSink {
  /** Names the sink in messages: the file path, the channel, the table. */
  readonly name: string;
  /** Appends one checkpoint durably; rejects when it could not. */
  append(checkpoint: AuditCheckpoint): Promise<void>;
  /** Every checkpoint, oldest first; undefined when the sink does not exist (yet). */
  readAll(): Promise<AuditCheckpoint[] | undefined>;
  /** The newest checkpoint, reading as little as it can; undefined when there is none. */
  latest(): Promise<AuditCheckpoint | undefined>;
}

/**
 * Signs the head `{ seq, hash }` at `ts` with `key`.
 *
 * @example
 * await sink.append(signCheckpoint({ seq: 200, hash }, new Date().toISOString(), { id: 'k1', secret }));
 */
export function signCheckpoint(
  head: { seq: number; hash: string },
  ts: string,
  key: AuditKey,
): AuditCheckpoint {
  const unsigned = { seq: head.seq, hash: head.hash, ts, keyId: key.id };
  return { ...unsigned, mac: macAuditRecord(unsigned, key.secret) };
}

/** Whether `checkpoint.mac` is the HMAC of its fields under `secret`. */
export function checkpointIsAuthentic(checkpoint: AuditCheckpoint, secret: string): boolean {
  const { mac, ...unsigned } = checkpoint;
  return macAuditRecord(unsigned, secret) === mac;
}

/**
 * Checkpoints as JSON lines in a file opened for appending only (O_APPEND): Millwright never
 * rewrites it. Put it outside the store, owned so that whoever can write the store cannot write it
 * (another user, `chattr +a`, a different volume).
 *
 * @example
 * const sink = new FileCheckpointSink('/var/lib/millwright-anchor/audit.checkpoints');
 */
export class FileCheckpointSink implements AuditCheckpointSink {
  readonly name: string;

  constructor(readonly path: string) {
    this.name = path;
  }

  async append(checkpoint: AuditCheckpoint): Promise<void> {
    // The first checkpoint creates the sink's directory, owner-only like the store's.
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const handle = await open(this.path, 'a', 0o600);
    try {
      // One small write per checkpoint, so a crash leaves the line whole or absent.
      await handle.write(`${JSON.stringify(checkpoint)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async readAll(): Promise<AuditCheckpoint[] | undefined> {
    const handle = await this.openForReading();
    if (handle === undefined) return undefined;
    try {
      const { size } = await handle.stat();
      const found: AuditCheckpoint[] = [];
      for await (const line of linesBackward(handle, size, 64 * 1024)) found.push(this.parse(line));
      return found.reverse();
    } finally {
      await handle.close();
    }
  }

  async latest(): Promise<AuditCheckpoint | undefined> {
    const handle = await this.openForReading();
    if (handle === undefined) return undefined;
    try {
      const { size } = await handle.stat();
      for await (const line of linesBackward(handle, size, 4 * 1024)) return this.parse(line);
      return undefined;
    } finally {
      await handle.close();
    }
  }

  private async openForReading(): Promise<FileHandle | undefined> {
    try {
      return await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unreadable(`the audit checkpoint file ${this.path} cannot be read: ${(error as Error).message}`);
    }
  }

  private parse(line: Buffer): AuditCheckpoint {
    let value: Partial<AuditCheckpoint> | undefined;
    try {
      value = JSON.parse(line.toString()) as Partial<AuditCheckpoint>;
    } catch {
      // Reported below with the file's name; the parser's message adds nothing.
    }
    const valid =
      value !== undefined &&
      value !== null &&
      Number.isSafeInteger(value.seq) &&
      typeof value.hash === 'string' &&
      typeof value.ts === 'string' &&
      typeof value.keyId === 'string' &&
      typeof value.mac === 'string';
    if (!valid) throw unreadable(`the audit checkpoint file ${this.path} holds an unreadable line`);
    return value as AuditCheckpoint;
  }
}

function unreadable(message: string): MillwrightError {
  return new MillwrightError(ErrorCode.AuditBroken, message, {
    hint: 'the checkpoint file is only ever appended to by Millwright; restore it from backup and run `millwright audit verify`',
  });
}
