// Acknowledgement latency of 200 concurrent signed Slack requests of each kind (slash command, event,
// button click, modal submission, options request): Millwright (`serve`, Slack mounted) over a bare Bolt
// app that only acks, p50 and p99 per kind: the median over rounds of each round's ratio. Target: <= 1.25
// for every kind.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error bin/ is CommonJS without types
import { buildIsFresh } from '../bin/bundle.js';

const CONCURRENT = 200;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const SECRET = 'bench-signing-secret-0123456789ab';
const ACTION_SECRET = 'bench-action-secret-0123456789abcdef';
const CHANNEL = 'C2147483705';
const KINDS = ['slash', 'event', 'button', 'modal', 'options'] as const;
type Kind = (typeof KINDS)[number];
const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), '..');
const BIN = path.join(ROOT, 'bin', 'millwright.js');

const role = process.argv[2] === '--serve' ? process.argv[3] : undefined;
if (role === 'bare') await serveBare();
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
  app.event('app_mention', async () => {});
  app.action({ action_id: /^mw\./ }, async ({ ack }) => {
    await ack();
  });
  app.view('mw.form', async ({ ack }) => {
    await ack();
  });
  app.options(/.*/, async ({ ack }) => {
    await ack({ options: [] });
  });
  const server = (await app.start(0)) as import('node:http').Server;
  const address = server.address() as import('node:net').AddressInfo;
  console.log(JSON.stringify({ port: address.port }));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** The configuration `millwright serve` runs on, with Slack pointed at the bench's Web API double. */
function millwrightConfig(dir: string, apiUrl: string): string {
  const file = path.join(dir, 'millwright.yml');
  writeFileSync(
    file,
    [
      'server:\n  host: 127.0.0.1\n  port: 0',
      'store:\n  path: ./data',
      'log:\n  level: error',
      `slack:\n  botToken: xoxb-0001-millwright-test\n  signingSecret: ${SECRET}\n  apiUrl: ${apiUrl}\n  stillWorkingAfter: 0s`,
      `security:\n  actionSecret: ${ACTION_SECRET}`,
      'access:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [help, whoami] }\n  subjects: {}',
    ].join('\n'),
  );
  return file;
}

