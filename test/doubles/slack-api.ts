// A local double of Slack's Web API, response_url webhooks, file uploads and the Socket Mode link,
// on 127.0.0.1. It answers like docs.slack.dev's method reference and records every call.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { dropConnection } from './http-body.js';

/** The part of the `ws` package the Socket Mode link uses (its installed typings predate ws 8). */
interface LinkSocket {
  send(data: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
}
interface LinkServer {
  clients: Set<LinkSocket>;
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, done: (ws: LinkSocket) => void): void;
  close(done: () => void): void;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: { noServer: true }) => LinkServer;
};

/** One Web API call as the double saw it; JSON-encoded arguments (blocks, view, files) are decoded. */
export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  /** The token from `Authorization: Bearer` or the `token` argument. */
  token: string | undefined;
  /** HTTP status the double answered with (429 when it rate limited the call; 0 for a reset or a hang). */
  status: number;
  /** What the double answered. */
  response: Record<string, unknown>;
}

/** One POST to a response_url. */
export interface ResponseUrlPost {
  url: string;
  body: Record<string, unknown>;
  status: number;
}

/** A message the bot posted (chat.postMessage) and its current content after chat.update. */
export interface PostedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  updates: number;
  /** Set by pins.add. */
  pinned?: boolean;
}

export interface SlackUserGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

/** A person in the workspace, as users.info describes them. */
export interface SlackUser {
  id: string;
  /** The handle (`ada`). */
  name: string;
  real_name: string;
  /** What Slack shows; may be empty, and then the real name is shown. */
  display_name: string;
}

export interface SlackApiDoubleOptions {
  botToken?: string;
  appToken?: string;
  /** Seconds since the epoch, for message timestamps and response_url expiry; defaults to the wall clock. */
  now?: () => number;
}

type ChannelState = 'member' | 'not_member' | 'missing';
/**
 * How a call fails: a Slack error body (with an HTTP status, a Retry-After), or the connection
 * dropped without an answer (`reset`), or held open until the client gives up (`hang`).
 */
type Failure =
  | { error: string; status?: number; retryAfter?: number; needed?: string }
  | { fault: 'reset' | 'hang' }
  | { outage: number };
/** How a response_url post fails: an HTTP status (a Retry-After with 429), a reset or a hang. */
export type ResponseUrlFault = { status: number; retryAfter?: number } | 'reset' | 'hang';

const BOT = {
  team: 'Millwright Test',
  team_id: 'T0001',
  user: 'millwright',
  user_id: 'U0BOT',
  bot_id: 'B0BOT',
};
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_SECONDS = 30 * 60;
const TRIGGER_SECONDS = 3;

/**
 * The double. Start one per test file, point `slack.apiUrl` at `double.apiUrl`, and give payloads
 * `double.responseUrl()` and `double.triggerId()` so what the bot posts lands here.
 *
 * @example
 * const slack = await SlackApiDouble.start();
 * slack.failNext('chat.postMessage', { error: 'not_in_channel' });
 * const call = await slack.waitForCall('chat.postEphemeral');
 * await slack.close();
 */
export class SlackApiDouble {
  readonly calls: SlackApiCall[] = [];
  /** Channel topics set with conversations.setTopic. */
  readonly topics = new Map<string, string>();
  readonly responsePosts: ResponseUrlPost[] = [];
  readonly messages: PostedMessage[] = [];
  readonly uploads: Array<{
    fileId: string;
    filename: string;
    bytes: number;
    channel?: string;
    title?: string;
  }> = [];
  readonly userGroups: SlackUserGroup[] = [];
  /** The people users.info knows; any other id is user_not_found. */
  readonly users: SlackUser[] = [];
  botToken: string;
  appToken: string;

  readonly #server: Server;
  readonly #sockets: LinkServer;
  readonly #events = new EventEmitter();
  readonly #channels = new Map<string, ChannelState>();
  readonly #failures = new Map<string, Failure[]>();
  readonly #responseUrlFaults: ResponseUrlFault[] = [];
  /** Requests held open by a `hang` fault, ended when the double closes. */
  readonly #hung = new Set<ServerResponse>();
  readonly #responseUrls = new Map<string, { created: number; uses: number }>();
  readonly #triggers = new Map<string, { issued: number; used: boolean }>();
  readonly #pendingUploads = new Map<string, { filename: string; length: number; uploaded: number }>();
  readonly #now: () => number;
  #seq = 0;
  #port = 0;

