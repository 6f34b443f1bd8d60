// Several `millwright serve` processes on one config (one PostgreSQL database), and a Slack client that
// sends them signed requests round robin, as Slack does through a load balancer in front of replicas.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SlackApiDouble } from '../doubles/slack-api.js';
import { slackClickPayload } from './click-drivers.js';
import { BIN, ROOT } from './spawn.js';

export interface Replica {
  readonly index: number;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** What it printed so far (stdout and stderr), for a failure message. */
  output(): string;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `count` `millwright serve` processes in `dir` on `millwright.yml` there, each on its own port,
 * and resolves once every one of them listens.
 *
 * @example
 * const replicas = await startReplicas(dir, 3, { DATABASE_URL: url });
 * await stopReplicas(replicas);
 */
export async function startReplicas(dir: string, count: number, env: NodeJS.ProcessEnv): Promise<Replica[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => startReplica(dir, index, env)));
}

export function startReplica(dir: string, index: number, env: NodeJS.ProcessEnv): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', path.join(dir, 'millwright.yml')], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replica ${index} did not start within 90 s:\n${printed.slice(-3000)}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      printed += chunk.toString('utf8');
      const port = /millwright listening on [^:\s]+:(\d+)/.exec(printed)?.[1];
      if (port === undefined || child.pid === undefined) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.on('data', (more: Buffer) => {
        printed += more.toString('utf8');
      });
      resolve({
        index,
        child,
        pid: child.pid,
        url: `http://127.0.0.1:${port}`,
        output: () => printed,
        exited,
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`replica ${index} exited (${code}) before listening:\n${printed.slice(0, 3000)}`));
    });
  });
}

/** SIGTERM to every replica still running; waits for them to exit. */
export async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(async (replica) => {
      if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGTERM');
      const late = setTimeout(() => replica.child.kill('SIGKILL'), 20_000);
      await replica.exited;
      clearTimeout(late);
    }),
  );
}

const SLASH_FIXTURE = readFileSync(
  path.join(ROOT, 'test', 'fixtures', 'slack', 'slash-command.txt'),
  'utf8',
).trim();

/** Slack's signing: `v0=` HMAC-SHA256 of `v0:timestamp:body` with the app's signing secret. */
export function signed(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  // A request signed at the same second with the same body is the same request (a replay).
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

/**
 * Signed Slack requests (slash commands, button clicks, events) to the replicas' `/slack/events`, the
 * same shapes as Slack's published examples, with response_urls on the Slack double.
 */
export class SignedSlack {
  #next = 0;

  constructor(
    private readonly slack: SlackApiDouble,
    private readonly secret: string,
    private readonly replicas: () => readonly Replica[],
  ) {}

  /** The next live replica, round robin. */
  next(): Replica {
    const live = this.replicas().filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    if (live.length === 0) throw new Error('no replica is running');
    return live[this.#next++ % live.length]!;
  }

  async post(
    replica: Replica,
    body: string,
    contentType: string,
    headers: Record<string, string> = {},
    timestamp?: number,
  ) {
    const response = await fetch(`${replica.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...signed(body, this.secret, timestamp), ...headers },
      body,
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** `/sre TEXT` from `user` in `channel`; resolves with the acknowledgement's status and the response_url. */
  async slash(replica: Replica, text: string, user: string, channel: string) {
    const { body, responseUrl } = this.slashBody(text, user, channel);
    const status = await this.post(replica, body, 'application/x-www-form-urlencoded');
    return { status, responseUrl };
  }

  /**
   * The body of `/sre TEXT` from `user` in `channel`, with a fresh response_url and trigger_id on the
   * Slack double, and its signing headers (signed now), to send later as it is.
   */
  signedSlash(text: string, user: string, channel: string) {
    const { body, responseUrl } = this.slashBody(text, user, channel);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signed(body, this.secret) };
    return { body, headers, responseUrl };
  }

  private slashBody(text: string, user: string, channel: string) {
    const params = new URLSearchParams(SLASH_FIXTURE);
    const responseUrl = this.slack.responseUrl('commands');
    params.set('command', '/sre');
    params.set('text', text);
    params.set('user_id', user);
    params.set('user_name', user.toLowerCase());
    params.set('channel_id', channel);
    params.set('team_id', 'T0001');
    params.set('response_url', responseUrl);
    params.set('trigger_id', this.slack.triggerId());
    return { body: params.toString(), responseUrl };
  }

  /** A click on a Millwright button carrying `token`, by `user` in `channel`. */
  async click(replica: Replica, token: string, user: string, channel: string) {
    const responseUrl = this.slack.responseUrl('actions');
    const payload = {
      ...slackClickPayload({
        token,
        user,
        channel,
        responseUrl,
        triggerId: this.slack.triggerId(),
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
      team: { id: 'T0001', domain: 'example' },
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const status = await this.post(replica, body, 'application/x-www-form-urlencoded');
    return { status, responseUrl };
  }

  /**
   * An Events API delivery signed at `timestamp` (now by default); `retryNum` adds Slack's retry
   * headers, as a redelivery carries them.
   */
  event(replica: Replica, body: unknown, options: { retryNum?: number; timestamp?: number } = {}) {
    return this.post(
      replica,
      JSON.stringify(body),
      'application/json',
      options.retryNum === undefined
        ? {}
        : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' },
      options.timestamp,
    );
  }
}

/** The buttons in a Slack message's blocks: action_id, value (the signed token) and label. */
export function buttonsOf(blocks: unknown): Array<{ actionId: string; value: string; text: string }> {
  const found: Array<{ actionId: string; value: string; text: string }> = [];
  for (const block of Array.isArray(blocks) ? blocks : []) {
    const elements = (block as { elements?: unknown[] }).elements ?? [];
    for (const element of elements) {
      const button = element as {
        type?: string;
        action_id?: string;
        value?: string;
        text?: { text?: string };
      };
      if (button.type === 'button' && button.action_id && button.value)
        found.push({ actionId: button.action_id, value: button.value, text: button.text?.text ?? '' });
    }
  }
  return found;
}
