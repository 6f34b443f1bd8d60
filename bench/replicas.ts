// Replicas on PostgreSQL: (1) acknowledged and answered slash commands per second of 3 `serve`
// replicas over 1 replica, both on one throwaway PostgreSQL (fsync on), driven round robin by signed
// Slack requests (target >= 1.5), with the CPU per command of the replicas, PostgreSQL and this driver;
// (2) the audit append cost in PostgreSQL at 100,000 records over 1,000 (target <= 1.5). Run with
// `node --import tsx bench/replicas.ts`; needs Debian's postgresql package.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { insertRecords, PostgresAuditLog } from '../src/audit/postgres-audit-log.js';
import { migrate } from '../src/store/migrations.js';
import { PostgresDatabase } from '../src/store/postgres-database.js';
import { SlackApiDouble } from '../test/doubles/slack-api.js';
import { postgresMissing, postgresStoreConfig, startPostgres } from '../test/helpers/postgres.js';
import { SignedSlack, startReplicas, stopReplicas } from '../test/helpers/replicas.js';
import { chainedRecords, BENCH_KEY as KEY, timedAppends } from './lib/audit-records.js';
import { type CpuSplit, cpuAccounting } from './lib/cpu-accounting.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 600);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 24);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SECRET = 'bench-replicas-signing-secret-01';
const SMALL = 1_000;
const LARGE = 100_000;
const APPENDS = 500;

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`replicas: skipped, ${missing}`);
  process.exit(0);
}

// Durable as in production: every acknowledged command's audit record is flushed to disk.
const postgres = await startPostgres({ durable: true });
const slack = await SlackApiDouble.start();
const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-bench-replicas-'));
try {
  const perSecond = { one: 0, three: 0 };
  // Alternating rounds, each on a fresh database, keep drift in machine load off one side only.
  for (let round = 0; round < ROUNDS; round++) {
    perSecond.one += await commandsPerSecond(1);
    perSecond.three += await commandsPerSecond(3);
  }
  console.log(
    `replicas: acknowledged commands per second, 3 replicas / 1 replica on PostgreSQL = ${(perSecond.three / perSecond.one).toFixed(2)} ` +
      `(${(perSecond.three / ROUNDS).toFixed(0)}/s over ${(perSecond.one / ROUNDS).toFixed(0)}/s; target >= 1.5)`,
  );
  const ratio = await auditAppendRatio();
  console.log(
    `replicas: audit append cost in PostgreSQL at ${LARGE} records / at ${SMALL} records = ${ratio.toFixed(2)} (target <= 1.5)`,
  );
} finally {
  await slack.close();
  await postgres.close();
  await rm(dir, { recursive: true, force: true });
}

/** `count` replicas on a new database: slash commands answered per second, after a warm-up. */
async function commandsPerSecond(count: number): Promise<number> {
  const url = await postgres.createDatabase();
  const home = path.join(dir, `r${count}-${Date.now()}`);
  await mkdir(path.join(home, 'data'), { recursive: true });
  await writeFile(
    path.join(home, 'millwright.yml'),
    `server: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, path: ./data, url: "${url}", migrate: onStart }
slack:
  botToken: ${slack.botToken}
  signingSecret: ${SECRET}
  apiUrl: ${slack.apiUrl}
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [whoami, help, change.list] }
`,
  );
  const replicas = await startReplicas(home, count, {});
  // Keep-alive connections, as Slack's own senders hold them, so the driver spends its CPU on the
  // requests and not on opening a socket for each.
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  try {
    const client = new SignedSlack(slack, SECRET, () => replicas);
    const burst = async (n: number) => {
      // Built and signed before the clock starts: the driver's own work is not what is measured.
      const requests = Array.from({ length: n }, (_, i) => ({
        replica: client.next(),
        ...client.signedSlash(i % 3 ? 'whoami' : 'change list', `U${i % 50}`, 'C0BENCH01'),
      }));
      const urls = new Set<string>();
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < n) {
            const request = requests[next++]!;
            const status = await send(
              agent,
              `${request.replica.url}/slack/events`,
              request.headers,
              request.body,
            );
            if (status === 200) urls.add(request.responseUrl);
          }
        }),
      );
      // Answered: its reply reached the response_url.
      let answered = 0;
      while (answered < urls.size) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        answered = 0;
        for (const post of slack.responsePosts) if (urls.has(post.url)) answered++;
      }
      return urls.size / ((performance.now() - start) / 1000);
    };
    await burst(60);
    const accounting = cpuAccounting(
      replicas.map((replica) => replica.pid),
      postgres.port,
    );
    const started = performance.now();
    const rate = await burst(COMMANDS);
    const split = accounting?.(COMMANDS, (performance.now() - started) / 1000);
    if (split) console.log(`replicas: ${count} replica(s), ${rate.toFixed(0)}/s: ${describeSplit(split)}`);
    return rate;
  } finally {
    agent.destroy();
    await stopReplicas(replicas);
    slack.responsePosts.length = 0;
  }
}

/** CPU per command by process, and how busy the machine was: what bounds the ratio on a small machine. */
function describeSplit(split: CpuSplit): string {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  return `CPU per command: replicas ${ms(split.replicasMs)}, PostgreSQL ${ms(split.postgresMs)}, driver and Slack double ${ms(split.driverMs)}; machine busy ${split.busyCores.toFixed(2)} of ${os.availableParallelism()} cores`;
}

/** POSTs `body` over `agent`; resolves with the status once the answer has been read. */
function send(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Mean per-append time with 100,000 records in the table over with 1,000, alternating rounds. */
async function auditAppendRatio(): Promise<number> {
  const small = await trailWith(SMALL);
  const large = await trailWith(LARGE);
  try {
    let smallMs = 0;
    let largeMs = 0;
    await timeAppends(small, 20);
    await timeAppends(large, 20);
    for (let round = 0; round < 5; round++) {
      smallMs += await timeAppends(small, APPENDS / 5);
      largeMs += await timeAppends(large, APPENDS / 5);
    }
    return largeMs / smallMs;
  } finally {
    await small.close();
    await large.close();
  }
}

/** A migrated database whose trail already holds `count` validly chained records. */
async function trailWith(count: number): Promise<PostgresDatabase> {
  const db = await PostgresDatabase.open(postgresStoreConfig(await postgres.createDatabase()));
  await migrate(db);
  let batch = [];
  let head = { seq: 0, hash: '' };
  for (const record of chainedRecords(count)) {
    batch.push(record);
    head = { seq: record.seq, hash: record.hash };
    if (batch.length === 1_000) {
      await insertRecords(db.pool, batch);
      batch = [];
    }
  }
  await insertRecords(db.pool, batch);
  await db.pool.query('UPDATE millwright_audit_head SET seq = $1, hash = $2 WHERE id = 1', [
    head.seq,
    head.hash,
  ]);
  await db.pool.query('ANALYZE millwright_audit');
  return db;
}

/** Total ms for `count` sequential, awaited appends. */
async function timeAppends(db: PostgresDatabase, count: number): Promise<number> {
  const audit = await PostgresAuditLog.open(db, {
    sealing: { active: KEY, keys: new Map([[KEY.id, KEY.secret]]) },
  });
  return timedAppends(audit, count);
}
