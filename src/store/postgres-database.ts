// The PostgreSQL connection pool the store and the audit trail share: built from store.url, pool and
// ssl, reached with bounded retries at start, and named in messages by host, port and database only.
import { readFile } from 'node:fs/promises';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { MillwrightConfig } from '../config/schema.js';
import { parseDuration } from '../core/duration.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { abortableSleep } from '../core/retry.js';
import { describeTarget, type PostgresTarget, passwordOf, targetOf } from './database-url.js';

export type StoreConfig = MillwrightConfig['store'];

export interface PostgresDatabaseOptions {
  logger?: Logger;
  /** Scrubs text that leaves Millwright (the process's SecretSet); the URL's password is always removed. */
  scrub?: (text: string) => string;
  /** Injected for tests: the waits between connection attempts. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One pool per process, opened by the `postgres` module for the store and the audit trail.
 *
 * @example
 * const db = await PostgresDatabase.open(config.store, { logger });
 * const { rows } = await db.pool.query('SELECT 1 AS one');
 * await db.close();
 */
export class PostgresDatabase {
  readonly pool: Pool;
  readonly target: PostgresTarget;
  readonly #scrub: (text: string) => string;
  #closed = false;

  private constructor(pool: Pool, target: PostgresTarget, scrub: (text: string) => string) {
    this.pool = pool;
    this.target = target;
    this.#scrub = scrub;
  }

  /** Where the database is, for messages: `host:port/database`. */
  get name(): string {
    return describeTarget(this.target);
  }

  /**
   * Builds the pool and checks one connection, trying `store.pool.connectAttempts` times with
   * doubling waits; then refuses with a message naming host, port and database, never the password.
   */
  static async open(store: StoreConfig, options: PostgresDatabaseOptions = {}): Promise<PostgresDatabase> {
    if (store.url === undefined) {
      throw new MillwrightError(ErrorCode.ConfigInvalid, 'store.kind postgres needs store.url', {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} syntax, shown to the user
        hint: 'set store.url: ${DATABASE_URL} and DATABASE_URL=postgres://user:password@host:5432/db',
      });
    }
    const url = store.url;
    const target = targetOf(url);
    const passwords = passwordOf(url);
    const scrub = (text: string) => {
      let out = text.split(url).join(`postgres://${describeTarget(target)}`);
      for (const password of passwords) out = out.split(password).join('[redacted]');
      return options.scrub ? options.scrub(out) : out;
    };
    const { default: pg } = await import('pg');
    const config: PoolConfig = {
      connectionString: url,
      max: store.pool.max,
      connectionTimeoutMillis: parseDuration(store.pool.connectTimeout),
      application_name: 'millwright',
      ssl: await sslOf(store.ssl),
    };
    const pool = new pg.Pool(config);
    // An idle connection the server dropped must not take the process down; the next query reconnects.
    pool.on('error', (error) =>
      options.logger?.warn(
        { db: describeTarget(target), reason: scrub(error.message) },
        'PostgreSQL connection lost',
      ),
    );
    const db = new PostgresDatabase(pool, target, scrub);
    try {
      // A database that is starting (a pod next to it, a failover) gets a few tries, a second apart
      // and doubling; a refused password is final at once.
      const sleep = options.sleep ?? abortableSleep;
      for (let attempt = 1; ; attempt++) {
        try {
          await pool.query('SELECT 1');
          break;
        } catch (error) {
          if (attempt >= store.pool.connectAttempts || isAuthenticationError(error)) throw error;
          const delayMs = Math.min(8_000, 1_000 * 2 ** (attempt - 1));
          options.logger?.warn(
            { db: db.name, attempt, delayMs, reason: scrub(reasonOf(error)) },
            'PostgreSQL is not reachable yet; trying again',
          );
          await sleep(delayMs);
        }
      }
    } catch (error) {
      await pool.end().catch(() => {
        // Nothing was connected; the failure below is the one to report.
      });
      throw db.unavailable(error, `after ${store.pool.connectAttempts} tries`);
    }
    return db;
  }

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        // The connection itself failed; the pool discards it (release below with the error).
      });
      throw error;
    } finally {
      client.release();
    }
  }

  /** A connection from the pool; the caller releases it. */
  async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** A failure of this database as one line that names where it is and never the password. */
  unavailable(error: unknown, when = ''): MillwrightError {
    if (error instanceof MillwrightError) return error;
    return new MillwrightError(
      ErrorCode.StoreUnavailable,
      `PostgreSQL at ${this.name} is unavailable${when ? ` ${when}` : ''}: ${this.#scrub(reasonOf(error))}`,
      {
        hint: isAuthenticationError(error)
          ? 'check the user and password in store.url (DATABASE_URL)'
          : 'check that PostgreSQL is running and reachable from here, and the host, port and database in store.url',
      },
    );
  }

  /** Text with store.url and its password taken out. */
  scrub(text: string): string {
    return this.#scrub(text);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

/** The pg ssl option for store.ssl: off, encrypted without checking the certificate, or fully verified. */
async function sslOf(ssl: StoreConfig['ssl']): Promise<PoolConfig['ssl']> {
  if (ssl.mode === 'disable') return false;
  if (ssl.mode === 'require') return { rejectUnauthorized: false };
  if (ssl.ca === undefined) return { rejectUnauthorized: true };
  try {
    return { rejectUnauthorized: true, ca: await readFile(ssl.ca, 'utf8') };
  } catch (error) {
    throw new MillwrightError(
      ErrorCode.ConfigInvalid,
      `store.ssl.ca ${ssl.ca} cannot be read: ${(error as Error).message}`,
      { hint: 'point store.ssl.ca at the PEM file of the CA that signed the database server certificate' },
    );
  }
}

/** 28P01 invalid_password, 28000 invalid_authorization_specification: another try will not help. */
function isAuthenticationError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '28P01' || code === '28000' || code === '3D000';
}

function reasonOf(error: unknown): string {
  const failure = error as { message?: unknown; code?: unknown; errors?: unknown };
  // Node's AggregateError (IPv4 and IPv6 both refused) has an empty message and the causes inside.
  if (Array.isArray(failure.errors) && failure.errors.length > 0) return reasonOf(failure.errors[0]);
  const message = typeof failure.message === 'string' && failure.message !== '' ? failure.message : undefined;
  return message ?? (typeof failure.code === 'string' ? failure.code : String(error));
}
