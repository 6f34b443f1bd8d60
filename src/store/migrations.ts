// The PostgreSQL schema's versions: node-pg-migrate applies the SQL files in migrations/ (shipped
// beside the build) and records them in millwright_migrations; start refuses a schema that is behind.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { PostgresDatabase } from './postgres-database.js';

export const MIGRATIONS_TABLE = 'millwright_migrations';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** migrations/ at the package root: two levels above src/store, one above dist/ in the build. */
export function migrationsDir(): string {
  const candidates = [path.join(HERE, '..', '..', 'migrations'), path.join(HERE, '..', 'migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (found === undefined) {
    throw new MillwrightError(
      ErrorCode.StoreUnavailable,
      `the migrations folder is missing (looked in ${candidates.join(', ')})`,
      {
        hint: 'reinstall Millwright: the package ships migrations/ next to src/ and dist/',
      },
    );
  }
  return found;
}

/** Which migrations this version ships, which the database has run, and which are pending. */
export interface MigrationStatus {
  shipped: string[];
  applied: string[];
  pending: string[];
  /** Run in the database but unknown to this version (a newer Millwright migrated it). */
  unknown: string[];
}

/**
 * Compares migrations/ with the database's millwright_migrations table (absent: nothing applied).
 *
 * @example
 * const { pending } = await migrationStatus(db);
 */
export async function migrationStatus(db: PostgresDatabase, dir = migrationsDir()): Promise<MigrationStatus> {
  const shipped = (await readdir(dir))
    .filter((file) => file.endsWith('.sql') && !file.startsWith('.'))
    .map((file) => file.replace(/\.sql$/, ''))
    .sort();
  let applied: string[] = [];
  try {
    const { rows } = await db.pool.query<{ exists: string | null }>('SELECT to_regclass($1) AS exists', [
      MIGRATIONS_TABLE,
    ]);
    if (rows[0]?.exists) {
      const result = await db.pool.query<{ name: string }>(
        `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`,
      );
      applied = result.rows.map((row) => row.name);
    }
  } catch (error) {
    throw db.unavailable(error);
  }
  return {
    shipped,
    applied,
    pending: shipped.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !shipped.includes(name)),
  };
}

export interface MigrateOptions {
  /** Print what would run, change nothing. */
  dryRun?: boolean;
  /** Where node-pg-migrate's lines go (the SQL of a dry run among them). */
  log?: (line: string) => void;
  dir?: string;
}

/**
 * Applies every pending migration in one transaction, under node-pg-migrate's advisory lock (two
 * replicas starting with `store.migrate: onStart` wait for each other). Resolves with the names run.
 *
 * @example
 * const ran = await migrate(db, { log: (line) => logger.info(line) });
 */
export async function migrate(db: PostgresDatabase, options: MigrateOptions = {}): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  const client = await db.connect();
  const log = options.log ?? (() => {});
  try {
    const ran = await runner({
      dbClient: client,
      dir: options.dir ?? migrationsDir(),
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      checkOrder: true,
      singleTransaction: true,
      advisoryLockMode: 'wait',
      dryRun: options.dryRun === true,
      // node-pg-migrate hands the SQL to logger.debug only when verbose.
      verbose: options.dryRun === true,
      log: (line: string) => log(db.scrub(line)),
      logger: {
        // The SQL each migration runs: what a dry run is for.
        debug: (line: string) => {
          if (options.dryRun) log(db.scrub(line));
        },
        info: (line: string) => log(db.scrub(line)),
        warn: (line: string) => log(db.scrub(line)),
        error: (line: string) => log(db.scrub(line)),
      },
    });
    return ran.map((migration) => migration.name);
  } catch (error) {
    if (error instanceof MillwrightError) throw error;
    throw new MillwrightError(
      ErrorCode.StoreUnavailable,
      `migrating PostgreSQL at ${db.name} failed: ${db.scrub((error as Error).message)}`,
      {
        hint: 'nothing was applied (one transaction); fix the cause and run `millwright store migrate` again',
        cause: error,
      },
    );
  } finally {
    client.release();
  }
}

/**
 * Start-up's check: migrates when `store.migrate` is onStart, else refuses a schema that is behind.
 */
export async function ensureSchema(
  db: PostgresDatabase,
  mode: 'onStart' | 'never',
  log: (line: string) => void,
): Promise<void> {
  const status = await migrationStatus(db);
  if (status.unknown.length > 0) {
    log(
      `the database has migrations this version does not know (${status.unknown.join(', ')}): a newer Millwright migrated it`,
    );
  }
  if (status.pending.length === 0) return;
  if (mode === 'onStart') {
    const ran = await migrate(db, { log });
    log(
      `applied ${ran.length} migration(s) to ${db.name}: ${ran.join(', ') || 'none (another replica did)'}`,
    );
    return;
  }
  throw new MillwrightError(
    ErrorCode.StoreUnavailable,
    `the PostgreSQL schema at ${db.name} is behind: ${status.pending.length} migration(s) pending (${status.pending.join(', ')})`,
    {
      hint: 'run `millwright store migrate` (or set store.migrate: onStart to let the server migrate at start)',
    },
  );
}
