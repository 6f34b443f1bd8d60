// Reading the trail a line at a time, from either end, without loading the whole file.

import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;

/**
 * Non-empty lines of the file before byte `end`, last first, without their newline. The read
 * window grows backwards a chunk at a time until it holds a whole line, so a huge line costs
 * more reads, not a wrong answer. A partial line at the very end (no newline) comes out first.
 */
export async function* linesBackward(
  handle: FileHandle,
  end: number,
  chunkSize: number,
): AsyncGenerator<Buffer> {
  let position = end;
  let carry: Buffer = Buffer.alloc(0);
  while (position > 0) {
    const size = Math.min(chunkSize, position);
    position -= size;
    const chunk = await readAt(handle, position, size);
    const buffer = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
    let lineEnd = buffer.length;
    while (lineEnd > 0) {
      const newline = buffer.lastIndexOf(NEWLINE, lineEnd - 1);
      if (newline === -1) break;
      if (newline + 1 < lineEnd) yield buffer.subarray(newline + 1, lineEnd);
      lineEnd = newline;
    }
    carry = buffer.subarray(0, lineEnd);
  }
  if (carry.length > 0) yield carry;
}

/** Every line of the file in order, streamed; `terminated` is false only for a last line with no newline. */
export async function* linesForward(path: string): AsyncGenerator<{ line: Buffer; terminated: boolean }> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    const buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let newline = buffer.indexOf(NEWLINE); newline !== -1; newline = buffer.indexOf(NEWLINE, start)) {
      yield { line: buffer.subarray(start, newline), terminated: true };
      start = newline + 1;
    }
    carry = buffer.subarray(start);
  }
  if (carry.length > 0) yield { line: carry, terminated: false };
}

/** The byte at `position`, or undefined past the end. */
export async function byteAt(handle: FileHandle, position: number): Promise<number | undefined> {
  if (position < 0) return undefined;
  const buffer = await readAt(handle, position, 1);
  return buffer[0];
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
