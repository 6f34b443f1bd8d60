// `millwright store migrate|status|export|import`: the PostgreSQL schema's versions, and moving an
// embedded store (records and audit trail) up into PostgreSQL.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/index.js';
import type { Services } from '../core/context.js';
import { asMillwrightError, ErrorCode, MillwrightError } from '../core/errors.js';
import type { SecretSet } from '../core/secrets.js';

export interface StoreCliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  configPath: string;
  loadConfig: () => Promise<LoadedConfig>;
  /** The process's secrets for a loaded config (the URL's password among them). */
  secretsOf: (loaded: LoadedConfig) => SecretSet;
  /** Builds the named services for a loaded config (lazily, as a one-off tool) and how to close them. */
  services: (
    loaded: LoadedConfig,
    names: string[],
  ) => Promise<{ services: Services; close: () => Promise<void> }>;
  /** The OS user, for the import's audit record. */
  osUser: string;
}

const USAGE = `usage: millwright store <command>

  migrate [--dry-run]   apply the pending PostgreSQL migrations (--dry-run: print them, change nothing)
  status                which migrations are applied and which are pending
  export [--out FILE]   the embedded store and its audit trail as JSON Lines (stdout without --out)
  import FILE           load an export into the (empty) PostgreSQL database of store.url`;

/**
 * Runs `millwright store ...`; resolves with the exit code (0 ok, 1 refused or behind, 2 usage).
 *
 * @example
 * process.exitCode = await runStoreCli(['store', 'migrate', '--dry-run'], io);
 */
export async function runStoreCli(argv: string[], io: StoreCliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      'dry-run': { type: 'boolean' },
      out: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
  });
  const [, sub, file] = positionals;
  try {
    switch (sub) {
      case 'migrate':
        return await migrateCommand(values['dry-run'] === true, io);
      case 'status':
        return await statusCommand(io);
      case 'export':
        return await exportCommand(typeof values.out === 'string' ? values.out : undefined, io);
      case 'import':
        if (!file) return usage(io, 'store import needs the FILE written by `millwright store export`');
        return await importCommand(file, io);
      default:
        return usage(io, sub ? `unknown: store ${sub}` : 'store needs a subcommand');
    }
  } catch (error) {
    const failure = asMillwrightError(error);
    io.stderr.write(`millwright: ${failure.message}${failure.hint ? `\nhint: ${failure.hint}` : ''}\n`);
    return 1;
  }
}

function usage(io: StoreCliIO, problem: string): number {
  io.stderr.write(`millwright: ${problem}\n${USAGE}\n`);
  return 2;
}

/** The configured database, opened without the start-up schema check (migrate and status look at it themselves). */
async function openDatabase(io: StoreCliIO) {
  const loaded = await io.loadConfig();
  requirePostgres(loaded, 'this command');
  const { PostgresDatabase } = await import('./postgres-database.js');
  const secrets = io.secretsOf(loaded);
  return PostgresDatabase.open(loaded.config.store, { scrub: (text) => secrets.text(text) });
}

function requirePostgres(loaded: LoadedConfig, what: string): void {
  if (loaded.config.store.kind !== 'postgres') {
    throw new MillwrightError(
      ErrorCode.BadArgument,
      `${what} works on PostgreSQL, and ${loaded.path} has store.kind ${loaded.config.store.kind}`,
      {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} syntax, shown to the user
        hint: 'set store.kind: postgres and store.url: ${DATABASE_URL} in the config you pass with --config',
      },
    );
  }
}

