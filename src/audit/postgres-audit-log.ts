// The audit trail in PostgreSQL for several replicas: the file trail's chain, keys and checkpoints,
// with every batch appended in one transaction that holds the head row, so replicas write one chain.
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { SecretSet } from '../core/secrets.js';
import type { PostgresDatabase } from '../store/postgres-database.js';
import { formatAuditLine, GENESIS_HASH, parseAuditLine, sealAuditRecord } from './chain.js';
import { signCheckpoint } from './checkpoints.js';
import { GroupCommit, type PendingAppend } from './group-commit.js';
import type { AuditHead } from './head.js';
import type { AuditSealing } from './sealing.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditRecord, AuditVerifyResult } from './types.js';
import { type AuditVerifyOptions, verifyAuditLines } from './verify.js';

export interface PostgresAuditLogOptions {
  clock?: Clock;
  /** The process's secrets to scrub from args, on top of the token shapes. */
  secrets?: SecretSet;
  sealing?: AuditSealing;
}

/** Rows read per query when walking the whole trail (verify, export). */
const PAGE = 1_000;

/**
 * An {@link AuditLog} on `millwright_audit`. Appends made while a batch is on its way share the next
 * transaction (group commit); the transaction locks the one head row (SELECT ... FOR UPDATE), so each
 * batch continues the chain from whatever any replica appended last.
 *
 * @example
 * const audit = await PostgresAuditLog.open(db, { sealing, secrets });
 * await audit.append({ actor: 'ana', surface: 'slack', channel: 'C1', action: 'command.deploys', args: {}, outcome: 'ok' });
 */
export class PostgresAuditLog implements AuditLog {
  readonly #db: PostgresDatabase;
  readonly #clock: Clock;
  readonly #secrets: SecretSet;
  readonly #sealing: AuditSealing;
  /** The head after this process's last batch (what a checkpoint from here anchors). */
  #last: AuditHead;
  #anchoredSeq: number;
  readonly #appends = new GroupCommit((batch) => this.#commitBatch(batch));
  #failure: MillwrightError | undefined;
  #closed = false;

  private constructor(
    db: PostgresDatabase,
    last: AuditHead,
    anchoredSeq: number,
    options: PostgresAuditLogOptions,
  ) {
    this.#db = db;
    this.#last = last;
    this.#anchoredSeq = anchoredSeq;
    this.#clock = options.clock ?? systemClock;
    this.#secrets = options.secrets ?? new SecretSet();
    this.#sealing = options.sealing ?? { keys: new Map() };
  }

