// The Microsoft Teams surface: botbuilder's CloudAdapter on POST /api/messages, the same command
// grammar in personal chats, group chats and channels, and Replies rendered as Adaptive Cards.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INetworkModule } from '@azure/msal-node';
import {
  type Activity,
  ActivityTypes,
  type Request as BotRequest,
  CloudAdapter,
  type ConversationReference,
  TurnContext,
} from 'botbuilder';
import {
  type Adapter,
  asMillwrightError,
  type Clock,
  type CommandRequest,
  context as contextBlock,
  ErrorCode,
  header,
  type Logger,
  type MessageHandle,
  newRef,
  parseDuration,
  type Reply,
  type ReplySink,
  type RouteHost,
  reply,
  type Services,
  systemClock,
  text,
  UpstreamResilience,
} from '../../src/core/index.js';
import { type RequestContext, sendJson } from '../../src/server/index.js';
import { type AdaptiveCard, CARD_CONTENT_TYPE } from './adaptive-card.js';
import { invokeResponse, responseFor } from './bot-activities.js';
import { BotCredentials, createBotAuthentication, resolveTeamsAuth, type TeamsConfig } from './bot-auth.js';
import { clickCard } from './card-click.js';
import { CardLedger } from './card-ledger.js';
import { CardSender } from './card-sender.js';
import { type CardSubmission, readSubmission } from './card-submission.js';
import { ChannelAuthError, ChannelTokenValidator } from './channel-token.js';
import { commandText } from './command-text.js';
import { withPolicyConnectors } from './connector-clients.js';
import { ConversationDirectory, routerChannel, type StoredConversation } from './conversations.js';
import { type IncomingActivity, readActivity, tenantsOf } from './incoming-activity.js';
import { Roster } from './roster.js';

/** Injected I/O, so tests meet real libraries pointed at local doubles. */
export interface TeamsIO {
  /** MSAL's HTTP client for the bot's own tokens (its default in production). */
  msalNetworkClient?: INetworkModule;
  /** Reads the OpenID metadata and signing keys of incoming tokens. */
  fetch?: typeof fetch;
  /** How long a card click waits for its command before answering "running" and updating later. Default 4 s. */
  invokeWaitMs?: number;
}

export interface TeamsAdapterOptions {
  config: TeamsConfig;
  /** The router's entry point. */
  handle: (request: CommandRequest) => Promise<Reply>;
  services: Pick<Services, 'store' | 'actions' | 'audit' | 'spentActions'>;
  logger: Logger;
  /** The shared upstream policies: one circuit per Bot Connector service URL; a private one when absent. */
  upstreams?: UpstreamResilience | undefined;
  clock?: Clock;
  /** Registers work that outlives a request (a command run after the 200) so shutdown waits for it. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  io?: TeamsIO;
}

export const MESSAGES_ROUTE = '/api/messages';

/**
 * Millwright in Microsoft Teams.
 *
 * @example
 * const teams = new TeamsAdapter({ config: config.teams, handle: (r) => router.handle(r), services, logger });
 * teams.mount(server);
 * await teams.post('19:ops@thread.tacv2', reply(text('nightly digest')));
 */
export class TeamsAdapter implements Adapter {
  readonly name = 'teams';
  readonly #options: TeamsAdapterOptions;
  readonly #clock: Clock;
  readonly #upstreams: UpstreamResilience;
  /** teams.timeout: a Bot Connector request or a signing-key read not answered by then is cut. */
  readonly #timeoutMs: number;
  readonly #appId: string;
  readonly #cloud: CloudAdapter;
  readonly #tokens: ChannelTokenValidator | undefined;
  readonly #conversations: ConversationDirectory;
  readonly #cards: CardLedger;
  readonly #roster: Roster;
  readonly #allowedTenants: readonly string[] | undefined;
  readonly #sender: CardSender;

