// The `<trail>.head` sidecar: the last seq and hash known durable, so verify can tell a trail
// whose last records were cut off cleanly from one that simply ended there.

import { open, readFile, rename } from 'node:fs/promises';
import { ErrorCode, MillwrightError } from '../core/errors.js';

export interface AuditHead {
  seq: number;
  hash: string;
}

export function headPathFor(trailPath: string): string {
  return `${trailPath}.head`;
}

/** The head beside `trailPath`, undefined when there is none; throws `millwright_audit_broken` when unreadable. */
export async function readAuditHead(trailPath: string): Promise<AuditHead | undefined> {
  const path = headPathFor(trailPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const head = JSON.parse(text) as Partial<AuditHead>;
    if (Number.isSafeInteger(head.seq) && typeof head.hash === 'string') return head as AuditHead;
  } catch {
    // Falls through to the error below, which names the file; the parse error adds nothing.
  }
  throw new MillwrightError(ErrorCode.AuditBroken, `audit head file ${path} is unreadable`, {
    hint: 'run `millwright audit verify` on the trail; the head file is only written by Millwright',
  });
}

/**
 * Replaces the head atomically. The temp file is fsynced so a crash leaves the old head or the
 * new one, never an empty file; the directory is not, because a head that falls behind is harmless.
 */
export async function writeAuditHead(trailPath: string, head: AuditHead): Promise<void> {
  const path = headPathFor(trailPath);
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(head)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
