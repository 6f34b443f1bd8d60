// Not a double: a REAL PostgreSQL (Debian's `postgresql` package) in a throwaway cluster under a temp
// directory, on a free port on 127.0.0.1 with password auth, started per test file and removed after.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface RunningPostgres {
  host: string;
  port: number;
  /** The superuser's password (user `postgres`), a secret the tests look for in every output. */
  password: string;
  /** A new empty database, and its URL with the password in it. */
  createDatabase(): Promise<string>;
  close(): Promise<void>;
}

/** store: for a database URL, as the config loader gives it (one connection attempt: tests want the refusal at once). */
export function postgresStoreConfig(url: string) {
  return {
    kind: 'postgres' as const,
    path: '/nonexistent',
    url,
    pool: { max: 5, connectTimeout: '5s', connectAttempts: 1 },
    ssl: { mode: 'disable' as const },
    migrate: 'never' as const,
  };
}

/** Where initdb and pg_ctl are: Debian's versioned folder, else the PATH. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(path.join(root, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return path.join(root, versions[0], 'bin');
  }
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    return initdb ? path.dirname(initdb) : undefined;
  } catch {
    // Not on the PATH either: the caller skips (or fails, in CI) with what to install.
    return undefined;
  }
}

/**
 * Why the PostgreSQL tests cannot run here, or undefined when they can. In CI (`CI` set) a missing
 * PostgreSQL is a failure, never a skip: `.ci/run` installs it.
 */
export function postgresMissing(): string | undefined {
  if (postgresBin() !== undefined) return undefined;
  const reason =
    "PostgreSQL is not installed (no initdb): install Debian's postgresql package (node bin/test-prerequisites.mjs does)";
  if (process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL tests`);
  return reason;
}

/** `describe` when PostgreSQL can be found, else `describe.skip` with the reason printed once. */
export function describeWithPostgres(name: string, body: () => void): void {
  const missing = postgresMissing();
  if (missing !== undefined) {
    // A skip must say why, or a green run would hide that nothing against PostgreSQL ran.
    console.warn(`skipping "${name}": ${missing}`);
    describe.skip(name, body);
  } else {
    describe(name, body);
  }
}

/**
 * initdb (as user `postgres` when we are root: initdb refuses root), then pg_ctl start on a free port;
 * `durable` keeps fsync on (for benchmarks).
 *
 * @example
 * const postgres = await startPostgres();
 * const url = await postgres.createDatabase();
 * afterAll(() => postgres.close());
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<RunningPostgres> {
  const bin = postgresBin();
  if (bin === undefined) throw new Error(postgresMissing() ?? 'PostgreSQL not found');
  const root = await mkdtemp(path.join(os.tmpdir(), 'millwright-postgres-'));
  const data = path.join(root, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const asRoot = process.getuid?.() === 0;
  const as = async (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args])
      : run(path.join(bin, command), args);
  try {
    await writeFile(path.join(root, 'pwfile'), `${password}\n`);
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      await chown(root, uid, gid);
      await chown(path.join(root, 'pwfile'), uid, gid);
    }
    await chmod(root, 0o700);
    await as('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${path.join(root, 'pwfile')}`,
      '--no-sync',
    ]);
    const port = await freePort();
    // fsync off: a test cluster lives for seconds and never survives a crash anyway. A benchmark asks
    // for PostgreSQL's production defaults (fsync and synchronous_commit on), since it measures commits.
    await as('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(root, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-k ${root} -p ${port} -c listen_addresses=127.0.0.1${options.durable ? '' : ' -c fsync=off'} -c max_connections=200`,
      'start',
    ]);
    const host = '127.0.0.1';
    const base = `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}`;
    let databases = 0;
    return {
      host,
      port,
      password,
      async createDatabase() {
        databases += 1;
        const name = `millwright_${databases}_${Math.random().toString(36).slice(2, 8)}`;
        const client = new pg.Client({ connectionString: `${base}/postgres` });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        return `${base}/${name}`;
      },
      async close() {
        await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {
          // Already stopped (a test stopped it on purpose); the folder goes either way.
        });
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const log = await readFile(path.join(root, 'postgres.log'), 'utf8').catch(() => '');
    await as('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => {
      // It may never have started; the error below is the one to report.
    });
    await rm(root, { recursive: true, force: true });
    throw new Error(
      `could not start a throwaway PostgreSQL: ${(error as Error).message}\n${log.slice(-2000)}`,
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** `count` replicas' stores on one new, migrated database, each with its own pool, as `serve` opens them. */
export interface ReplicaStores {
  postgres: RunningPostgres;
  dbs: import('../../src/store/postgres-database.js').PostgresDatabase[];
  stores: import('../../src/store/postgres-store.js').PostgresStore[];
  close(): Promise<void>;
}

/**
 * Starts a throwaway cluster and opens `count` stores on one migrated database.
 *
 * @example
 * const replicas = await replicaStores(3);
 * afterAll(() => replicas.close());
 */
export async function replicaStores(count: number): Promise<ReplicaStores> {
  const [{ PostgresDatabase }, { PostgresStore }, { migrate }] = await Promise.all([
    import('../../src/store/postgres-database.js'),
    import('../../src/store/postgres-store.js'),
    import('../../src/store/migrations.js'),
  ]);
  const postgres = await startPostgres();
  const url = await postgres.createDatabase();
  const dbs = await Promise.all(
    Array.from({ length: count }, () => PostgresDatabase.open(postgresStoreConfig(url))),
  );
  await migrate(dbs[0]!);
  return {
    postgres,
    dbs,
    stores: dbs.map((db) => new PostgresStore(db)),
    async close() {
      for (const db of dbs) await db.close();
      await postgres.close();
    },
  };
}