async function migrateCommand(dryRun: boolean, io: StoreCliIO): Promise<number> {
  const db = await openDatabase(io);
  try {
    const { migrate, migrationStatus } = await import('./migrations.js');
    const before = await migrationStatus(db);
    if (before.pending.length === 0) {
      io.stdout.write(`${db.name}: schema is current (${before.applied.length} migration(s) applied)\n`);
      return 0;
    }
    if (dryRun) {
      io.stdout.write(
        `${db.name}: ${before.pending.length} migration(s) would run (dry run, nothing changed):\n`,
      );
      const lines: string[] = [];
      await migrate(db, { dryRun: true, log: (line) => lines.push(line) });
      io.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    const ran = await migrate(db);
    io.stdout.write(`${db.name}: applied ${ran.length} migration(s): ${ran.join(', ')}\n`);
    return 0;
  } finally {
    await db.close();
  }
}

async function statusCommand(io: StoreCliIO): Promise<number> {
  const db = await openDatabase(io);
  try {
    const { migrationStatus } = await import('./migrations.js');
    const status = await migrationStatus(db);
    for (const name of status.applied) io.stdout.write(`applied  ${name}\n`);
    for (const name of status.pending) io.stdout.write(`pending  ${name}\n`);
    for (const name of status.unknown) io.stdout.write(`unknown  ${name} (applied by a newer Millwright)\n`);
    if (status.pending.length > 0) {
      io.stdout.write(
        `${db.name}: behind by ${status.pending.length} migration(s); run \`millwright store migrate\`\n`,
      );
      return 1;
    }
    io.stdout.write(`${db.name}: schema is current\n`);
    return 0;
  } finally {
    await db.close();
  }
}

async function exportCommand(out: string | undefined, io: StoreCliIO): Promise<number> {
  const loaded = await io.loadConfig();
  if (loaded.config.store.kind !== 'embedded') {
    throw new MillwrightError(
      ErrorCode.BadArgument,
      'store export reads the embedded store, and this config has store.kind postgres',
      {
        hint: 'pass the config of the embedded store with --config (back a PostgreSQL store up with pg_dump)',
      },
    );
  }
  // Holding store.path: a server or shell that writes it makes the export refuse, naming the holder.
  const built = await io.services(loaded, ['storeLock']);
  try {
    const [{ exportEmbeddedStore }, { auditSealingFrom }] = await Promise.all([
      import('./transfer.js'),
      import('../audit/sealing.js'),
    ]);
    const target = out === undefined ? undefined : path.resolve(io.cwd, out);
    const stream: Writable = target === undefined ? (io.stdout as Writable) : await exclusiveFile(target);
    try {
      const summary = await exportEmbeddedStore({
        storePath: loaded.config.store.path,
        auditPath: loaded.config.audit.path,
        verify: auditSealingFrom(loaded.config.audit, loaded.config.store.path),
        out: stream,
      });
      io.stderr.write(
        `exported ${summary.records} record(s) in ${Object.keys(summary.collections).length} collection(s) and ${summary.auditRecords} audit record(s)${target ? ` to ${target}` : ''}\n`,
      );
    } finally {
      if (target !== undefined) await new Promise((resolve) => stream.end(resolve));
    }
    return 0;
  } finally {
    await built.close();
  }
}

async function importCommand(file: string, io: StoreCliIO): Promise<number> {
  const loaded = await io.loadConfig();
  requirePostgres(loaded, 'store import');
  const source = path.resolve(io.cwd, file);
  await stat(source).catch(() => {
    throw new MillwrightError(ErrorCode.BadArgument, `${source} cannot be read; nothing was imported`, {
      hint: 'pass the file `millwright store export --out FILE` wrote',
    });
  });
  // The postgres module refuses a schema that is behind, with the hint to migrate first.
  const built = await io.services(loaded, ['postgres', 'recordSchemas']);
  try {
    const { services } = built;
    const [{ importIntoPostgres }, { PostgresAuditLog, verifyPostgresAuditTrail }, { auditSealingFrom }] =
      await Promise.all([
        import('./transfer.js'),
        import('../audit/postgres-audit-log.js'),
        import('../audit/sealing.js'),
      ]);
    const summary = await importIntoPostgres(services.postgres, linesOf(source), {
      schemas: services.recordSchemas,
      source,
    });
    const sealing = auditSealingFrom(loaded.config.audit, loaded.config.store.path);
    // The import is itself recorded, and anchored by a checkpoint when the config keeps them.
    const audit = await PostgresAuditLog.open(services.postgres, { secrets: services.secrets, sealing });
    try {
      await audit.append({
        actor: `os:${io.osUser}`,
        surface: 'cli',
        channel: 'cli',
        action: 'store.imported',
        args: { from: source, records: summary.records, auditRecords: summary.auditRecords },
        outcome: 'ok',
      });
    } finally {
      await audit.close();
    }
    io.stdout.write(
      `imported ${summary.records} record(s) in ${Object.keys(summary.collections).length} collection(s) and ${summary.auditRecords} audit record(s) into ${services.postgres.name}\n`,
    );
    const verified = await verifyPostgresAuditTrail(services.postgres, sealing);
    if (!verified.ok) {
      io.stderr.write(
        `${services.postgres.name}: audit trail BROKEN after the import: ${verified.problem}\n`,
      );
      io.stderr.write(
        'hint: the target config needs the same audit.keys (and checkpoint file) as the source\n',
      );
      return 1;
    }
    io.stdout.write(`${services.postgres.name}: audit trail ok, ${verified.records} records\n`);
    return 0;
  } finally {
    await built.close();
  }
}

/** A new file, owner-only: an export holds every record, and never overwrites one already there. */
async function exclusiveFile(file: string): Promise<Writable> {
  try {
    const handle = await open(file, 'wx', 0o600);
    return createWriteStream(file, { fd: handle });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MillwrightError(ErrorCode.BadArgument, `${file} already exists; nothing was exported`, {
        hint: 'pick another --out file, or remove that one first',
      });
    }
    throw error;
  }
}

/**
 * The file's lines. The reader is made on the first pull, not before: readline started ahead of its
 * iterator (while the import awaits the database) would lose lines and its end, and hang the import.
 */
async function* linesOf(file: string): AsyncGenerator<string> {
  const { createInterface } = process.getBuiltinModule('node:readline');
  yield* createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
}
