// The Slack surface: a Bolt app on Millwright's HTTP server (or Socket Mode) that acknowledges at once,
// runs commands as the Slack user, and renders their replies as Block Kit, buttons and modals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, ExpressReceiver, SocketModeReceiver, type webApi } from '@slack/bolt';
import {
  type Adapter,
  type Logger,
  type MessageHandle,
  parseDuration,
  type Reply,
  UpstreamResilience,
} from '../../src/core/index.js';
import { sendJson } from '../../src/server/index.js';
import { AfterAck, RECORDED } from './after-ack.js';
import { boltLogger } from './bolt-logger.js';
import { malformedEvent } from './event-shape.js';
import { SlackIncidentRoom } from './incident-room.js';
import { EVENT_WINDOW_SECONDS, SlackListeners } from './listeners.js';
import type { SlackAdapterOptions } from './options.js';

export type { SlackAdapterOptions, SlackConfig } from './options.js';

import { SlackRequestGuard } from './request-guard.js';
import { SeenLedger } from './seen-ledger.js';
import { slackStartupError } from './slack-errors.js';
import { SlackUserGroups } from './user-groups.js';
import { SlackUserNames } from './user-names.js';
import { NO_CLIENT_RETRIES, PolicyWebClient, SOCKET_MODE_RETRIES, withinStartTimeout } from './web-client.js';

/** The one path Slack posts events, slash commands and interactivity to. */
export const SLACK_EVENTS_PATH = '/slack/events';

/** Something routes can be mounted on; Millwright's HttpServer. */
export interface RouteTarget {
  route(
    method: string,
    path: string,
    handler: (req: IncomingMessage, res: ServerResponse, ctx: { readBody(): Promise<Buffer> }) => unknown,
  ): unknown;
}

const FUTURE_SECONDS = 60;

/**
 * The Slack adapter.
 *
 * @example
 * const slack = new SlackAdapter({ config: config.slack, handle: (r) => router.handle(r), services, clock, logger });
 * slack.mount(server);      // POST /slack/events (nothing to mount in Socket Mode)
 * await slack.start();      // checks the bot token (auth.test); connects in Socket Mode
 * await slack.post('C0123ABCD', reply(text('Daily digest')));
 */
export class SlackAdapter implements Adapter {
  readonly name = 'slack';
  /** The Web API client every call goes through (the shared policy's retries and circuit). */
  readonly web: webApi.WebClient;
  /** Incidents get their own Slack channel, with the brief pinned. */
  readonly room: SlackIncidentRoom;
  readonly #options: SlackAdapterOptions;
  readonly #clientOptions: webApi.WebClientOptions;
  readonly #receiver: ExpressReceiver | SocketModeReceiver;
  readonly #guard: SlackRequestGuard;
  readonly #replays: SeenLedger;
  readonly #events: SeenLedger;
  readonly #groups: SlackUserGroups;
  readonly #fetch: typeof fetch;
  readonly #log: Logger;
  readonly #upstreams: UpstreamResilience;
  #app: App | undefined;
  #botUserId: string | undefined;
  readonly #afterAck: AfterAck;
  readonly #listeners: SlackListeners;