  private constructor(options: SlackApiDoubleOptions) {
    this.botToken = options.botToken ?? 'xoxb-0001-millwright-test';
    this.appToken = options.appToken ?? 'xapp-1-A0TEST-0001-test';
    this.#now = options.now ?? (() => Date.now() / 1000);
    this.#events.setMaxListeners(0);
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#sockets = new WebSocketServer({ noServer: true });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (!(req.url ?? '').startsWith('/link/')) {
        socket.destroy();
        return;
      }
      this.#sockets.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
    });
  }

  static async start(options: SlackApiDoubleOptions = {}): Promise<SlackApiDouble> {
    const double = new SlackApiDouble(options);
    await new Promise<void>((resolve) => double.#server.listen(0, '127.0.0.1', resolve));
    double.#port = (double.#server.address() as AddressInfo).port;
    return double;
  }

  /** The Web API base, with the trailing `/api/` the WebClient needs. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** A fresh response_url, as Slack puts in slash commands (`commands`) and interactions (`actions`). */
  responseUrl(kind: 'commands' | 'actions' = 'commands'): string {
    const url = `${this.origin}/${kind}/T0001/${++this.#seq}/${randomBytes(12).toString('hex')}`;
    this.#responseUrls.set(new URL(url).pathname, { created: this.#now(), uses: 0 });
    return url;
  }

  /** A fresh trigger_id, valid for 3 seconds and one views.open. */
  triggerId(): string {
    const id = `${Date.now()}.${++this.#seq}.${randomBytes(16).toString('hex')}`;
    this.#triggers.set(id, { issued: this.#now(), used: false });
    return id;
  }

  /** Sets how a channel answers: the bot is a member (default), is not, or the channel does not exist. */
  setChannel(id: string, state: ChannelState): void {
    this.#channels.set(id, state);
  }

  /** Makes the next call(s) of `method` fail with a Slack error body, or a 429 with Retry-After. */
  failNext(method: string, failure: Failure, times = 1): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** Drops every failure set with `failNext`, `rateLimitNext` or `failResponseUrls` and not yet used. */
  clearFailures(): void {
    this.#failures.clear();
    this.#responseUrlFaults.length = 0;
  }

  /** Makes the next `times` response_url posts (any URL) fail: a status, a reset or a hang. */
  failResponseUrls(fault: ResponseUrlFault, times = 1): void {
    for (let i = 0; i < times; i++) this.#responseUrlFaults.push(fault);
  }

  /** Answers the next call(s) of `method` with HTTP 429, `Retry-After` and `{ok:false,error:'ratelimited'}`. */
  rateLimitNext(method: string, retryAfterSeconds: number, times = 1): void {
    this.failNext(method, { error: 'ratelimited', status: 429, retryAfter: retryAfterSeconds }, times);
  }

  /**
   * Answers the next call(s) of `method` as an outage in front of the API does: a 5xx status and an
   * HTML page, no Slack body.
   */
  outageNext(method: string, status = 503, times = 1): void {
    this.failNext(method, { outage: status }, times);
  }

  callsTo(method: string): SlackApiCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Resolves with the first recorded call to `method` matching `match` (now or later). */
  waitForCall(
    method: string,
    match: (call: SlackApiCall) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<SlackApiCall> {
    return this.#waitFor(
      () => this.calls.find((call) => call.method === method && call.status === 200 && match(call)),
      timeoutMs,
      () =>
        `no ${method} call matched; calls so far: ${this.calls.map((c) => c.method).join(', ') || 'none'}`,
    );
  }

  /** Resolves with the first response_url post matching `match` (now or later). */
  waitForResponse(
    match: (post: ResponseUrlPost) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<ResponseUrlPost> {
    return this.#waitFor(
      () => this.responsePosts.find((post) => post.status === 200 && match(post)),
      timeoutMs,
      () =>
        `no response_url post matched; posts so far: ${JSON.stringify(this.responsePosts.map((p) => p.body.text))}`,
    );
  }

  /** Resolves once `count` successful response_url posts have arrived. */
  waitForResponses(count: number, timeoutMs = 10_000): Promise<ResponseUrlPost[]> {
    return this.#waitFor(
      () => {
        const ok = this.responsePosts.filter((post) => post.status === 200);
        return ok.length >= count ? ok : undefined;
      },
      timeoutMs,
      () => `expected ${count} response_url posts, got ${this.responsePosts.length}`,
    );
  }

  /**
   * Sends a Socket Mode envelope to every connected client and resolves with the first ack.
   *
   * @example
   * const ack = await slack.sendEnvelope('slash_commands', commandBody);
   */
  sendEnvelope(
    type: 'slash_commands' | 'events_api' | 'interactive',
    payload: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<{ envelope_id: string; payload?: unknown }> {
    const envelopeId = randomBytes(8).toString('hex');
    const envelope = {
      envelope_id: envelopeId,
      payload,
      type,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
    };
    for (const client of this.#sockets.clients) client.send(JSON.stringify(envelope));
    return this.#waitFor(
      () => this.#acks.get(envelopeId),
      timeoutMs,
      () => `no ack for envelope ${envelopeId} (${this.#sockets.clients.size} socket clients)`,
    );
  }

  /** Resolves once a Socket Mode client has connected and been greeted. */
  waitForSocketClient(timeoutMs = 10_000): Promise<void> {
    return this.#waitFor(
      () => (this.#sockets.clients.size > 0 && this.#greeted ? true : undefined),
      timeoutMs,
      () => 'no Socket Mode client connected',
    ).then(() => undefined);
  }

  async close(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    for (const client of this.#sockets.clients) client.terminate();
    await new Promise<void>((resolve) => this.#sockets.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#events.removeAllListeners();
  }

  readonly #acks = new Map<string, { envelope_id: string; payload?: unknown }>();
  #greeted = false;

  #onSocket(ws: LinkSocket): void {
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'applink-double', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0TEST' },
      }),
    );
    this.#greeted = true;
    this.#events.emit('change');
    ws.on('message', (data) => {
      let message: { envelope_id?: string; payload?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return; // Clients only send acks; anything else is ignored as Slack does.
      }
      if (typeof message.envelope_id === 'string') {
        this.#acks.set(message.envelope_id, message as { envelope_id: string; payload?: unknown });
        this.#events.emit('change');
      }
    });
  }

  #waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found === undefined) return;
        clearTimeout(timer);
        this.#events.off('change', check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#events.off('change', check);
        reject(new Error(`slack double: ${describe()}`));
      }, timeoutMs);
      this.#events.on('change', check);
      check();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const raw = await readAll(req);
    if (req.method !== 'POST') return send(res, 405, { ok: false, error: 'method_not_allowed' });
    if (path.startsWith('/api/')) return this.#api(path.slice('/api/'.length), req, raw, res);
    if (path.startsWith('/upload/v1/'))
      return this.#upload(path.slice('/upload/v1/'.length), fileBytes(req.headers['content-type'], raw), res);
    if (path.startsWith('/commands/') || path.startsWith('/actions/'))
      return this.#responseUrl(path, raw, res, req);
    send(res, 404, { ok: false, error: 'not_found' });
  }

  #api(method: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const args = parseArgs(req.headers['content-type'], raw);
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : (args.token as string | undefined);
    delete args.token;
    const record = (
      status: number,
      response: Record<string, unknown>,
      headers: Record<string, string> = {},
    ) => {
      this.calls.push({ method, args, token, status, response });
      send(res, status, response, headers);
      this.#events.emit('change');
    };
    const failure = this.#failures.get(method)?.shift();
    if (failure && 'fault' in failure) {
      // Recorded with status 0: the request arrived and got no answer.
      this.calls.push({ method, args, token, status: 0, response: {} });
      this.#events.emit('change');
      this.#drop(failure.fault, req, res);
      return;
    }
    if (failure && 'outage' in failure) {
      this.calls.push({ method, args, token, status: failure.outage, response: {} });
      this.#events.emit('change');
      res.writeHead(failure.outage, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>${failure.outage}</h1></body></html>`);
      return;
    }
    if (failure) {
      const body: Record<string, unknown> = { ok: false, error: failure.error };
      if (failure.needed) Object.assign(body, { needed: failure.needed, provided: 'chat:write,commands' });
      record(
        failure.status ?? 200,
        body,
        failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) },
      );
      return;
    }
    const answer = this.#answer(method, args, token);
    record(200, answer);
  }

  #answer(method: string, args: Record<string, unknown>, token: string | undefined): Record<string, unknown> {
    const isApp = method === 'apps.connections.open';
    if (token === undefined) return { ok: false, error: 'not_authed' };
    if (token !== (isApp ? this.appToken : this.botToken)) return { ok: false, error: 'invalid_auth' };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://millwright-test.slack.com/', ...BOT, is_enterprise_install: false };
      case 'apps.connections.open':
        return {
          ok: true,
          url: `ws://127.0.0.1:${this.#port}/link/?ticket=${randomBytes(8).toString('hex')}`,
        };
      case 'chat.postMessage':
        return this.#postMessage(args);
      case 'chat.postEphemeral': {
        const problem = this.#channelProblem(args.channel) ?? messageProblem(args, 50);
        if (problem) return problem;
        if (typeof args.user !== 'string') return { ok: false, error: 'user_not_in_channel' };
        return { ok: true, message_ts: this.#ts() };
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        const problem = messageProblem(args, 50);
        if (problem) return problem;
        message.text = args.text as string | undefined;
        message.blocks = args.blocks as unknown[] | undefined;
        message.updates++;
        return {
          ok: true,
          channel: message.channel,
          ts: message.ts,
          text: args.text ?? '',
          message: { text: args.text ?? '', user: BOT.user_id },
        };
      }
      case 'views.open':
        return this.#viewsOpen(args);
      case 'usergroups.list':
        return {
          ok: true,
          usergroups: this.userGroups.map((group) => ({
            id: group.id,
            team_id: BOT.team_id,
            is_usergroup: true,
            name: group.name,
            description: '',
            handle: group.handle,
            is_external: false,
            date_create: 1446598059,
            date_update: 1446670362,
            date_delete: 0,
            auto_type: null,
            created_by: 'U060RNRCZ',
            updated_by: 'U060RNRCZ',
            deleted_by: null,
            prefs: { channels: [], groups: [] },
            user_count: String(group.users.length),
          })),
        };
      case 'users.info': {
        const user = this.users.find((u) => u.id === args.user);
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id,
            team_id: BOT.team_id,
            name: user.name,
            deleted: false,
            color: '9f69e7',
            real_name: user.real_name,
            tz: 'Europe/London',
            tz_label: 'Greenwich Mean Time',
            tz_offset: 0,
            profile: {
              title: '',
              phone: '',
              skype: '',
              real_name: user.real_name,
              real_name_normalized: user.real_name,
              display_name: user.display_name,
              display_name_normalized: user.display_name,
              status_text: '',
              status_emoji: '',
              avatar_hash: 'ge3b51ca72de',
              team: BOT.team_id,
            },
            is_admin: false,
            is_owner: false,
            is_primary_owner: false,
            is_restricted: false,
            is_ultra_restricted: false,
            is_bot: false,
            updated: 1502138686,
            is_app_user: false,
            has_2fa: false,
          },
        };
      }
      case 'usergroups.users.list': {
        const group = this.userGroups.find((g) => g.id === args.usergroup);
        if (!group) return { ok: false, error: 'no_such_subteam' };
        return { ok: true, users: [...group.users] };
      }
      case 'files.getUploadURLExternal': {
        const length = Number(args.length);
        if (typeof args.filename !== 'string' || !Number.isInteger(length) || length <= 0)
          return { ok: false, error: 'missing_argument' };
        const fileId = `F${String(++this.#seq).padStart(9, '0')}`;
        this.#pendingUploads.set(fileId, { filename: args.filename, length, uploaded: -1 });
        return { ok: true, upload_url: `${this.origin}/upload/v1/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const files = Array.isArray(args.files) ? (args.files as Array<{ id: string; title?: string }>) : [];
        if (files.length === 0) return { ok: false, error: 'invalid_arguments' };
        for (const file of files) {
          const pending = this.#pendingUploads.get(file.id);
          if (!pending || pending.uploaded < 0) return { ok: false, error: 'file_not_found' };
        }
        if (args.channel_id !== undefined) {
          const problem = this.#channelProblem(args.channel_id);
          if (problem)
            return {
              ok: false,
              error: problem.error === 'channel_not_found' ? 'invalid_channel' : 'posting_to_channel_denied',
            };
        }
        for (const file of files) {
          const pending = this.#pendingUploads.get(file.id)!;
          this.uploads.push({
            fileId: file.id,
            filename: pending.filename,
            bytes: pending.uploaded,
            ...(typeof args.channel_id === 'string' ? { channel: args.channel_id } : {}),
            ...(file.title ? { title: file.title } : {}),
          });
        }
        return { ok: true, files: files.map((file) => ({ id: file.id, title: file.title ?? '' })) };
      }
      case 'conversations.create': {
        const name = String(args.name ?? '');
        if (name === '') return { ok: false, error: 'invalid_name_required' };
        if (!/^[a-z0-9_-]{1,80}$/.test(name)) return { ok: false, error: 'invalid_name_specials' };
        if (this.#channelNames.has(name)) return { ok: false, error: 'name_taken' };
        const id = `C${String(++this.#seq).padStart(9, '0')}`;
        this.#channelNames.set(name, id);
        this.#channels.set(id, 'member');
        return {
          ok: true,
          channel: channelObject(id, name, args.is_private === 'true' || args.is_private === true),
        };
      }
      case 'pins.add': {
        const problem = this.#channelProblem(args.channel);
        if (problem) return problem;
        const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.timestamp);
        if (!message) return { ok: false, error: 'message_not_found' };
        if (message.pinned) return { ok: false, error: 'already_pinned' };
        message.pinned = true;
        return { ok: true };
      }
      case 'conversations.setTopic': {
        const problem = this.#channelProblem(args.channel);
        if (problem) return problem;
        if (String(args.topic ?? '').length > 250) return { ok: false, error: 'too_long' };
        const name = [...this.#channelNames].find(([, id]) => id === args.channel)?.[0] ?? 'general';
        this.topics.set(String(args.channel), String(args.topic ?? ''));
        return { ok: true, channel: channelObject(String(args.channel), name, false) };
      }
      case 'conversations.invite': {
        const problem = this.#channelProblem(args.channel);
        if (problem) return problem;
        const users = String(args.users ?? '')
          .split(',')
          .filter(Boolean);
        if (users.length === 0) return { ok: false, error: 'no_user' };
        const name = [...this.#channelNames].find(([, id]) => id === args.channel)?.[0] ?? 'general';
        return { ok: true, channel: channelObject(String(args.channel), name, false) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  readonly #channelNames = new Map<string, string>();

  #postMessage(args: Record<string, unknown>): Record<string, unknown> {
    const problem = this.#channelProblem(args.channel) ?? messageProblem(args, 50);
    if (problem) return problem;
    const ts = this.#ts();
    // Posting to a user id opens the app's direct message with them.
    const channel = String(args.channel).startsWith('U')
      ? `D${String(args.channel).slice(1)}`
      : String(args.channel);
    this.messages.push({
      channel,
      ts,
      ...(typeof args.thread_ts === 'string' ? { thread_ts: args.thread_ts } : {}),
      ...(typeof args.text === 'string' ? { text: args.text } : {}),
      ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
      updates: 0,
    });
    return {
      ok: true,
      channel,
      ts,
      message: {
        text: args.text ?? '',
        username: BOT.user,
        bot_id: BOT.bot_id,
        blocks: args.blocks ?? [],
        type: 'message',
        subtype: 'bot_message',
        ts,
      },
    };
  }

  #viewsOpen(args: Record<string, unknown>): Record<string, unknown> {
    const id = String(args.trigger_id ?? '');
    const trigger = this.#triggers.get(id);
    if (!trigger)
      return {
        ok: false,
        error: 'invalid_arguments',
        response_metadata: { messages: ['invalid `trigger_id`'] },
      };
    if (trigger.used || this.#now() - trigger.issued > TRIGGER_SECONDS)
      return { ok: false, error: 'expired_trigger_id' };
    const view = args.view as Record<string, unknown> | undefined;
    const problems = viewProblems(view);
    if (problems.length)
      return { ok: false, error: 'invalid_arguments', response_metadata: { messages: problems } };
    trigger.used = true;
    return {
      ok: true,
      view: {
        id: `V${String(++this.#seq).padStart(9, '0')}`,
        team_id: BOT.team_id,
        ...view,
        state: { values: {} },
        hash: `${Math.floor(this.#now())}.${randomBytes(4).toString('hex')}`,
        clear_on_close: false,
        notify_on_close: false,
        root_view_id: null,
        app_id: 'A0TEST',
        bot_id: BOT.bot_id,
      },
    };
  }

  #upload(fileId: string, raw: Buffer, res: ServerResponse): void {
    const pending = this.#pendingUploads.get(fileId);
    if (!pending) {
      send(res, 404, { ok: false, error: 'file_not_found' });
      return;
    }
    pending.uploaded = raw.length;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${raw.length}`);
    this.#events.emit('change');
  }

  #drop(fault: 'reset' | 'hang', req: IncomingMessage, res: ServerResponse): void {
    dropConnection(fault, req, res, this.#hung);
  }

  #responseUrl(path: string, raw: Buffer, res: ServerResponse, req: IncomingMessage): void {
    const entry = this.#responseUrls.get(path);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      body = { unparsed: raw.toString('utf8') };
    }
    const fault = this.#responseUrlFaults.shift();
    if (fault !== undefined) {
      const status = typeof fault === 'object' ? fault.status : 0;
      this.responsePosts.push({ url: `${this.origin}${path}`, body, status });
      this.#events.emit('change');
      if (typeof fault !== 'object') {
        this.#drop(fault, req, res);
        return;
      }
      // An outage answers like a load balancer in front of hooks.slack.com: a status and an HTML page.
      res.writeHead(fault.status, {
        'content-type': 'text/html',
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }),
      });
      res.end(`<html><body><h1>${fault.status}</h1></body></html>`);
      return;
    }
    let status = 200;
    let answer: Record<string, unknown> = { ok: true };
    if (!entry) {
      status = 404;
      answer = { ok: false, error: 'invalid_url' };
    } else if (this.#now() - entry.created > RESPONSE_URL_SECONDS) {
      status = 404;
      answer = { ok: false, error: 'expired_url' };
    } else if (entry.uses >= RESPONSE_URL_USES) {
      status = 404;
      answer = { ok: false, error: 'used_url' };
    } else if (
      typeof body.text !== 'string' &&
      !Array.isArray(body.blocks) &&
      body.delete_original !== true
    ) {
      status = 500;
      answer = { ok: false, error: 'no_text' };
    } else {
      const problem = Array.isArray(body.blocks) ? blocksProblems(body.blocks, 50, false) : [];
      if (problem.length) {
        status = 500;
        answer = { ok: false, error: 'invalid_blocks', response_metadata: { messages: problem } };
      } else {
        entry.uses++;
      }
    }
    this.responsePosts.push({ url: `${this.origin}${path}`, body, status });
    send(res, status, answer);
    this.#events.emit('change');
  }

  #channelProblem(channel: unknown): Record<string, unknown> | undefined {
    if (typeof channel !== 'string' || channel === '') return { ok: false, error: 'channel_not_found' };
    const state = this.#channels.get(channel) ?? 'member';
    if (state === 'missing') return { ok: false, error: 'channel_not_found' };
    if (state === 'not_member') return { ok: false, error: 'not_in_channel' };
    return undefined;
  }

  #ts(): string {
    return `${Math.floor(this.#now())}.${String(++this.#seq).padStart(6, '0')}`;
  }
}

function channelObject(id: string, name: string, isPrivate: boolean): Record<string, unknown> {
  return {
    id,
    name,
    is_channel: true,
    is_group: false,
    is_im: false,
    created: 1504554479,
    creator: BOT.user_id,
    is_archived: false,
    is_general: false,
    unlinked: 0,
    name_normalized: name,
    is_shared: false,
    is_ext_shared: false,
    is_org_shared: false,
    pending_shared: [],
    is_pending_ext_shared: false,
    is_member: true,
    is_private: isPrivate,
    is_mpim: false,
    topic: { value: '', creator: '', last_set: 0 },
    purpose: { value: '', creator: '', last_set: 0 },
    previous_names: [],
  };
}

function messageProblem(
  args: Record<string, unknown>,
  maxBlocks: number,
): Record<string, unknown> | undefined {
  const blocks = args.blocks;
  if (typeof args.text !== 'string' && !Array.isArray(blocks)) return { ok: false, error: 'no_text' };
  if (typeof args.text === 'string' && args.text.length > 40_000) return { ok: false, error: 'msg_too_long' };
  if (blocks !== undefined) {
    if (!Array.isArray(blocks)) return { ok: false, error: 'invalid_blocks_format' };
    const problems = blocksProblems(blocks, maxBlocks, false);
    if (problems.length)
      return {
        ok: false,
        error: 'invalid_blocks',
        errors: problems,
        response_metadata: { messages: problems },
      };
  }
  return undefined;
}

function viewProblems(view: Record<string, unknown> | undefined): string[] {
  if (view?.type !== 'modal') return ['[ERROR] must be a modal view [json-pointer:/view/type]'];
  const problems: string[] = [];
  const plain = (value: unknown, max: number, where: string) => {
    const object = value as { type?: string; text?: string } | undefined;
    if (object?.type !== 'plain_text' || typeof object.text !== 'string' || object.text.length === 0)
      problems.push(`[ERROR] must be a plain_text object [json-pointer:${where}]`);
    else if (object.text.length > max)
      problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${where}/text]`);
  };
  plain(view.title, 24, '/view/title');
  if (view.submit !== undefined) plain(view.submit, 24, '/view/submit');
  if (view.close !== undefined) plain(view.close, 24, '/view/close');
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    problems.push('[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]');
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255)
    problems.push('[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]');
  problems.push(...blocksProblems(Array.isArray(view.blocks) ? view.blocks : [], 100, true));
  return problems;
}

/** A subset of Block Kit's validation: the limits a renderer can trip over. */
function blocksProblems(blocks: unknown[], maxBlocks: number, inModal: boolean): string[] {
  const problems: string[] = [];
  const error = (message: string, pointer: string) =>
    problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  if (blocks.length > maxBlocks) error(`no more than ${maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  // Slack wants an action_id unique among the elements of its block (inputs in a modal may all say "value").
  let actionIds = new Set<string>();
  const text = (value: unknown, max: number, where: string, plainOnly = false) => {
    const object = value as { type?: string; text?: string } | undefined;
    if (!object || (object.type !== 'plain_text' && (plainOnly || object.type !== 'mrkdwn')))
      return error(`must be a ${plainOnly ? 'plain_text' : 'text'} object`, where);
    if (typeof object.text !== 'string' || object.text.length === 0)
      return error('must be more than 0 characters', `${where}/text`);
    if (object.text.length > max) error(`must be less than ${max + 1} characters`, `${where}/text`);
  };
  const element = (value: unknown, where: string) => {
    const item = value as Record<string, unknown>;
    if (typeof item.action_id === 'string') {
      if (item.action_id.length > 255) error('must be less than 256 characters', `${where}/action_id`);
      if (actionIds.has(item.action_id)) error('action_id must be unique in its block', `${where}/action_id`);
      actionIds.add(item.action_id);
    }
    switch (item.type) {
      case 'button':
        text(item.text, 75, `${where}/text`, true);
        if (typeof item.value === 'string' && item.value.length > 2000)
          error('must be less than 2001 characters', `${where}/value`);
        if (item.style !== undefined && item.style !== 'primary' && item.style !== 'danger')
          error('must be primary or danger', `${where}/style`);
        break;
      case 'plain_text_input':
      case 'number_input':
      case 'static_select':
      case 'radio_buttons':
      case 'checkboxes':
        if (!inModal) error(`${item.type} is only allowed in input blocks`, where);
        if ((item.type === 'static_select' || item.type === 'radio_buttons') && Array.isArray(item.options)) {
          if (item.options.length > 100) error('no more than 100 items allowed', `${where}/options`);
        }
        for (const [problem, field] of inputProblems(item)) error(problem, `${where}/${field}`);
        break;
      default:
        error(`unsupported element type ${String(item.type)}`, where);
    }
  };
  blocks.forEach((value, i) => {
    const block = value as Record<string, unknown>;
    const where = `/blocks/${i}`;
    actionIds = new Set<string>();
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > 255) error('must be less than 256 characters', `${where}/block_id`);
      if (blockIds.has(block.block_id)) error('block_id must be unique', `${where}/block_id`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        text(block.text, 150, `${where}/text`, true);
        break;
      case 'section': {
        if (block.text === undefined && block.fields === undefined)
          error('must provide text or fields', where);
        if (block.text !== undefined) text(block.text, 3000, `${where}/text`);
        if (block.fields !== undefined) {
          const fields = block.fields as unknown[];
          if (!Array.isArray(fields) || fields.length > 10)
            error('no more than 10 items allowed', `${where}/fields`);
          else for (const [j, field] of fields.entries()) text(field, 2000, `${where}/fields/${j}`);
        }
        if (block.accessory !== undefined) element(block.accessory, `${where}/accessory`);
        break;
      }
      case 'context': {
        const elements = block.elements as unknown[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10)
          error('must have between 1 and 10 elements', `${where}/elements`);
        else for (const [j, item] of elements.entries()) text(item, 3000, `${where}/elements/${j}`);
        break;
      }
      case 'actions': {
        const elements = block.elements as unknown[];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25)
          error('must have between 1 and 25 elements', `${where}/elements`);
        else for (const [j, item] of elements.entries()) element(item, `${where}/elements/${j}`);
        break;
      }
      case 'image':
        if (typeof block.image_url !== 'string' || !/^https?:\/\//.test(block.image_url))
          error('must be a valid http(s) url', `${where}/image_url`);
        if (typeof block.alt_text !== 'string' || block.alt_text.length === 0 || block.alt_text.length > 2000)
          error('must be between 1 and 2000 characters', `${where}/alt_text`);
        break;
      case 'divider':
        break;
      case 'input':
        if (!inModal) error('input blocks are only allowed in modals', where);
        text(block.label, 2000, `${where}/label`, true);
        if (block.hint !== undefined) text(block.hint, 2000, `${where}/hint`, true);
        element(block.element, `${where}/element`);
        break;
      default:
        error(`unsupported block type ${String(block.type)}`, where);
    }
  });
  return problems;
}

/**
 * What Slack refuses in an input element's initial state (docs.slack.dev, Block Kit elements): a
 * number_input's initial_value must be a number of the allowed kind within min_value..max_value, a
 * select's or radio group's initial_option one of its options, a plain_text_input's initial_value
 * no longer than its max_length (at most 3000).
 */
function inputProblems(item: Record<string, unknown>): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (item.type === 'number_input') {
    const decimal = item.is_decimal_allowed === true;
    const number = (field: 'initial_value' | 'min_value' | 'max_value'): number | undefined => {
      const value = item[field];
      if (value === undefined) return undefined;
      const shape = decimal ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/;
      if (typeof value !== 'string' || !shape.test(value)) {
        problems.push([`must be a string holding ${decimal ? 'a number' : 'a whole number'}`, field]);
        return undefined;
      }
      return Number(value);
    };
    const initial = number('initial_value');
    const min = number('min_value');
    const max = number('max_value');
    if (min !== undefined && max !== undefined && min > max)
      problems.push(['min_value cannot be greater than max_value', 'min_value']);
    if (initial !== undefined && min !== undefined && initial < min)
      problems.push(['initial_value cannot be less than min_value', 'initial_value']);
    if (initial !== undefined && max !== undefined && initial > max)
      problems.push(['initial_value cannot be greater than max_value', 'initial_value']);
  }
  if ((item.type === 'static_select' || item.type === 'radio_buttons') && item.initial_option !== undefined) {
    const initial = item.initial_option as { value?: unknown; text?: { text?: unknown } };
    const options = Array.isArray(item.options)
      ? (item.options as Array<{ value?: unknown; text?: { text?: unknown } }>)
      : [];
    const matches = options.some(
      (option) => option.value === initial.value && option.text?.text === initial.text?.text,
    );
    if (!matches) problems.push(['initial_option must exactly match one of options', 'initial_option']);
  }
  if (item.type === 'plain_text_input') {
    const max = item.max_length;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 3000))
      problems.push(['must be between 1 and 3000', 'max_length']);
    const limit = typeof max === 'number' ? Math.min(max, 3000) : 3000;
    if (typeof item.initial_value === 'string' && item.initial_value.length > limit)
      problems.push([`must be less than ${limit + 1} characters`, 'initial_value']);
  }
  return problems;
}

/** Slack takes form-encoded arguments (objects as JSON strings) or a JSON body. */
function parseArgs(contentType: string | undefined, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType?.startsWith('application/json')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = /^[[{]/.test(value) ? tryJson(value) : value;
  }
  return args;
}

/** The file inside a multipart upload (what the WebClient sends), or the raw body. */
function fileBytes(contentType: string | undefined, raw: Buffer): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType ?? '');
  if (!contentType?.startsWith('multipart/form-data') || !boundary) return raw;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const start = raw.indexOf(delimiter);
  const headersEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(delimiter, headersEnd);
  if (start < 0 || headersEnd < 0 || end < 0) return raw;
  return raw.subarray(headersEnd + 4, end - 2);
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
