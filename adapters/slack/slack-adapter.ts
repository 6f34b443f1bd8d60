// The Slack surface: a Bolt app on Millwright's HTTP server (or Socket Mode) that acknowledges at once,
// runs commands as the Slack user, and renders their replies as Block Kit, buttons and modals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  App,
  type BlockAction,
  type ButtonAction,
  ExpressReceiver,
  type SlashCommand,
  SocketModeReceiver,
  type types,
  type ViewSubmitAction,
  webApi,
} from '@slack/bolt';
import type { MillwrightConfig } from '../../src/config/index.js';
import {
  type Adapter,
  type Clock,
  type CommandRequest,
  ErrorCode,
  errorReply,
  formatAbsolute,
  formatDuration,
  formError,
  type InteractionRequest,
  type InteractionSurface,
  type Logger,
  type MessageHandle,
  MillwrightError,
  newRef,
  parseDuration,
  type Reply,
  runInteraction,
  type Services,
  type SpentUse,
  type UpstreamPolicy,
  UpstreamResilience,
} from '../../src/core/index.js';
import { sendJson } from '../../src/server/index.js';
import { AfterAck, RECORDED, recordedOf } from './after-ack.js';
import { ACTION_PREFIX, FORM_CALLBACK_ID } from './block-kit.js';
import { boltLogger } from './bolt-logger.js';
import { type ConversationPlace, type FormMetadata, SlackConversation } from './conversation.js';
import { eventsOnce } from './event-retries.js';
import { malformedEvent } from './event-shape.js';
import { SlackIncidentRoom } from './incident-room.js';
import { fieldBlockId, type SubmittedValue, submittedValues } from './modal.js';
import { type RecordOutcome, SlackRequestGuard } from './request-guard.js';
import { ResponseUrl, type ResponseUrlKind } from './response-url.js';
import { SeenLedger } from './seen-ledger.js';
import { SlackErrorCode, slackStartupError } from './slack-errors.js';
import { asksForPublic, commandFromMention, decodeSlackText } from './slack-text.js';
import { spentBlocks } from './spent-button.js';
import { SlackUserGroups } from './user-groups.js';

export type SlackConfig = NonNullable<MillwrightConfig['slack']>;

/** The one path Slack posts events, slash commands and interactivity to. */
export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackAdapterOptions {
  config: SlackConfig;
  /** The router's entry point. */
  handle: (request: CommandRequest) => Promise<Reply>;
  /**
   * The store (replay and event records), the button signer and the record of spent buttons, the
   * config (group names in access.subjects) and the registry (a form's arguments, checked before its ack).
   */
  services: Pick<Services, 'store' | 'actions' | 'spentActions' | 'config' | 'registry'>;
  clock: Clock;
  logger: Logger;
  /** Registers work that outlives a request (a command after its ack) so shutdown waits for it. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** For response_url posts and the Web API client; tests pass one pointed at a double. */
  fetch?: typeof fetch;
  /**
   * The shared upstream policies: the Slack API's retries (Retry-After honoured) and its circuit, one
   * for the Web API and one for response_url posts; a private registry when absent.
   */
  upstreams?: UpstreamResilience | undefined;
}

/** Something routes can be mounted on; Millwright's HttpServer. */
export interface RouteTarget {
  route(
    method: string,
    path: string,
    handler: (req: IncomingMessage, res: ServerResponse, ctx: { readBody(): Promise<Buffer> }) => unknown,
  ): unknown;
}

/** The WebClient sends each call once and hands a 429 back; the shared policy retries. */
const NO_CLIENT_RETRIES: webApi.RetryOptions = { retries: 0 };
/**
 * Socket Mode's own client opens its connection (apps.connections.open) with a WebClient of its
 * own, outside the policy; it keeps a few bounded retries, and slack.startTimeout bounds the whole.
 */