async function measure(): Promise<void> {
  const { SlackApiDouble } = await import('../test/doubles/slack-api.js');
  const slack = await SlackApiDouble.start();
  // Millwright as users run it: the real entry point, which runs the single-file build when it is
  // fresh (`npm run bench` builds first) and the TypeScript sources otherwise.
  const fresh = (await buildIsFresh(ROOT, path.join(ROOT, 'dist'))) === true;
  if (!fresh)
    console.log(
      'slack-ack: the build is stale, so Millwright runs from its sources (run `npm run build` first)',
    );
  // Each kind is measured on servers started for it, with an empty store: what one kind leaves in the
  // store (replay records, spent tokens) must not weigh on the next kind's numbers.
  const servers = async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'millwright-bench-slack-'));
    const bare = await start([HERE, '--serve', 'bare'], /^\{"port":(\d+)\}/m);
    const millwright = await start(
      [BIN, 'serve', '--config', millwrightConfig(dir, slack.apiUrl)],
      /millwright listening on [^:\s]+:(\d+)/,
      dir,
    );
    const stop = async () => {
      for (const server of [bare, millwright]) server.child.kill('SIGTERM');
      await Promise.all([bare, millwright].map((server) => exited(server.child)));
      rmSync(dir, { recursive: true, force: true });
    };
    return { bare, millwright, stop };
  };
  const { ActionSigner } = await import('../src/core/action-token.js');
  const signer = new ActionSigner(ACTION_SECRET, 3600, () => new Date());
  // One message's button clicked by many people (the first runs it, the others are told it was used),
  // and many modals, each opened from its own button and so carrying its own token.
  const shared = signer.sign({ command: 'whoami', channel: CHANNEL });
  const token = (kind: Kind) =>
    kind === 'modal' ? signer.sign({ command: 'whoami', channel: CHANNEL }) : shared;
  const lines: string[] = [];
  let stopServers: (() => Promise<void>) | undefined;
  try {
    // BENCH_KINDS=event,modal measures only those kinds.
    const only = process.env.BENCH_KINDS?.split(',');
    for (const kind of KINDS.filter((k) => !only || only.includes(k))) {
      const { bare, millwright, stop } = await servers();
      stopServers = stop;
      // Per round and server: that round's p50 and p99.
      const rounds: Record<'bare' | 'millwright', Array<{ p50: number; p99: number }>> = {
        bare: [],
        millwright: [],
      };
      for (let round = -1; round < ROUNDS; round++) {
        const order = [
          ['bare', bare],
          ['millwright', millwright],
        ] as const;
        // Alternate which goes first, so neither always runs on a machine still busy with the other.
        for (const [name, server] of round % 2 === 0 ? order : [...order].reverse()) {
          const before = slack.calls.length + slack.responsePosts.length;
          const latencies = await burst(server.port, kind, token, slack);
          // Let Millwright's answers after the acks drain before the next burst, so neither server's
          // next burst shares the machine with them.
          // An options request is answered in its acknowledgement: nothing follows it.
          if (name === 'millwright' && kind !== 'options') await quiet(slack, before);
          await settled(server.child);
          // Round -1 warms up both servers and is not counted.
          if (round >= 0)
            rounds[name].push({ p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) });
        }
      }
      await stop();
      stopServers = undefined;
      // Each round's two bursts ran back to back on the same machine, so their ratio cancels whatever
      // load the machine had in that round; the median ratio over the rounds is the result, so a round
      // a neighbour disturbed does not decide it. The medians of the absolute times are shown beside it.
      const ratio = (key: 'p50' | 'p99') =>
        percentile(
          rounds.millwright.map((m, i) => m[key] / rounds.bare[i]![key]),
          0.5,
        );
      const median = (server: 'bare' | 'millwright', key: 'p50' | 'p99') =>
        percentile(
          rounds[server].map((r) => r[key]),
          0.5,
        ).toFixed(1);
      lines.push(
        `slack-ack ${kind}: millwright / bare Bolt ack latency, p50 = ${ratio('p50').toFixed(2)}, p99 = ${ratio('p99').toFixed(2)} ` +
          `(target <= 1.25; median of ${ROUNDS} paired rounds of ${CONCURRENT} concurrent signed requests each; ` +
          `median p50 ${median('millwright', 'p50')} / ${median('bare', 'p50')} ms, p99 ${median('millwright', 'p99')} / ${median('bare', 'p99')} ms)`,
      );
    }
  } finally {
    await stopServers?.();
    await slack.close();
  }
  for (const line of lines) console.log(line);
}

/**
 * Resolves once Millwright has answered every request of the burst (each kind answers each request
 * once: a response_url post or a Web API call) and the Slack double then heard nothing for 300 ms;
 * at most 30 s. `before` is what the double had heard when the burst began.
 */
async function quiet(slack: { calls: unknown[]; responsePosts: unknown[] }, before: number): Promise<void> {
  const heard = () => slack.calls.length + slack.responsePosts.length;
  const until = Date.now() + 30_000;
  let last = -1;
  while (Date.now() < until) {
    const now = heard();
    if (now === last && now - before >= CONCURRENT) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  console.log(`slack-ack: Millwright answered ${heard() - before} of ${CONCURRENT} requests within 30 s`);
}

/**
 * Resolves once the server process has used almost no CPU for 300 ms (at most 30 s): the work a
 * burst leaves behind after its answers (bookkeeping writes, collection) is done before the next.
 */
async function settled(child: ChildProcess): Promise<void> {
  const cpu = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const until = Date.now() + 30_000;
  let last = cpu();
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = cpu();
    if (now - last <= 1) return;
    last = now;
  }
}

