// A real Millwright runtime and HTTP server with the Slack adapter mounted, a Slack Web API double,
// and helpers that sign requests the way Slack does (v0:{timestamp}:{body}, HMAC-SHA256).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlackAdapter, type SlackAdapterOptions } from '../../../adapters/slack/index.js';
import { loadConfig } from '../../../src/app.js';
import {
  type Clock,
  type CommandDefinition,
  defineCommand,
  type Router,
  reply,
  silentLogger,
  text,
} from '../../../src/core/index.js';
import type { Logger } from '../../../src/core/logger.js';
import { buildRuntime, createRouter, type Runtime } from '../../../src/main.js';
import { createMetrics, HttpServer } from '../../../src/server/index.js';
import { SlackApiDouble } from '../../doubles/slack-api.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/slack');

export const SIGNING_SECRET = 'e0c5d3a4b1f2968877aa55cc33dd11ff';

export const ADMIN_ACCESS = `
access:
  defaultRoles: [admin]
  roles:
    admin: { allow: ['*'] }
  subjects: {}
`;

/** A test-only command that answers at once: `status` says all is well. */
export const STATUS_COMMAND = defineCommand({
  name: 'status',
  summary: 'says all is well',
  examples: ['status'],
  handler: () => reply(text('all services healthy')),
});

/** A fixture from test/fixtures/slack, parsed. */
export function fixture<T = Record<string, unknown>>(name: string): T {
  const text = readFileSync(path.join(FIXTURES, name), 'utf8');
  return (name.endsWith('.json') ? JSON.parse(text) : text.trim()) as T;
}

/** A clock on real time (Bolt checks timestamps against Date.now) that tests can move. */
export function movableClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    shift: (ms) => {
      offset += ms;
    },
  };
}

/** Slack's request signature headers for `body` at `timestamp` (epoch seconds). */
export function slackSignature(
  body: string,
  timestamp: number,
  secret = SIGNING_SECRET,
): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SlackHarness {
  slack: SlackApiDouble;
  runtime: Runtime;
  router: Router;
  server: HttpServer;
  adapter: SlackAdapter;
  clock: ReturnType<typeof movableClock>;
  /** http://127.0.0.1:PORT/slack/events */
  eventsUrl: string;
  /** Registers a test-only command. */
  register(definition: CommandDefinition): void;
  /** Posts a body to /slack/events, signed now unless told otherwise. */
  post(
    body: string,
    options?: { contentType?: string; timestamp?: number; headers?: Record<string, string>; sign?: boolean },
  ): Promise<Response>;
  /** A slash command body shaped like Slack's example, with a response_url and trigger_id on the double. */
  slashCommand(
    text: string,
    overrides?: Record<string, string>,
  ): { body: string; responseUrl: string; triggerId: string };
  /** Sends a slash command; resolves with Slack's view of the acknowledgement. */
  sendSlash(
    text: string,
    overrides?: Record<string, string>,
  ): Promise<{ response: Response; responseUrl: string; triggerId: string }>;
  /** Sends an interaction payload (block_actions, view_submission) the way Slack does: form-encoded `payload=`. */
  sendInteraction(payload: unknown): Promise<Response>;
  /** Sends an Events API body as JSON. */
  sendEvent(body: unknown, headers?: Record<string, string>): Promise<Response>;
  nowSeconds(): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  access?: string;
  /** More top-level config (services, runbooks ...), appended as written. */
  extraConfig?: string;
  /** Extra lines inside the `slack:` section. */
  slackConfig?: string;
  routerTimeoutMs?: number;
  logger?: Logger;
  adapter?: Partial<SlackAdapterOptions>;
}

export async function startSlackHarness(options: HarnessOptions = {}): Promise<SlackHarness> {
  const slack = await SlackApiDouble.start();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slack-'));
  const file = path.join(dir, 'millwright.yml');
  await writeFile(
    file,
    [
      'store:',
      '  path: ./data',
      'slack:',
      `  botToken: ${slack.botToken}`,
      `  signingSecret: ${SIGNING_SECRET}`,
      `  apiUrl: ${slack.apiUrl}`,
      ...(options.slackConfig?.includes('stillWorkingAfter') ? [] : ['  stillWorkingAfter: 0s']),
      ...(options.slackConfig ? options.slackConfig.split('\n').map((line) => `  ${line}`) : []),
      options.access ?? ADMIN_ACCESS,
      options.extraConfig ?? '',
    ].join('\n'),
  );
  const clock = movableClock();
  const logger = options.logger ?? silentLogger();
  let runtime: Runtime;
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(file, { env: {} });
    runtime = await buildRuntime(loaded, { logger, clock });
  } catch (error) {
    await slack.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const server = new HttpServer({ port: 0, host: '127.0.0.1', logger, metrics: createMetrics() });
  const router = createRouter(runtime, {
    track: (work) => server.track(work),
    ...(options.routerTimeoutMs ? { timeoutMs: options.routerTimeoutMs } : {}),
  });
  const adapter = new SlackAdapter({
    config: loaded.config.slack!,
    handle: (request) => router.handle(request),
    services: runtime.services,
    clock,
    logger,
    track: (work) => server.track(work),
    ...options.adapter,
  });
  adapter.mount(server);
  await adapter.start();
  runtime.services.notices.register(adapter);
  const { port } = await server.listen();
  const eventsUrl = `http://127.0.0.1:${port}/slack/events`;
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  const post: SlackHarness['post'] = (body, postOptions = {}) => {
    const timestamp = postOptions.timestamp ?? nowSeconds();
    return fetch(eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': postOptions.contentType ?? 'application/x-www-form-urlencoded',
        ...(postOptions.sign === false ? {} : slackSignature(body, timestamp)),
        ...postOptions.headers,
      },
      body,
    });
  };
  const slashCommand: SlackHarness['slashCommand'] = (text, overrides = {}) => {
    const params = new URLSearchParams(fixture('slash-command.txt'));
    const responseUrl = slack.responseUrl('commands');
    const triggerId = slack.triggerId();
    params.set('command', '/sre');
    params.set('text', text);
    params.set('response_url', responseUrl);
    params.set('trigger_id', triggerId);
    for (const [key, value] of Object.entries(overrides)) params.set(key, value);
    return { body: params.toString(), responseUrl, triggerId };
  };
  return {
    slack,
    runtime,
    router,
    server,
    adapter,
    clock,
    eventsUrl,
    register: (definition) => runtime.services.registry.register(definition),
    post,
    slashCommand,
    sendSlash: async (text, overrides) => {
      const command = slashCommand(text, overrides);
      return { response: await post(command.body), ...command };
    },
    sendInteraction: (payload) => post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString()),
    sendEvent: (body, headers = {}) =>
      post(JSON.stringify(body), { contentType: 'application/json', headers }),
    nowSeconds,
    close: async () => {
      await server.close({ graceMs: 5_000 });
      await adapter.stop();
      await runtime.close();
      await slack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The text of every mrkdwn/plain_text object in some blocks, joined: what a person reads. */
export function visibleText(blocks: unknown): string {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      if ((object.type === 'mrkdwn' || object.type === 'plain_text') && typeof object.text === 'string') {
        out.push(object.text);
        return;
      }
      for (const [key, child] of Object.entries(object)) if (key !== 'value') walk(child);
    }
  };
  walk(blocks);
  return out.join('\n');
}
