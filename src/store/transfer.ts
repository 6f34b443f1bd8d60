// `millwright store export` / `import`: an embedded store (every record and the whole audit trail) as
// JSON Lines, and that file into an empty PostgreSQL database, the chain kept exactly as it was.
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { ZodType } from 'zod';
import { parseAuditLine } from '../audit/chain.js';
import { linesForward } from '../audit/lines.js';
import { insertRecords } from '../audit/postgres-audit-log.js';
import type { AuditRecord } from '../audit/types.js';
import { type AuditVerifyOptions, verifyAuditTrail } from '../audit/verify.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { AtomicJsonFile } from './atomic-json-file.js';
import type { PostgresDatabase } from './postgres-database.js';
import type { StoredRecord } from './store.js';

export const EXPORT_FORMAT = 'millwright-store-export';

/** The export's first line: what follows, so import can check it arrived whole. */
export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: 1;
  exportedAt: string;
  /** Records per collection. */
  collections: Record<string, number>;
  audit: { records: number; head: { seq: number; hash: string } | null; keyIds: string[] };
}

type ExportLine = { collection: string; record: StoredRecord } | { audit: AuditRecord };

export interface TransferSummary {
  records: number;
  collections: Record<string, number>;
  auditRecords: number;
}

/**
 * Writes the embedded store under `storePath` and the trail at `auditPath` to `out`, one JSON object
 * per line: the header, every record, every audit record in seq order. Refuses a trail that does not
 * verify: an import would carry the damage into the database.
 *
 * @example
 * await exportEmbeddedStore({ storePath, auditPath, verify: sealing, out: createWriteStream('store.jsonl') });
 */
export async function exportEmbeddedStore(options: {
  storePath: string;
  auditPath: string;
  verify: AuditVerifyOptions;
  out: Writable;
  now?: Date;
}): Promise<TransferSummary> {
  const data = (await new AtomicJsonFile(join(options.storePath, 'store.json')).read()) ?? {
    collections: {},
  };
  const verified = await verifyAuditTrail(options.auditPath, options.verify);
  const emptyTrail =
    !verified.ok && verified.records === 0 && /^no audit trail at /.test(verified.problem ?? '');
  if (!verified.ok && !emptyTrail) {
    throw new MillwrightError(
      ErrorCode.AuditBroken,
      `the audit trail ${options.auditPath} does not verify (${verified.problem}); nothing was exported`,
      {
        hint: 'run `millwright audit verify` (and `audit repair` after a crash) until it passes, then export',
      },
    );
  }
  const collections = Object.fromEntries(
    Object.entries(data.collections).map(([name, records]) => [name, Object.keys(records).length]),
  );
  const records: AuditRecord[] = [];
  if (!emptyTrail) {
    for await (const { line } of linesForward(options.auditPath)) {
      const record = parseAuditLine(line);
      if (record !== undefined) records.push(record);
    }
  }
  const last = records[records.length - 1];
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: (options.now ?? new Date()).toISOString(),
    collections,
    audit: {
      records: records.length,
      head: last === undefined ? null : { seq: last.seq, hash: last.hash },
      keyIds: [...new Set(records.flatMap((record) => (record.keyId === undefined ? [] : [record.keyId])))],
    },
  };
  await write(options.out, header);
  let count = 0;
  for (const [collection, byId] of Object.entries(data.collections)) {
    for (const record of Object.values(byId)) {
      await write(options.out, { collection, record } satisfies ExportLine);
      count += 1;
    }
  }
  for (const record of records) await write(options.out, { audit: record } satisfies ExportLine);
  return { records: count, collections, auditRecords: records.length };
}

/** Rows per INSERT while importing. */
const BATCH = 500;

/**
 * Loads an export into PostgreSQL in one transaction: every record (checked against its collection's
 * schema), every audit record as it was sealed, and the head row. Refuses a database that already
 * holds records or audit records, and a file that is not a whole export.
 *
 * @example
 * await importIntoPostgres(db, linesOf('store.jsonl'), { schemas });
 */