const SOCKET_MODE_RETRIES: webApi.RetryOptions = {
  retries: 2,
  factor: 2,
  minTimeout: 250,
  maxTimeout: 2_000,
};
/** Retried events come within minutes; one older than this cannot be told apart from a replay. */
const EVENT_WINDOW_SECONDS = 3600;
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
      res.once('close', this.#afterAck.queue.requestStarted());
      const body = await ctx.readBody();
      const verdict = this.#guard.check(req.headers, body);
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
    this.#listen(app);
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
    const conversation = this.#conversation({ channel: target, user: '', defaultVisibility: 'public' });
    return conversation.send({ ...reply, visibility: 'public' });
  }

  #listen(app: App): void {
    const { config, clock } = this.#options;
    app.error(async (error) => {
      this.#log.error({ err: error }, 'a Slack listener failed');
    });

    // Slack retries an event it did not see acknowledged in time; the retry must not run twice.
    app.use(eventsOnce(this.#events, { clock, logger: this.#log, windowSeconds: EVENT_WINDOW_SECONDS }));

    app.command(config.command, async ({ command, ack, context }) => {
      await ack();
      const receivedAt = clock.now();
      this.#afterAck.run('slash command', () => this.#onSlashCommand(command, receivedAt), {
        recorded: recordedOf(context),
        tell: (text) =>
          this.#responseUrl(command.response_url, receivedAt, 'command').post({
            response_type: 'ephemeral',
            text,
          }),
      });
    });

    app.event('app_mention', async ({ event, context }) => {
      const mention = event as {
        user?: string;
        text: string;
        channel: string;
        ts: string;
        thread_ts?: string;
      };
      if (!mention.user) return;
      const user = mention.user;
      this.#afterAck.run(
        'mention',
        () =>
          this.#runAndAnswer(
            {
              channel: mention.channel,
              user,
              threadTs: mention.thread_ts ?? mention.ts,
              privateInThread: mention.thread_ts !== undefined,
            },
            commandFromMention(mention.text, this.#botUserId),
            { id: user },
          ),
        { recorded: recordedOf(context) },
      );
    });

    app.message(async ({ message, context }) => {
      const dm = message as {
        channel_type?: string;
        subtype?: string;
        bot_id?: string;
        user?: string;
        text?: string;
        channel: string;
      };
      // Only people writing to the app directly; channel messages arrive as mentions instead.
      if (dm.channel_type !== 'im' || dm.subtype !== undefined || dm.bot_id || !dm.user) return;
      const user = dm.user;
      this.#afterAck.run(
        'direct message',
        () =>
          this.#runAndAnswer(
            { channel: dm.channel, user, directMessage: true },
            commandFromMention(dm.text ?? '', this.#botUserId),
            { id: user },
          ),
        { recorded: recordedOf(context) },
      );
    });

    app.action<BlockAction<ButtonAction>>(
      { action_id: new RegExp(`^${ACTION_PREFIX.replace('.', '\\.')}`) },
      async ({ ack, body, action, context }) => {
        await ack();
        const receivedAt = clock.now();
        this.#afterAck.run('button', () => this.#onButton(body, action, receivedAt), {
          recorded: recordedOf(context),
          ...(body.response_url
            ? {
                tell: (text: string) =>
                  this.#responseUrl(body.response_url!, receivedAt, 'interaction').post({
                    response_type: 'ephemeral',
                    text,
                    replace_original: false,
                  }),
              }
            : {}),
        });
      },
    );

    // Acknowledged within the listener, before the replay record, the token's spend or the command:
    // Slack closes the modal at once, and the answer follows as a message.
    app.view<ViewSubmitAction>(FORM_CALLBACK_ID, async ({ ack, body, view, context }) => {
      await this.#onFormSubmitted(body, view, ack, recordedOf(context));
    });
  }

  async #onSlashCommand(command: SlashCommand, receivedAt: Date): Promise<void> {
    const text = decodeSlackText(command.text ?? '').trim() || 'help';
    await this.#runAndAnswer(
      {
        channel: command.channel_id,
        user: command.user_id,
        responseUrl: this.#responseUrl(command.response_url, receivedAt, 'command'),
        ...(command.trigger_id ? { trigger: { id: command.trigger_id, receivedAt } } : {}),
      },
      text,
      { id: command.user_id, ...(command.user_name ? { name: command.user_name } : {}) },
      { stillWorkingNote: true },
    );
  }

  async #onButton(body: BlockAction<ButtonAction>, action: ButtonAction, receivedAt: Date): Promise<void> {
    const channel = body.channel?.id ?? body.container?.channel_id;
    const user = body.user.id;
    if (!channel) {
      this.#log.warn({ actionId: action.action_id }, 'a button click came without a channel; ignored');
      return;
    }
    const where = {
      channel,
      user,
      ...(body.response_url
        ? { responseUrl: this.#responseUrl(body.response_url, receivedAt, 'interaction') }
        : {}),
      ...(body.trigger_id ? { trigger: { id: body.trigger_id, receivedAt } } : {}),
      ...(body.message?.thread_ts ? { threadTs: body.message.thread_ts, privateInThread: true } : {}),
    };
    const answerIn = this.#answerPlace(where);
    await this.#interaction(
      {
        channel,
        token: action.value ?? '',
        actor: { id: user, ...(body.user.username ? { name: body.user.username } : {}) },
      },
      {
        refuse: async (failure) => {
          this.#log.warn({ user, channel, reason: failure.message }, 'refused a button click');
          const conversation = this.#conversation({ ...where, defaultVisibility: 'private' });
          await conversation.deliver(errorReply(failure, newRef()));
        },
        sink: (line) => answerIn(line).sink,
        deliver: async (answer, line, spent) => {
          if (spent) await this.#retireButton(body, action, { line, spent, ok: answer.ok });
          await answerIn(line).deliver(answer);
        },
      },
    );
  }

  /**
   * Redraws the message holding a spent button without it, saying who used it and when: chat.update
   * for a message in the channel, the click's response_url for an ephemeral one (the only way to
   * edit it). Best effort: the decision stands even when the message cannot be edited.
   */
  async #retireButton(
    body: BlockAction<ButtonAction>,
    action: ButtonAction,
    use: { line: string; spent: SpentUse; ok: boolean },
  ): Promise<void> {
    const message = body.message as { ts: string; text?: string; blocks?: types.KnownBlock[] } | undefined;
    const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
    const blocks = spentBlocks(
      message?.blocks,
      { actionId: action.action_id, blockId: action.block_id },
      { line: use.line, user: body.user.id, at: formatAbsolute(use.spent.at), ok: use.ok },
    );
    const text = message?.text ?? `${use.line} by ${use.spent.by}`;
    try {
      if (message?.ts && channel && body.container?.is_ephemeral !== true) {
        await this.web.chat.update({ channel, ts: message.ts, text, blocks });
      } else if (body.response_url) {
        await this.#responseUrl(body.response_url, this.#options.clock.now(), 'interaction').post({
          replace_original: true,
          text,
          blocks,
        });
      }
    } catch (error) {
      this.#log.warn(
        { err: error, channel, ts: message?.ts },
        'could not take a used button off its message; a later click is still refused',
      );
    }
  }

  async #onFormSubmitted(
    body: ViewSubmitAction,
    view: ViewSubmitAction['view'],
    ack: (response?: { response_action: 'errors'; errors: Record<string, string> }) => Promise<void>,
    recorded: Promise<RecordOutcome> | undefined,
  ): Promise<void> {
    const receivedAt = this.#options.clock.now();
    const user = body.user.id;
    const firstField = view.blocks.map((block) => block.block_id).find((id) => id?.startsWith('field.'));
    const showBeside = (blockId: string | undefined, message: string) =>
      blockId ? ack({ response_action: 'errors', errors: { [blockId]: clip(message, 300) } }) : ack();
    let metadata: FormMetadata;
    try {
      metadata = JSON.parse(view.private_metadata) as FormMetadata;
    } catch (error) {
      this.#log.warn({ user, err: error }, 'refused a form submission whose metadata does not parse');
      return showBeside(firstField, 'This form is damaged; run the command again.');
    }
    const where = {
      channel: metadata.c,
      user,
      ...(metadata.r
        ? { responseUrl: this.#responseUrl(metadata.r, receivedAt, metadata.rk ?? 'interaction') }
        : {}),
      ...(metadata.th ? { threadTs: metadata.th, privateInThread: true } : {}),
    };
    const answerIn = this.#answerPlace(where);
    let acknowledged = false;
    await this.#interaction(
      {
        channel: metadata.c,
        token: metadata.t,
        actor: { id: user, ...(body.user.name ? { name: body.user.name } : {}) },
        form: submittedValues(
          view.blocks,
          view.state.values as Record<string, Record<string, SubmittedValue>>,
        ),
        acknowledgeFirst: true,
      },
      {
        refuse: async (failure) => {
          this.#log.warn({ user, reason: failure.message }, 'refused a form submission');
          const message =
            failure.code === ErrorCode.PermissionDenied
              ? [failure.message, failure.hint].filter(Boolean).join('; ')
              : 'This form is damaged; run the command again.';
          if (!acknowledged) return showBeside(firstField, message);
          // The modal is closed by now: say it where the answer would have gone.
          await this.#conversation({ ...where, defaultVisibility: 'private' }).deliver(
            errorReply(failure, newRef()),
          );
        },
        sink: (line) => answerIn(line).sink,
        // Only the command's own argument checks (milliseconds) come back before the ack.
        showInForm: async (answer) => {
          const error = formError(answer);
          const field = error?.field ? fieldBlockId(error.field) : undefined;
          const blockId = field && view.blocks.some((block) => block.block_id === field) ? field : firstField;
          if (!error || !blockId) return false;
          await showBeside(blockId, error.message);
          return true;
        },
        acknowledge: async () => {
          acknowledged = true;
          await ack();
        },
        later: (work) => this.#afterAck.run('form', work, { recorded }),
        deliver: (answer, line) => answerIn(line).deliver(answer),
      },
    );
  }

  /** Runs a click or form through the shared flow as the Slack user, with their user groups. */
  #interaction(
    request: Omit<InteractionRequest, 'surface' | 'actor'> & { actor: { id: string; name?: string } },
    surface: InteractionSurface,
  ): Promise<void> {
    const { actor } = request;
    return runInteraction(
      {
        ...request,
        surface: 'slack',
        actor: async () => ({ ...actor, groups: await this.#groups.groupsOf(actor.id) }),
      },
      this.#options,
      surface,
    );
  }

  /** The conversation a command answers in, made once its line is known (`--public` answers in the channel). */
  #answerPlace(where: Omit<ConversationPlace, 'defaultVisibility'>): (line: string) => SlackConversation {
    let conversation: SlackConversation | undefined;
    return (line) =>
      (conversation ??= this.#conversation({
        ...where,
        defaultVisibility: asksForPublic(line) ? 'public' : 'private',
      }));
  }

  /** Runs a typed command as `actor` and answers in `where`; a slow slash command gets a "still working" note. */
  async #runAndAnswer(
    where: Omit<ConversationPlace, 'defaultVisibility'>,
    text: string,
    actor: { id: string; name?: string },
    options: { stillWorkingNote?: boolean } = {},
  ): Promise<void> {
    const line = text || 'help';
    const conversation = this.#answerPlace(where)(line);
    const groups = await this.#groups.groupsOf(actor.id);
    const delayMs = options.stillWorkingNote ? parseDuration(this.#options.config.stillWorkingAfter) : 0;
    const stopNote = conversation.noteWhenSlow(line, delayMs);
    let answer: Reply;
    try {
      answer = await this.#options.handle({
        actor: { ...actor, groups },
        surface: 'slack',
        channel: where.channel,
        text: line,
        sink: conversation.sink,
      });
    } finally {
      await stopNote();
    }
    await conversation.deliver(answer);
  }

  #conversation(place: ConversationPlace): SlackConversation {
    const { clock } = this.#options;
    return new SlackConversation(place, {
      web: this.web,
      clock,
      logger: this.#log,
      sign: (command, channel, requestedBy) =>
        this.#options.services.actions.sign({ command, channel, ...(requestedBy ? { requestedBy } : {}) }),
    });
  }

  #responseUrl(url: string, receivedAt: Date, kind: ResponseUrlKind): ResponseUrl {
    return new ResponseUrl(url, receivedAt, {
      kind,
      fetch: this.#fetch,
      clock: this.#options.clock,
      // Parsed once at start: this runs before the acknowledgement of every click and form.
      timeoutMs: this.#clientOptions.timeout ?? parseDuration(this.#options.config.timeout),
      policyFor: (origin) =>
        this.#upstreams.policy({
          kind: 'slack',
          target: origin,
          name: `Slack's response_url at ${origin}`,
        }),
    });
  }
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Socket Mode's connect, bounded: Slack's client retries a failing connection for about half an hour. */
async function withinStartTimeout<T>(starting: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MillwrightError(
            SlackErrorCode.Unreachable,
            `Slack did not accept the Socket Mode connection within ${formatDuration(timeoutMs)} (slack.startTimeout)`,
            {
              hint: 'check that slack.appToken is an app-level token with connections:write, that Socket Mode is on for the app, and the network path to Slack; the log has each attempt',
            },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([starting, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A WebClient whose every call goes through the Slack API's shared policy: reads and chat.update are
 * retried on an outage, any call after a 429 once its Retry-After has passed (Slack did not act on
 * it), and after repeated outages calls fail fast with "the Slack API ... circuit open since ...".
 * The client itself sends each call once (`retries: 0`, `rejectRateLimitedCalls`). A subclass,
 * because the client binds its method table to `apiCall` while it is constructed.
 */
class PolicyWebClient extends webApi.WebClient {
  readonly #policy: UpstreamPolicy;
  readonly #log: Logger;

  constructor(token: string, options: webApi.WebClientOptions, policy: UpstreamPolicy, log: Logger) {
    super(token, options);
    this.#policy = policy;
    this.#log = log;
  }

  override apiCall(method: string, options?: Record<string, unknown>): Promise<webApi.WebAPICallResult> {
    return this.#policy.call(() => super.apiCall(method, options), {
      idempotent: isRepeatableMethod(method),
      notActedOn: isRateLimited,
      transient: (error) => isSlackOutage(error) || isRateLimited(error),
      retryAfterMs: (error) => (isRateLimited(error) ? error.retryAfter * 1000 : undefined),
      onRetry: (error, attempt, delayMs) =>
        this.#log.warn(
          { method, attempt, delayMs: Math.round(delayMs), slackError: (error as { code?: unknown }).code },
          'Slack API call failed; retrying',
        ),
    });
  }
}

/**
 * Calls that change nothing, or that land on the same result when sent twice, so an outage may be
 * retried: reads (auth.test, *.info, *.list, *.history, ...) and edits of one message.
 */
function isRepeatableMethod(method: string): boolean {
  return (
    /\.(test|info|list|history|replies|lookupByEmail)$/.test(method) ||
    method === 'chat.update' ||
    method === 'conversations.setTopic'
  );
}

function isRateLimited(error: unknown): error is webApi.WebAPIRateLimitedError {
  return (error as { code?: unknown } | null)?.code === webApi.ErrorCode.RateLimitedError;
}

/** A dropped connection, a timeout or a 5xx from Slack; never a Slack "no". */
function isSlackOutage(error: unknown): boolean {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === webApi.ErrorCode.RequestError) return true;
  return code === webApi.ErrorCode.HTTPError && typeof statusCode === 'number' && statusCode >= 500;
}
