// A lowdb adapter that never leaves a half-written file: temp file, fsync, rename, fsync the
// directory. Reading refuses anything it cannot parse instead of starting over empty.

import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { StoredRecord } from './store.js';

/** The file's text for `data`: compact JSON (a burst rewrites it often) and a final newline. */
export function serializeStore(data: StoreData): string {
  return `${JSON.stringify(data)}\n`;
}

/** What `store.json` holds. */
export interface StoreData {
  version: 1;
  collections: Record<string, Record<string, StoredRecord>>;
}

/**
 * lowdb adapter for one JSON file, written atomically and durably.
 *
 * @example
 * const db = new Low(new AtomicJsonFile(join(dir, 'store.json')), emptyStoreData());
 * await db.read(); // throws millwright_store_corrupt on a damaged file, leaving it untouched
 */
export class AtomicJsonFile implements Adapter<StoreData> {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async read(): Promise<StoreData | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new MillwrightError(
        ErrorCode.StoreUnavailable,
        `cannot read the store file ${this.path}: ${(cause as Error).message}`,
        {
          hint: 'check that Millwright may read and write store.path',
          cause,
        },
      );
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw this.corrupt(`is not valid JSON (${(cause as Error).message})`, cause);
    }
    if (!isStoreData(data)) throw this.corrupt('does not hold a version 1 Millwright store');
    return data;
  }

  async write(data: StoreData): Promise<void> {
    await this.writeText(serializeStore(data));
  }

  /** Writes text already serialized with `serializeStore`. */
  async writeText(text: string): Promise<void> {
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => {
        // The temp file may never have been created; the original error is the one to report.
      });
      throw error;
    }
    // Without this the rename itself may not survive a power cut.
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }

  private corrupt(what: string, cause?: unknown): MillwrightError {
    return new MillwrightError(ErrorCode.StoreCorrupt, `the store file ${this.path} ${what}`, {
      hint: `Millwright did not start and left the file as it is: restore ${this.path} from a backup, or move it aside to start with an empty store`,
      cause,
    });
  }
}

export function emptyStoreData(): StoreData {
  return { version: 1, collections: {} };
}

function isStoreData(value: unknown): value is StoreData {
  if (value === null || typeof value !== 'object') return false;
  const data = value as Partial<StoreData>;
  const isObject = (item: unknown) => item !== null && typeof item === 'object' && !Array.isArray(item);
  return data.version === 1 && isObject(data.collections) && Object.values(data.collections!).every(isObject);
}
