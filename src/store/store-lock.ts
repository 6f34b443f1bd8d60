// One process at a time writes under store.path: the store, the audit trail and its head. The lock is
// proper-lockfile's (a directory created atomically, its mtime refreshed while held, stale once not
// refreshed), and a holder file next to it says who holds it, since when, and how to reach it.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** Who holds store.path, as written in `millwright.lock.json`. */
export interface StoreHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** `serve`, `shell`, or a one-off tool. */
  mode: string;
  /** Where other processes on this host send their commands (the holder's control endpoint). */
  control?: { port: number; token: string };
}

const LOCK_DIR = 'millwright.lock';
const HOLDER_FILE = 'millwright.lock.json';
// Refreshed every 5 s; a lock not refreshed for 15 s belongs to a dead process (kill -9, a lost host).
const REFRESH_MS = 5_000;
const STALE_MS = 15_000;
const NEVER_STALE_MS = 365 * 24 * 3600 * 1000;
const TAKEOVER = 'millwright.lock.takeover';
const SETTLE_MS = 2_000;
// Left behind by a write that crashed between creating its temp file and renaming it.
const ORPHANS = [
  /^\.store\.json\.[0-9a-f]+\.tmp$/,
  /\.head\.tmp$/,
  /^\.millwright\.lock\.json\.[0-9a-f]+\.tmp$/,
];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder of the lock under `dir`, if the holder file is there and readable. */
export async function readStoreHolder(dir: string): Promise<StoreHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(path.join(dir, HOLDER_FILE), 'utf8')) as StoreHolder;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** "millwright serve (pid 4242 on web-1, since 2026-12-04 17:02 UTC)" */
export function describeHolder(holder: StoreHolder | undefined): string {
  if (!holder) return 'another Millwright process';
  const since = holder.since.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return `millwright ${holder.mode} (pid ${holder.pid} on ${holder.host}, since ${since})`;
}

export class StoreLockedError extends MillwrightError {
  constructor(
    readonly dir: string,
    readonly holder: StoreHolder | undefined,
  ) {
    super(ErrorCode.StoreLocked, `store.path ${dir} is in use by ${describeHolder(holder)}`, {
      hint: holder?.control
        ? 'commands from this host run through it; if that failed, check that it still answers'
        : 'run this while it is stopped, or run millwright shell, which runs commands through a server that holds the store; a holder killed without stopping is replaced once its lock is 15 s old',
      details: { holder: holder ? { pid: holder.pid, host: holder.host, mode: holder.mode } : undefined },
    });
  }
}

/**
 * The lock on one store.path, held until `release`. Taking it removes the temp files crashed writes
 * left behind (nobody else can be writing them any more).
 *
 * @example
 * const lock = await StoreLock.acquire('./data', { mode: 'serve', logger });
 * await lock.advertise({ port: 43121, token });
 * await lock.release();
 */
export class StoreLock {
  readonly #dir: string;
  readonly #logger: Logger;
  #release: () => Promise<void> = async () => {};
  #holder: StoreHolder;
  #released = false;

  private constructor(dir: string, holder: StoreHolder, logger: Logger) {
    this.#dir = dir;
    this.#holder = holder;
    this.#logger = logger;
  }