  constructor(options: SlackAdapterOptions) {
    this.#options = options;
    const { config, services, clock, logger } = options;
    this.#log = logger.child({ component: 'slack' });
    this.#afterAck = new AfterAck({ logger: this.#log, track: options.track });
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#upstreams = options.upstreams ?? new UpstreamResilience({ clock });
    this.#clientOptions = {
      // The WebClient appends method names to this, so it must end in a slash (https://slack.com/api/).
      slackApiUrl: config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/`,
      logger: boltLogger(logger),
      retryConfig: NO_CLIENT_RETRIES,
      rejectRateLimitedCalls: true,
      timeout: parseDuration(config.timeout),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    const apiUrl = this.#clientOptions.slackApiUrl ?? 'https://slack.com/api/';
    this.web = new PolicyWebClient(
      config.botToken,
      this.#clientOptions,
      this.#upstreams.policy({ kind: 'slack', target: apiUrl, name: `the Slack API at ${apiUrl}` }),
      this.#log,
    );
    this.room = new SlackIncidentRoom({
      web: this.web,
      logger: logger.child({ surface: 'slack', part: 'incidents' }),
      signButton: (command, channel) => services.actions.sign({ command, channel }),
    });
    const windowSeconds = parseDuration(config.replayWindow) / 1000;
    this.#replays = new SeenLedger({
      store: services.store,
      collection: 'slack_replay',
      windowSeconds: windowSeconds + FUTURE_SECONDS,
      clock,
      logger: this.#log,
      // Commands wait for this record anyway, and they start only after acknowledgements are out.
      schedule: (start) => this.#afterAck.queue.run(start),
    });
    this.#events = new SeenLedger({
      store: services.store,
      collection: 'slack_events',
      windowSeconds: EVENT_WINDOW_SECONDS,
      clock,
      logger: this.#log,
    });
    this.#guard = new SlackRequestGuard({
      signingSecret: config.signingSecret,
      clock,
      replays: this.#replays,
      windowSeconds,
      futureSeconds: FUTURE_SECONDS,
      onStoreError: (error) =>
        this.#log.error(
          { err: error },
          'could not record a Slack request signature; the request is not acted on',
        ),
    });
    this.#groups = new SlackUserGroups({
      web: this.web,
      names: Object.keys(services.config.access.subjects)
        .filter((subject) => subject.startsWith('group:'))
        .map((subject) => subject.slice('group:'.length)),
      ttlMs: parseDuration(config.groupCacheTtl),
      clock,
      logger: this.#log,
    });
    this.#receiver = config.socketMode
      ? new SocketModeReceiver({
          appToken: config.appToken!,
          logger: boltLogger(logger),
          installerOptions: {
            clientOptions: {
              ...this.#clientOptions,
              retryConfig: SOCKET_MODE_RETRIES,
              rejectRateLimitedCalls: false,
            },
          },
        })
      : new ExpressReceiver({
          signingSecret: config.signingSecret,
          endpoints: SLACK_EVENTS_PATH,
          processBeforeResponse: false,
          // Requests reach this receiver only through mount()'s route, after SlackRequestGuard verified
          // the signature, the timestamp window and replays; a second HMAC here only delayed the ack.
          signatureVerification: false,
          logger: boltLogger(logger),
          // Hands the shared replay record's answer to the listeners, which wait for it before acting.
          customPropertiesExtractor: (req) => ({ [RECORDED]: (req as { [RECORDED]?: unknown })[RECORDED] }),
        });
    if (this.#receiver instanceof ExpressReceiver) this.#receiver.app.disable('x-powered-by');
    this.#listeners = new SlackListeners({
      options,
      web: this.web,
      log: this.#log,
      afterAck: this.#afterAck,
      events: this.#events,
      groups: this.#groups,
      names: new SlackUserNames({
        web: this.web,
        ttlMs: parseDuration(config.groupCacheTtl),
        clock,
        logger: this.#log,
      }),
      fetch: this.#fetch,
      upstreams: this.#upstreams,
      timeoutMs: parseDuration(config.timeout),
      botUserId: () => this.#botUserId,
    });
  }

  /**
   * Mounts `POST /slack/events` on Millwright's server: signature, timestamp and replay checks, then
   * Bolt. Socket Mode needs no route.
   */
  mount(server: RouteTarget): void {
    if (!(this.#receiver instanceof ExpressReceiver)) return;
    const express = this.#receiver.app;
    server.route('POST', SLACK_EVENTS_PATH, async (req, res, ctx) => {
      if (!this.#app) return sendJson(res, 503, { error: 'the Slack adapter is starting' });
      // Work queued by earlier requests waits for this one's acknowledgement from its first byte (a
      // burst's bodies are read in turns); a body that is slow to come or not signed stops holding it.
      const hold = this.#afterAck.queue.requestArrived();
      res.once('close', hold.done);
      const body = await ctx.readBody();
      const verdict = this.#guard.check(req.headers, body);
      if (verdict.ok) hold.confirm();
      else hold.done();
      if (!verdict.ok) {
        this.#log.warn(
          { status: verdict.status, reason: verdict.reason },
          'refused a request to /slack/events',
        );
        res.writeHead(verdict.status, { 'content-length': 0 });
        res.end();
        return;
      }
      const malformed = malformedEvent(req.headers['content-type'], body);
      if (malformed !== undefined) {
        this.#log.warn({ reason: malformed }, 'refused a malformed signed request to /slack/events');
        return sendJson(res, 400, { error: `malformed Slack event: ${malformed}` });
      }
      // Bolt reads the body from `rawBody` instead of the stream we already consumed.
      Object.assign(req, { rawBody: body, [RECORDED]: verdict.recorded });
      express(req, res);
    });
  }

  /**
   * Checks the bot token with auth.test (a wrong token is a clear start-up error, not a crash) and
   * builds the Bolt app; in Socket Mode, connects.
   */
  /** Slack ids: channels (C, G, D) and users (U, W). */
  owns(target: string): boolean {
    return /^[CGDUW][A-Z0-9]{6,}$/.test(target);
  }

  async start(): Promise<void> {
    if (this.#app) return;
    const { config } = this.#options;
    let auth: webApi.AuthTestResponse;
    try {
      auth = await this.web.auth.test();
    } catch (error) {
      throw slackStartupError(error, 'the bot token (slack.botToken)');
    }
    this.#botUserId = auth.user_id;
    const app = new App({
      receiver: this.#receiver,
      token: config.botToken,
      // With both given, Bolt does not call auth.test again on its own.
      ...(auth.bot_id ? { botId: auth.bot_id } : {}),
      ...(auth.user_id ? { botUserId: auth.user_id } : {}),
      logger: boltLogger(this.#options.logger),
      clientOptions: this.#clientOptions,
      convoStore: false,
    });
    this.#listeners.register(app);
    if (this.#receiver instanceof SocketModeReceiver) {
      try {
        await withinStartTimeout(app.start(), parseDuration(config.startTimeout));
      } catch (error) {
        await app.stop().catch(() => {
          // Nothing connected, so there is nothing to close; the start-up error is what matters.
        });
        throw slackStartupError(error, 'the app-level token (slack.appToken)');
      }
    }
    this.#app = app;
    this.#log.info(
      { bot: auth.user_id, team: auth.team_id, mode: config.socketMode ? 'socket' : 'http' },
      'Slack adapter started',
    );
  }

  async stop(): Promise<void> {
    const app = this.#app;
    this.#app = undefined;
    if (app && this.#receiver instanceof SocketModeReceiver) await app.stop();
    this.#afterAck.queue.flush();
    await Promise.all([this.#replays.idle(), this.#events.idle()]);
  }

  /**
   * Posts a message nobody asked for (a digest, an alert, a break-glass notice) in a channel, by id.
   * The handle edits it in place with chat.update.
   */
  async post(target: string, reply: Reply): Promise<MessageHandle> {
    const conversation = this.#listeners.conversation({
      channel: target,
      user: '',
      defaultVisibility: 'public',
    });
    return conversation.send({ ...reply, visibility: 'public' });
  }
}