export async function importIntoPostgres(
  db: PostgresDatabase,
  lines: AsyncIterable<string>,
  options: { schemas: Readonly<Record<string, ZodType>>; source: string },
): Promise<TransferSummary> {
  return db.transaction(async (client) => {
    // The head row, held until commit: no replica can append while the trail is being filled.
    const head = await client.query<{ seq: string }>(
      'SELECT seq FROM millwright_audit_head WHERE id = 1 FOR UPDATE',
    );
    const held = await client.query<{ count: string }>('SELECT count(*) AS count FROM millwright_records');
    const auditSeq = Number(head.rows[0]?.seq ?? 0);
    const recordCount = Number(held.rows[0]?.count ?? 0);
    if (auditSeq > 0 || recordCount > 0) {
      throw new MillwrightError(
        ErrorCode.BadArgument,
        `PostgreSQL at ${db.name} already holds data (${recordCount} records, audit trail up to seq ${auditSeq}); nothing was imported`,
        {
          hint: 'import only into an empty database: create a new one, run `millwright store migrate`, then import',
        },
      );
    }
    let header: ExportHeader | undefined;
    const collections: Record<string, number> = {};
    let records = 0;
    let audit: AuditRecord[] = [];
    let auditRecords = 0;
    let last: AuditRecord | undefined;
    const flushAudit = async () => {
      await insertRecords(client, audit);
      audit = [];
    };
    let lineNo = 0;
    for await (const text of lines) {
      lineNo += 1;
      if (text.trim() === '') continue;
      const value = parseLine(text, options.source, lineNo);
      if (header === undefined) {
        header = headerOf(value, options.source);
        continue;
      }
      if ('collection' in value && typeof value.collection === 'string') {
        const record = checkedRecord(value.collection, value.record, options.schemas, options.source, lineNo);
        await client.query('INSERT INTO millwright_records (collection, id, data) VALUES ($1, $2, $3)', [
          value.collection,
          record.id,
          JSON.stringify(record),
        ]);
        collections[value.collection] = (collections[value.collection] ?? 0) + 1;
        records += 1;
      } else if ('audit' in value) {
        const record = parseAuditLine(JSON.stringify(value.audit));
        if (record === undefined || record.seq !== auditRecords + 1) {
          throw notAnExport(options.source, `line ${lineNo} is not audit record seq ${auditRecords + 1}`);
        }
        audit.push(record);
        last = record;
        auditRecords += 1;
        if (audit.length >= BATCH) await flushAudit();
      } else {
        throw notAnExport(options.source, `line ${lineNo} is neither a record nor an audit record`);
      }
    }
    await flushAudit();
    if (header === undefined) throw notAnExport(options.source, 'it is empty');
    if (
      records !== Object.values(header.collections).reduce((sum, n) => sum + n, 0) ||
      auditRecords !== header.audit.records
    ) {
      throw notAnExport(
        options.source,
        `it holds ${records} records and ${auditRecords} audit records, but its header says ${Object.values(header.collections).reduce((sum, n) => sum + n, 0)} and ${header.audit.records} (cut short?)`,
      );
    }
    if (last !== undefined) {
      await client.query('UPDATE millwright_audit_head SET seq = $1, hash = $2 WHERE id = 1', [
        last.seq,
        last.hash,
      ]);
    }
    return { records, collections, auditRecords };
  });
}

function write(out: Writable, value: ExportHeader | ExportLine): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(`${JSON.stringify(value)}\n`, (error) => (error ? reject(error) : resolve()));
  });
}

function parseLine(text: string, source: string, lineNo: number): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Reported below with the file and line; the parser's message adds nothing.
  }
  throw notAnExport(source, `line ${lineNo} is not a JSON object`);
}

function headerOf(value: Record<string, unknown>, source: string): ExportHeader {
  const header = value as Partial<ExportHeader>;
  if (
    header.format !== EXPORT_FORMAT ||
    header.version !== 1 ||
    typeof header.collections !== 'object' ||
    typeof header.audit !== 'object'
  ) {
    throw notAnExport(source, 'its first line is not a millwright store export header');
  }
  return header as ExportHeader;
}

function checkedRecord(
  collection: string,
  value: unknown,
  schemas: Readonly<Record<string, ZodType>>,
  source: string,
  lineNo: number,
): StoredRecord {
  const record = value as StoredRecord | undefined;
  if (record === null || typeof record !== 'object' || typeof record.id !== 'string' || record.id === '') {
    throw notAnExport(source, `line ${lineNo} (collection "${collection}") is not a record with an id`);
  }
  const parsed = schemas[collection]?.safeParse(record);
  if (parsed && !parsed.success) {
    const field = parsed.error.issues[0]?.path.map(String).join('.') || 'the record';
    throw notAnExport(
      source,
      `line ${lineNo} (collection "${collection}", id "${record.id}") fails its schema at ${field}`,
    );
  }
  return record;
}

function notAnExport(source: string, problem: string): MillwrightError {
  return new MillwrightError(
    ErrorCode.BadArgument,
    `${source} cannot be imported: ${problem}; nothing was imported`,
    {
      hint: 'import a file written by `millwright store export`, whole and unedited',
    },
  );
}
