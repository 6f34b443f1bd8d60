// Acknowledgement latency of 200 concurrent signed slash commands: Millwright (`serve`, Slack mounted)
// over a bare Bolt app that only acks, p50 and p99, alternating rounds in one run. Target: <= 1.25.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CONCURRENT = 200;
const ROUNDS = 15;
const SECRET = 'bench-signing-secret-0123456789ab';
const HERE = fileURLToPath(import.meta.url);

const role = process.argv[2] === '--serve' ? process.argv[3] : undefined;
if (role === 'bare') await serveBare();
else if (role === 'millwright') await serveMillwright(process.argv[4]!);
else await measure();

/** A Bolt app with nothing but an ack, on the same receiver Millwright uses. */
async function serveBare(): Promise<void> {
  const { App, ExpressReceiver, LogLevel } = await import('@slack/bolt');
  const receiver = new ExpressReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
  const app = new App({
    receiver,
    token: 'xoxb-bench',
    botId: 'B0BENCH',
    botUserId: 'U0BENCH',
    logLevel: LogLevel.ERROR,
  });
  app.command('/sre', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as import('node:http').Server;
  const address = server.address() as import('node:net').AddressInfo;
  console.log(JSON.stringify({ port: address.port }));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Millwright as `millwright serve` runs it, with Slack pointed at the bench's Web API double. */
async function serveMillwright(apiUrl: string): Promise<void> {
  const { loadConfig } = await import('../src/app.js');
  const { createLogger } = await import('../src/core/index.js');
  const { startServer } = await import('../src/main.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'millwright-bench-slack-'));
  const file = path.join(dir, 'millwright.yml');
  writeFileSync(
    file,
    [
      'server:\n  host: 127.0.0.1\n  port: 0',
      'store:\n  path: ./data',
      `slack:\n  botToken: xoxb-0001-millwright-test\n  signingSecret: ${SECRET}\n  apiUrl: ${apiUrl}\n  stillWorkingAfter: 0s`,
      'access:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [help, whoami] }\n  subjects: {}',
    ].join('\n'),
  );
  const running = await startServer(await loadConfig(file, { env: {} }), {
    logger: createLogger({ level: 'error' }),
  });
  console.log(JSON.stringify({ port: running.port }));
  await running.stopped;
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

async function measure(): Promise<void> {
  const { SlackApiDouble } = await import('../test/doubles/slack-api.js');
  const slack = await SlackApiDouble.start();
  const bare = await start(['bare']);
  const millwright = await start(['millwright', slack.apiUrl]);
  // Per round and server: that round's p50 and p99.
  const rounds: Record<'bare' | 'millwright', Array<{ p50: number; p99: number }>> = {
    bare: [],
    millwright: [],
  };
  try {
    for (let round = -1; round < ROUNDS; round++) {
      const order = [
        ['bare', bare],
        ['millwright', millwright],
      ] as const;
      // Alternate which goes first, so neither always runs on a machine still busy with the other.
      for (const [name, server] of round % 2 === 0 ? order : [...order].reverse()) {
        const before = slack.responsePosts.length;
        const latencies = await burst(server.port, slack);
        if (name === 'millwright') await slack.waitForResponses(before + CONCURRENT, 60_000);
        // Round -1 warms up both servers and is not counted.
        if (round >= 0)
          rounds[name].push({ p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) });
      }
    }
  } finally {
    for (const server of [bare, millwright]) server.child.kill('SIGTERM');
    await Promise.all([bare, millwright].map((server) => exited(server.child)));
    await slack.close();
  }
  // The median round, so one round disturbed by the machine does not decide the result.
  const stats = (per: Array<{ p50: number; p99: number }>) => ({
    p50: percentile(
      per.map((r) => r.p50),
      0.5,
    ),
    p99: percentile(
      per.map((r) => r.p99),
      0.5,
    ),
  });
  const b = stats(rounds.bare);
  const m = stats(rounds.millwright);
  console.log(
    `slack-ack: millwright / bare Bolt ack latency, p50 = ${(m.p50 / b.p50).toFixed(2)}, p99 = ${(m.p99 / b.p99).toFixed(2)} ` +
      `(target <= 1.25; p50 ${m.p50.toFixed(1)} / ${b.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} / ${b.p99.toFixed(1)} ms; ` +
      `median of ${ROUNDS} rounds of ${CONCURRENT} concurrent signed slash commands each)`,
  );
}

async function start(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HERE, '--serve', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${args[0]} server exited early (${code})`)));
  });
  return { child, port };
}

/** Fires CONCURRENT signed slash commands at once; resolves with each one's time to the acknowledgement. */
async function burst(port: number, slack: { responseUrl(): string; triggerId(): string }): Promise<number[]> {
  const agent = new Agent({ keepAlive: false, maxSockets: CONCURRENT });
  const timestamp = Math.floor(Date.now() / 1000);
  const bodies = Array.from({ length: CONCURRENT }, (_, i) =>
    new URLSearchParams({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: 'T0001',
      team_domain: 'example',
      channel_id: 'C2147483705',
      channel_name: 'test',
      user_id: `U${String(i).padStart(8, '0')}`,
      user_name: `sre${i}`,
      command: '/sre',
      text: 'whoami',
      response_url: slack.responseUrl(),
      trigger_id: `${timestamp}.${i}.${randomBytes(8).toString('hex')}`,
      api_app_id: 'A123456',
    }).toString(),
  );
  try {
    return await Promise.all(bodies.map((body) => acknowledge(port, body, timestamp, agent)));
  } finally {
    agent.destroy();
  }
}

function acknowledge(port: number, body: string, timestamp: number, agent: Agent): Promise<number> {
  const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/slack/events',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-signature': signature,
          'x-slack-request-timestamp': String(timestamp),
        },
      },
      (res) => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        res.resume();
        res.once('end', () =>
          res.statusCode === 200 ? resolve(ms) : reject(new Error(`ack was ${res.statusCode}`)),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}