async function start(
  args: string[],
  listening: RegExp,
  cwd?: string,
): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_PROFILE=DIR writes a CPU profile of each server there, to see where an ack's time goes.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  const loader = args[0] === HERE ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...profile, ...loader, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(cwd ? { cwd } : {}),
  });
  let printed = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      printed += chunk.toString('utf8');
      const found = listening.exec(printed)?.[1];
      if (found === undefined) return;
      // Keep draining what the server prints, so a full pipe never blocks it.
      child.stdout!.off('data', onData).on('data', () => {});
      resolve(Number(found));
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited early (${code}):\n${printed}`)));
  });
  return { child, port };
}

/** Fires CONCURRENT signed requests of one kind at once; resolves with each one's time to the acknowledgement. */
async function burst(
  port: number,
  kind: Kind,
  token: (kind: Kind) => string,
  slack: { responseUrl(): string; triggerId(): string },
): Promise<number[]> {
  const agent = new Agent({ keepAlive: false, maxSockets: CONCURRENT });
  const timestamp = Math.floor(Date.now() / 1000);
  const bodies = Array.from({ length: CONCURRENT }, (_, i) =>
    requestBody(kind, i, timestamp, token(kind), slack),
  );
  try {
    return await Promise.all(bodies.map((body) => acknowledge(port, body, timestamp, agent)));
  } finally {
    agent.destroy();
  }
}

/** One request of a kind, shaped like Slack's published examples; each differs, so none is a replay. */
function requestBody(
  kind: Kind,
  i: number,
  timestamp: number,
  token: string,
  slack: { responseUrl(): string },
): { body: string; type: string } {
  const user = `U${String(i).padStart(8, '0')}`;
  const nonce = `${timestamp}.${i}.${randomBytes(8).toString('hex')}`;
  const form = (payload: unknown) => ({
    body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
    type: 'application/x-www-form-urlencoded',
  });
  if (kind === 'slash') {
    return {
      body: new URLSearchParams({
        token: 'gIkuvaNzQIHg97ATvDxqgjtO',
        team_id: 'T0001',
        team_domain: 'example',
        channel_id: CHANNEL,
        channel_name: 'test',
        user_id: user,
        user_name: `sre${i}`,
        command: '/sre',
        text: 'whoami',
        response_url: slack.responseUrl(),
        trigger_id: nonce,
        api_app_id: 'A123456',
      }).toString(),
      type: 'application/x-www-form-urlencoded',
    };
  }
  if (kind === 'event') {
    return {
      body: JSON.stringify({
        token: 'gIkuvaNzQIHg97ATvDxqgjtO',
        team_id: 'T0001',
        api_app_id: 'A123456',
        type: 'event_callback',
        event_id: `Ev${nonce.replace(/\W/g, '')}`,
        event_time: timestamp,
        event: {
          type: 'app_mention',
          user,
          text: '<@U0BOT> whoami',
          ts: `${timestamp}.${String(i).padStart(6, '0')}`,
          channel: CHANNEL,
          event_ts: `${timestamp}.${String(i).padStart(6, '0')}`,
        },
      }),
      type: 'application/json',
    };
  }
  const who = { id: user, username: `sre${i}`, name: `sre${i}`, team_id: 'T0001' };
  if (kind === 'options') {
    return form({
      type: 'block_suggestion',
      user: who,
      container: { type: 'view', view_id: `V${i}` },
      api_app_id: 'A123456',
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      action_id: 'mw.value',
      block_id: 'field.service',
      value: nonce,
      team: { id: 'T0001', domain: 'example' },
    });
  }
  if (kind === 'button') {
    return form({
      type: 'block_actions',
      team: { id: 'T0001', domain: 'example' },
      user: who,
      api_app_id: 'A123456',
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      channel: { id: CHANNEL, name: 'test' },
      container: {
        type: 'message',
        message_ts: '1548261231.000200',
        channel_id: CHANNEL,
        is_ephemeral: true,
      },
      trigger_id: nonce,
      response_url: slack.responseUrl(),
      actions: [
        {
          action_id: 'mw.go',
          block_id: 'b1',
          text: { type: 'plain_text', text: 'Go' },
          value: token,
          type: 'button',
          action_ts: `${timestamp}.000100`,
        },
      ],
    });
  }
  return form({
    type: 'view_submission',
    team: { id: 'T0001', domain: 'example' },
    user: who,
    api_app_id: 'A123456',
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    trigger_id: nonce,
    view: {
      id: `V${i}`,
      type: 'modal',
      callback_id: 'mw.form',
      private_metadata: JSON.stringify({ c: CHANNEL, t: token, r: slack.responseUrl(), rk: 'interaction' }),
      blocks: [],
      state: { values: {} },
      hash: nonce,
    },
  });
}

function acknowledge(
  port: number,
  { body, type }: { body: string; type: string },
  timestamp: number,
  agent: Agent,
): Promise<number> {
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
          'content-type': type,
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