  /**
   * Takes the lock, waiting up to `waitMs` (default 0) for a holder to let go. A holder on this host
   * whose process is gone is replaced at once; elsewhere, once its lock is stale.
   *
   * @throws StoreLockedError naming the holder when the lock stays held.
   */
  static async acquire(
    dir: string,
    options: { mode: string; logger: Logger; waitMs?: number },
  ): Promise<StoreLock> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const lock = new StoreLock(
        dir,
        { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), mode: options.mode },
        options.logger,
      );
      try {
        await lock.#take();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
        if (await takeOverAbandoned(dir, options.logger)) continue;
        if (Date.now() >= deadline) throw new StoreLockedError(dir, await readStoreHolder(dir));
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      await lock.#writeHolder();
      await removeOrphans(dir, options.logger);
      return lock;
    }
  }

  /** proper-lockfile's lock; on a missed refresh it calls #compromised. */
  async #take(): Promise<void> {
    this.#release = await lockfile.lock(this.#dir, {
      lockfilePath: path.join(this.#dir, LOCK_DIR),
      realpath: false,
      // Whether a lock is abandoned is decided by takeOverAbandoned, under its own mutex; proper-lockfile
      // only creates it, refreshes its mtime and notices when someone else replaced it.
      stale: NEVER_STALE_MS,
      update: REFRESH_MS,
      onCompromised: (error) => {
        void this.#compromised(error);
      },
    });
  }

  /**
   * The lock directory vanished (someone removed store.path's lock) or was replaced. Take it again if
   * it is free; if another process has it, writing on would fork the audit chain: stop, and let the
   * supervisor restart the process.
   */
  async #compromised(error: Error): Promise<void> {
    if (this.#released) return;
    try {
      await this.#take();
      await this.#writeHolder();
      this.#logger.warn({ err: error, dir: this.#dir }, 'store lock was lost and is taken again');
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'ELOCKED') {
        // store.path itself is gone or unwritable: the next store write fails and says so.
        this.#logger.error({ err: again, dir: this.#dir }, 'store lock could not be taken again');
        return;
      }
      const holder = await readStoreHolder(this.#dir);
      this.#logger.fatal(
        { err: again, dir: this.#dir, holder },
        'store lock taken by another process; stopping',
      );
      process.exit(70);
    }
  }

  get holder(): StoreHolder {
    return this.#holder;
  }

  /** Publishes the control endpoint other processes on this host send their commands to. */
  async advertise(control: { port: number; token: string }): Promise<void> {
    this.#holder = { ...this.#holder, control };
    await this.#writeHolder();
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await unlink(path.join(this.#dir, HOLDER_FILE)).catch(() => {});
    await this.#release().catch(() => {});
  }

  async #writeHolder(): Promise<void> {
    // Owner-only: it carries the control token.
    const file = path.join(this.#dir, HOLDER_FILE);
    const temp = path.join(this.#dir, `.${HOLDER_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temp, `${JSON.stringify(this.#holder)}\n`, { mode: 0o600 });
    await rename(temp, file);
  }
}

/**
 * Removes the lock of a holder that is gone (its process ended on this host, or it stopped refreshing
 * the lock for 15 s), so the caller can take it. Two processes noticing the same abandoned lock take
 * turns under a mutex directory and each looks again inside it, so a fresh lock is never removed.
 */
async function takeOverAbandoned(dir: string, logger: Logger): Promise<boolean> {
  const mutex = path.join(dir, TAKEOVER);
  try {
    await mkdir(mutex);
  } catch {
    // Someone else is deciding; a mutex left by a process that died deciding expires.
    const held = await stat(mutex).catch(() => undefined);
    if (held && Date.now() - held.mtimeMs > STALE_MS) await rm(mutex, { recursive: true, force: true });
    return false;
  }
  try {
    const lockDir = await stat(path.join(dir, LOCK_DIR)).catch(() => undefined);
    if (!lockDir) return true;
    const holder = await readStoreHolder(dir);
    const gone = holder !== undefined && holder.host === os.hostname() && !alive(holder.pid);
    // Right after a new holder's mkdir its holder file still names the one before, so a lock that
    // young is never judged by that file.
    const age = Date.now() - lockDir.mtimeMs;
    if (!(age > STALE_MS || (gone && age > SETTLE_MS))) return false;
    logger.warn(
      { dir, holder: holder ? { pid: holder.pid, host: holder.host, mode: holder.mode } : undefined },
      gone ? 'replacing the lock of a process that is gone' : 'replacing a lock nobody refreshed for 15 s',
    );
    await rm(path.join(dir, LOCK_DIR), { recursive: true, force: true });
    return true;
  } finally {
    await rm(mutex, { recursive: true, force: true });
  }
}

async function removeOrphans(dir: string, logger: Logger): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!ORPHANS.some((pattern) => pattern.test(name))) continue;
    await unlink(path.join(dir, name)).catch(() => {});
    logger.info({ file: name }, 'removed a temp file a crashed write left behind');
  }
}