  /**
   * Opens the trail: its newest record must match the head row, and neither may be behind the latest
   * checkpoint; with a checkpoint sink and a key, anchors the head it opened at.
   */
  static async open(db: PostgresDatabase, options: PostgresAuditLogOptions = {}): Promise<PostgresAuditLog> {
    const { checkpoints, active } = options.sealing ?? {};
    // The checkpoint first: another replica may append (and anchor) between the two reads, never behind them.
    const anchored = await checkpoints?.latest();
    const last = await readConsistentHead(db);
    const where = `the audit trail in PostgreSQL at ${db.name}`;
    if (anchored !== undefined && anchored.seq > last.seq) {
      throw broken(
        `${where} ends at seq ${last.seq} but the checkpoint in ${checkpoints?.name} says seq ${anchored.seq}: records after seq ${last.seq} are missing`,
      );
    }
    const sameSeq = await recordAt(db, anchored?.seq);
    if (anchored !== undefined && sameSeq !== undefined && sameSeq.hash !== anchored.hash) {
      throw broken(`${where}: seq ${anchored.seq} does not match its checkpoint`);
    }
    let anchoredSeq = anchored?.seq ?? -1;
    if (checkpoints !== undefined && active !== undefined && anchoredSeq !== last.seq) {
      const clock = options.clock ?? systemClock;
      try {
        await checkpoints.append(signCheckpoint(last, clock.now().toISOString(), active));
      } catch (cause) {
        throw unavailable(
          `could not append a checkpoint to ${checkpoints.name}: ${(cause as Error).message}`,
          cause,
        );
      }
      anchoredSeq = last.seq;
    }
    return new PostgresAuditLog(db, last, checkpoints === undefined ? last.seq : anchoredSeq, options);
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#closed) throw unavailable(`the audit trail in PostgreSQL at ${this.#db.name} is closed`);
    if (this.#failure !== undefined) throw this.#failure;
    return this.#appends.add(entry, { secrets: this.#secrets, clock: this.#clock });
  }

  async recent(query: AuditQuery = {}): Promise<AuditRecord[]> {
    if (this.#closed) throw unavailable(`the audit trail in PostgreSQL at ${this.#db.name} is closed`);
    const limit = query.limit ?? 20;
    if (limit <= 0) return [];
    const where: string[] = [];
    const values: unknown[] = [];
    const condition = (sql: string, value: unknown) => {
      values.push(value);
      where.push(`${sql} $${values.length}`);
    };
    if (query.actor !== undefined) condition('actor =', query.actor);
    if (query.channel !== undefined) condition('channel =', query.channel);
    if (query.since !== undefined) condition('ts >=', query.since.toISOString());
    values.push(limit);
    const sql = `SELECT seq, line FROM millwright_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${values.length}`;
    let rows: { seq: string; line: string }[];
    try {
      rows = (await this.#db.pool.query<{ seq: string; line: string }>(sql, values)).rows;
    } catch (error) {
      throw unavailable(this.#db.unavailable(error).message, error);
    }
    return rows.map((row) => {
      const record = parseAuditLine(row.line);
      if (record === undefined)
        throw broken(
          `the audit trail in PostgreSQL at ${this.#db.name}: seq ${row.seq} is not a readable record`,
        );
      return record;
    });
  }

  async flush(): Promise<void> {
    await this.#appends.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    if (this.#failure === undefined && this.#last.seq !== this.#anchoredSeq) await this.#anchor();
  }

  async #anchor(): Promise<void> {
    const { checkpoints, active } = this.#sealing;
    if (checkpoints === undefined || active === undefined) return;
    await checkpoints.append(signCheckpoint(this.#last, this.#clock.now().toISOString(), active));
    this.#anchoredSeq = this.#last.seq;
  }

  /** One transaction per batch; never throws, it settles the batch instead. */
  async #commitBatch(batch: PendingAppend[]): Promise<void> {
    let records: AuditRecord[];
    try {
      records = await this.#db.transaction(async (client) => {
        const { rows } = await client.query<{ seq: string; hash: string }>(
          'SELECT seq, hash FROM millwright_audit_head WHERE id = 1 FOR UPDATE',
        );
        if (rows[0] === undefined)
          throw broken(`the audit head row in PostgreSQL at ${this.#db.name} is missing`);
        let seq = Number(rows[0].seq);
        let hash = rows[0].hash;
        const sealed = batch.map((pending) => {
          const record = sealAuditRecord(pending.entry, ++seq, pending.ts, hash, this.#sealing.active);
          hash = record.hash;
          return record;
        });
        await insertRecords(client, sealed);
        await client.query('UPDATE millwright_audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, hash]);
        return sealed;
      });
    } catch (error) {
      // Rolled back: nothing of this batch is in the trail, and the next batch starts from the head row.
      const failure =
        error instanceof MillwrightError
          ? error
          : unavailable(`could not append to ${this.#db.unavailable(error).message}`, error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    const newest = records[records.length - 1]!;
    this.#last = { seq: newest.seq, hash: newest.hash };
    const every = this.#sealing.checkpointEvery ?? 100;
    if (
      this.#sealing.checkpoints !== undefined &&
      Math.floor(newest.seq / every) > Math.floor(this.#anchoredSeq / every)
    ) {
      try {
        await this.#anchor();
      } catch (cause) {
        // The batch is durable, so it is acknowledged; this process stops appending, because an anchor
        // that can no longer be written would hide a cut tail (as the file trail does).
        const sink = this.#sealing.checkpoints.name;
        this.#failure = unavailable(
          `could not append a checkpoint to ${sink}: ${(cause as Error).message}`,
          cause,
        );
      }
    }
    for (const [index, pending] of batch.entries()) pending.resolve(records[index]!);
  }
}

/** Inserts sealed records, their lines exactly as the hash covers them. */
export async function insertRecords(
  client: { query: (sql: string, values: unknown[]) => Promise<unknown> },
  records: readonly AuditRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const values: unknown[] = [];
  const tuples = records.map((record) => {
    values.push(record.seq, record.ts, record.actor, record.channel, formatAuditLine(record).trimEnd());
    const at = values.length;
    return `($${at - 4}, $${at - 3}, $${at - 2}, $${at - 1}, $${at})`;
  });
  await client.query(
    `INSERT INTO millwright_audit (seq, ts, actor, channel, line) VALUES ${tuples.join(', ')}`,
    values,
  );
}

/**
 * `millwright audit verify` on PostgreSQL: the same walk as on the file, over the rows in seq order,
 * against the head row and every checkpoint.
 *
 * @example
 * const result = await verifyPostgresAuditTrail(db, auditSealingFrom(config.audit, config.store.path));
 */
export async function verifyPostgresAuditTrail(
  db: PostgresDatabase,
  options: AuditVerifyOptions = { keys: new Map() },
): Promise<AuditVerifyResult> {
  let head: AuditHead | undefined;
  try {
    head = await readHeadRow(db);
  } catch (error) {
    throw db.unavailable(error);
  }
  return verifyAuditLines(auditLines(db), head, options);
}

/** Every line of the trail in seq order, a page at a time, so memory stays flat on a long trail. */
export async function* auditLines(
  db: PostgresDatabase,
): AsyncGenerator<{ line: string; terminated: boolean }> {
  let after = 0;
  for (;;) {
    const { rows } = await db.pool.query<{ seq: string; line: string }>(
      'SELECT seq, line FROM millwright_audit WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE],
    );
    for (const row of rows) yield { line: row.line, terminated: true };
    if (rows.length < PAGE) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

/** The head row; undefined before the schema exists. */
async function readHeadRow(db: PostgresDatabase): Promise<AuditHead | undefined> {
  const { rows } = await db.pool.query<{ seq: string; hash: string }>(
    'SELECT seq, hash FROM millwright_audit_head WHERE id = 1',
  );
  return rows[0] === undefined ? undefined : { seq: Number(rows[0].seq), hash: rows[0].hash };
}

/**
 * The head row, checked against the record it names: the two change in one transaction, so a head
 * whose record is missing or different means rows were deleted or edited. (Reading "the newest
 * record" instead would race with another replica's append.)
 */
async function readConsistentHead(db: PostgresDatabase): Promise<AuditHead> {
  const where = `the audit trail in PostgreSQL at ${db.name}`;
  let head: AuditHead | undefined;
  let atHead: AuditRecord | undefined;
  try {
    head = await readHeadRow(db);
    atHead = await recordAt(db, head?.seq);
  } catch (error) {
    throw unavailable(db.unavailable(error).message, error);
  }
  if (head === undefined) throw broken(`${where} has no head row`);
  if (head.seq === 0) return { seq: 0, hash: GENESIS_HASH };
  if (atHead === undefined) {
    throw broken(`${where}: its head row says seq ${head.seq}, which is missing (records were deleted)`);
  }
  if (atHead.hash !== head.hash) throw broken(`${where}: seq ${head.seq} does not match the head row`);
  return head;
}

async function recordAt(db: PostgresDatabase, seq: number | undefined): Promise<AuditRecord | undefined> {
  if (seq === undefined || seq <= 0) return undefined;
  const { rows } = await db.pool.query<{ line: string }>('SELECT line FROM millwright_audit WHERE seq = $1', [
    seq,
  ]);
  return rows[0] === undefined ? undefined : parseAuditLine(rows[0].line);
}

function broken(message: string): MillwrightError {
  return new MillwrightError(ErrorCode.AuditBroken, `${message}; run \`millwright audit verify\``, {
    hint: 'find the first bad record with `millwright audit verify`, then restore the database from backup; Millwright will not append to a broken trail',
  });
}

function unavailable(message: string, cause?: unknown): MillwrightError {
  return new MillwrightError(ErrorCode.AuditUnavailable, message, {
    hint: 'check that PostgreSQL is reachable (store.url), then try again',
    cause,
  });
}