  constructor(options: TeamsAdapterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#upstreams = options.upstreams ?? new UpstreamResilience({ clock: this.#clock });
    const auth = resolveTeamsAuth(options.config);
    this.#appId = auth.verifyIncoming ? auth.appId : '';
    this.#allowedTenants = auth.allowedTenants;
    const credentials = new BotCredentials(options.config, auth, {
      ...(options.io?.msalNetworkClient ? { networkClient: options.io.msalNetworkClient } : {}),
    });
    this.#timeoutMs = parseDuration(options.config.timeout);
    // No onTurnError: it would swallow a failed send inside a proactive turn, and the caller must hear of it.
    this.#cloud = new CloudAdapter(
      withPolicyConnectors(createBotAuthentication(auth, credentials, options.config.tenantId), {
        timeoutMs: this.#timeoutMs,
        logger: options.logger,
      }),
    );
    const keysAt = new URL(auth.openIdMetadataUrl).origin;
    this.#tokens = auth.verifyIncoming
      ? new ChannelTokenValidator({
          appId: auth.appId,
          openIdMetadataUrl: auth.openIdMetadataUrl,
          issuer: auth.tokenIssuer,
          clock: this.#clock,
          logger: options.logger,
          timeoutMs: this.#timeoutMs,
          policy: this.#upstreams.policy({
            kind: 'bot_connector',
            target: keysAt,
            name: `the Bot Framework signing keys at ${keysAt}`,
          }),
          ...(options.io?.fetch ? { fetch: options.io.fetch } : {}),
        })
      : undefined;
    const now = () => this.#clock.now();
    this.#conversations = new ConversationDirectory(options.services.store, now);
    this.#cards = new CardLedger(options.services.store, now);
    this.#sender = new CardSender({
      cloud: this.#cloud,
      appId: this.#appId,
      cards: this.#cards,
      actions: options.services.actions,
      upstreams: this.#upstreams,
      clock: this.#clock,
      logger: options.logger,
    });
    this.#roster = new Roster({
      cloud: this.#cloud,
      appId: this.#appId,
      clock: this.#clock,
      logger: options.logger,
      read: (reference, read) => this.#sender.connector(reference, 'read', read),
    });
  }

  /** Mounts `POST /api/messages` on Millwright's HTTP server. */
  mount(server: RouteHost): void {
    server.route('POST', MESSAGES_ROUTE, (req, res, ctx) => this.#receive(req, res, ctx));
  }

  /** Teams takes every target Slack does not claim: stored conversations, `user:<AAD id>`. */
  owns(_target: string): boolean {
    return true;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /**
   * Posts to a stored conversation: its id, a channel id, or `user:<AAD object id>` for a personal chat.
   *
   * @example
   * const handle = await teams.post('19:ops@thread.tacv2', reply(text('checkout: 62% of the error budget left')));
   */
  async post(target: string, message: Reply): Promise<MessageHandle> {
    const conversation = await this.#conversations.find(target);
    return this.#sender.post(
      conversation.reference as ConversationReference,
      channelOf(conversation),
      message,
    );
  }

  async #receive(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const { logger } = this.#options;
    let body: unknown;
    try {
      body = JSON.parse((await ctx.readBody()).toString('utf8'));
    } catch (error) {
      // Only a body that is not JSON is ours to answer; a refused read (too large, too slow) is the server's.
      if (!(error instanceof SyntaxError)) throw error;
      return sendJson(res, 400, { error: 'the body must be a JSON activity' });
    }
    // botbuilder answers a malformed activity with a 500 or fails further in; it never sees one.
    const read = readActivity(body);
    if (!read.ok) return sendJson(res, 400, { error: read.problem });
    const activity = read.activity;
    if (this.#tokens) {
      try {
        await this.#tokens.verify(req.headers.authorization, {
          serviceUrl: activity.serviceUrl,
          channelId: activity.channelId,
        });
      } catch (error) {
        if (!(error instanceof ChannelAuthError)) throw error;
        logger.warn(
          { route: ctx.route, status: error.status, reason: error.reason },
          'teams: request refused',
        );
        if (error.status === 503) {
          return sendJson(
            res,
            503,
            { error: 'the caller cannot be verified right now' },
            { 'retry-after': '30' },
          );
        }
        return sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      }
    }
    // A validly signed activity may come from any tenant the bot is installed in; only allowed ones
    // are answered, and nothing of the others is stored.
    if (!this.#tenantAllowed(activity)) {
      await this.#refuseTenant(activity);
      return sendJson(res, 403, { error: 'this bot does not answer activities from this tenant' });
    }
    const request: BotRequest = { method: 'POST', headers: req.headers, body: activity };
    await this.#cloud.process(request, responseFor(res), (turn) => this.#turn(turn, ctx.track));
  }

  /** Every tenant the activity names must be allowed, and it must name one, when a list is set. */
  #tenantAllowed(activity: IncomingActivity): boolean {
    const allowed = this.#allowedTenants;
    if (!allowed) return true;
    const tenants = tenantsOf(activity);
    return tenants.length > 0 && tenants.every((tenant) => allowed.includes(tenant));
  }

  async #refuseTenant(activity: IncomingActivity): Promise<void> {
    const { logger, services } = this.#options;
    // The ids come from the caller: kept short so a refused request cannot bloat the trail.
    const tenants = tenantsOf(activity).map((tenant) => tenant.slice(0, 64));
    logger.warn(
      { tenants, type: activity.type },
      'teams: activity from a tenant that is not allowed refused',
    );
    try {
      await services.audit.append({
        actor: (activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown').slice(0, 128),
        surface: 'teams',
        channel: routerChannel(activity as Partial<Activity>),
        action: 'teams.tenant_refused',
        args: { tenants, type: activity.type },
        outcome: 'denied',
        code: ErrorCode.PermissionDenied,
      });
    } catch (error) {
      // The 403 stands either way; the log line above already says what was refused.
      logger.error({ err: error }, 'teams: could not audit a refused tenant');
    }
  }

  async #turn(turn: TurnContext, track: <T>(work: Promise<T>) => Promise<T>): Promise<void> {
    const activity = turn.activity;
    const ref = newRef();
    try {
      switch (activity.type) {
        case ActivityTypes.Message:
          return await this.#onMessage(turn, track);
        case ActivityTypes.Invoke:
          return await this.#onInvoke(turn, track);
        case ActivityTypes.ConversationUpdate:
          return await this.#onConversationUpdate(turn);
        case ActivityTypes.InstallationUpdate:
          if (/^remove/.test(activity.action ?? '')) await this.#conversations.forget(activity);
          else await this.#conversations.remember(activity);
          return;
        default:
          return;
      }
    } catch (error) {
      this.#options.logger.error({ ref, err: error, type: activity.type }, 'teams: activity failed');
      if (activity.type === ActivityTypes.Invoke) {
        await invokeResponse(turn, 500, {
          statusCode: 500,
          type: 'application/vnd.microsoft.error',
          value: { code: 'InternalError', message: `something broke on our side (reference ${ref})` },
        });
      }
    }
  }

  async #onMessage(turn: TurnContext, track: <T>(work: Promise<T>) => Promise<T>): Promise<void> {
    const activity = turn.activity;
    await this.#conversations.remember(activity);
    const reference = TurnContext.getConversationReference(activity) as ConversationReference;
    const channel = routerChannel(activity);
    const submission = readSubmission(activity.value);
    if (submission) {
      // Action.Submit: the card is updated in place once the command has run.
      void track(
        this.#click(submission, activity, channel, track).catch((error) =>
          this.#failed(error, 'card submit'),
        ),
      );
      return;
    }
    const line = commandText(activity);
    void track(
      this.#runMessage(reference, activity, channel, line).catch((error) => this.#failed(error, 'message')),
    );
  }

  async #onInvoke(turn: TurnContext, track: <T>(work: Promise<T>) => Promise<T>): Promise<void> {
    const activity = turn.activity;
    if (activity.name !== 'adaptiveCard/action') return invokeResponse(turn, 200, undefined);
    await this.#conversations.remember(activity);
    const submission = readSubmission(activity.value);
    if (!submission) {
      return invokeResponse(turn, 200, {
        statusCode: 400,
        type: 'application/vnd.microsoft.error',
        value: { code: 'BadRequest', message: 'this is not a Millwright card action' },
      });
    }
    const waitMs = this.#options.io?.invokeWaitMs ?? 4000;
    const card = await this.#click(submission, activity, routerChannel(activity), track, waitMs);
    await invokeResponse(turn, 200, { statusCode: 200, type: CARD_CONTENT_TYPE, value: card });
  }

  async #onConversationUpdate(turn: TurnContext): Promise<void> {
    const activity = turn.activity;
    const botId = activity.recipient?.id;
    if (activity.membersRemoved?.some((member) => member.id === botId)) {
      await this.#conversations.forget(activity);
      return;
    }
    await this.#conversations.remember(activity);
    if (activity.membersAdded?.some((member) => member.id === botId)) {
      const welcome = reply(
        header('Millwright is here'),
        text(
          activity.conversation?.conversationType === 'personal'
            ? 'Type a command, like *help* or *deploys checkout*.'
            : 'Mention me with a command, like *@Millwright help* or *@Millwright deploys checkout*.',
        ),
        contextBlock('Every command and decision is recorded in the audit trail.'),
      );
      await this.#sender.post(
        TurnContext.getConversationReference(activity) as ConversationReference,
        routerChannel(activity),
        welcome,
      );
    }
  }

  async #runMessage(
    reference: ConversationReference,
    activity: Activity,
    channel: string,
    line: string,
  ): Promise<void> {
    const speaker = await this.#roster.speaker(activity, reference);
    const sink: ReplySink = { send: (progress) => this.#sender.post(reference, channel, progress) };
    const answer = await this.#options.handle({
      actor: speaker.actor,
      surface: 'teams',
      channel,
      text: line,
      sink,
    });
    await this.#sender.post(reference, channel, answer);
  }

  /** A button or form on a Millwright card (see card-click.ts); resolves with the card to answer with. */
  #click(
    submission: CardSubmission,
    activity: Activity,
    channel: string,
    track: <T>(work: Promise<T>) => Promise<T>,
    waitMs?: number,
  ): Promise<AdaptiveCard> {
    return clickCard(
      {
        runtime: { ...this.#options, clock: this.#clock },
        roster: this.#roster,
        cards: this.#cards,
        sender: this.#sender,
        clock: this.#clock,
        failed: (error, what) => this.#failed(error, what),
      },
      { submission, activity, channel, track, ...(waitMs === undefined ? {} : { waitMs }) },
    );
  }

  #failed(error: unknown, what: string): void {
    const failure = asMillwrightError(error);
    this.#options.logger.error({ err: failure.cause ?? failure, what }, 'teams: could not answer');
  }
}

function channelOf(conversation: StoredConversation): string {
  return conversation.channelId ?? conversation.id;
}
