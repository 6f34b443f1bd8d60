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
  formatAbsolute,
  header,
  isConnectionError,
  type Logger,
  type MessageHandle,
  MillwrightError,
  newRef,
  parseDuration,
  parseRetryAfter,
  type Reply,
  type ReplySink,
  type RouteHost,
  reply,
  runInteraction,
  type Services,
  systemClock,
  text,
  UpstreamResilience,
} from '../../src/core/index.js';
import { type RequestContext, sendJson } from '../../src/server/index.js';
import {
  type AdaptiveCard,
  CARD_CONTENT_TYPE,
  type CardElement,
  callout,
  renderCard,
  textBlock,
} from './adaptive-card.js';
import { cardActivity, invokeResponse, responseFor } from './bot-activities.js';
import { BotCredentials, createBotAuthentication, resolveTeamsAuth, type TeamsConfig } from './bot-auth.js';
import { CardLedger, cardKey, type StoredCard } from './card-ledger.js';
import { clickOutcome, hasInteraction, refusal } from './card-outcome.js';
import { type CardSubmission, formValues, readSubmission } from './card-submission.js';
import { ChannelAuthError, ChannelTokenValidator } from './channel-token.js';
import { commandText } from './command-text.js';
import { ConnectorTimeout, withPolicyConnectors } from './connector-clients.js';
import { connectorError } from './connector-error.js';
import { ConversationDirectory, routerChannel, type StoredConversation } from './conversations.js';
import { type IncomingActivity, readActivity, tenantsOf } from './incoming-activity.js';
import { displayName, Roster } from './roster.js';

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
    this.#roster = new Roster({
      cloud: this.#cloud,
      appId: this.#appId,
      clock: this.#clock,
      logger: options.logger,
      read: (reference, read) => this.#connector(reference, 'read', read),
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
    return this.#postReply(conversation.reference as ConversationReference, channelOf(conversation), message);
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
      await this.#postReply(
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
    const sink: ReplySink = { send: (progress) => this.#postReply(reference, channel, progress) };
    const answer = await this.#options.handle({
      actor: speaker.actor,
      surface: 'teams',
      channel,
      text: line,
      sink,
    });
    await this.#postReply(reference, channel, answer);
  }

  /**
   * A button or form on a Millwright card, through the shared interaction flow; the card is redrawn
   * to say who decided what, or why not. Resolves with the card to answer with: the outcome, or a
   * "still running" card when the command outlasts `waitMs` (the card is updated when it is done).
   */
  async #click(
    submission: CardSubmission,
    activity: Activity,
    channel: string,
    track: <T>(work: Promise<T>) => Promise<T>,
    waitMs?: number,
  ): Promise<AdaptiveCard> {
    const speaker = await this.#roster.speaker(activity);
    const key = activity.replyToId ? cardKey(activity.conversation.id, activity.replyToId) : undefined;
    const stored = key ? await this.#cards.get(key) : undefined;
    const threadOfCard = stored
      ? ({ ...stored.reference, activityId: stored.activityId } as ConversationReference)
      : (TurnContext.getConversationReference(activity) as ConversationReference);
    let values: Record<string, string> = {};
    let card: AdaptiveCard | undefined;
    const readForm = () => {
      const form = stored?.reply.blocks[submission.block];
      if (form?.type !== 'form') {
        throw new MillwrightError(ErrorCode.NotFound, 'this form is no longer known', {
          hint: 'run the command again to get a fresh form',
        });
      }
      values = formValues(form, submission.block, submission.inputs);
      return values;
    };
    await runInteraction(
      {
        surface: 'teams',
        channel,
        token: submission.token,
        actor: speaker.actor,
        ...(submission.kind === 'form' ? { form: readForm } : {}),
        ...(waitMs === undefined ? {} : { answerWithinMs: waitMs }),
      },
      { ...this.#options, clock: this.#clock },
      {
        refuse: async (failure) => {
          const notice = [refusal(speaker.shown, failure.message, failure.hint)];
          card = await this.#redraw(
            key && stored ? await this.#cards.note(key, notice) : undefined,
            notice,
            channel,
          );
        },
        // Single use: the first click claims the card; a late or concurrent one is refused.
        claim: async () => {
          const claim =
            key && stored ? await this.#cards.claim(key, submission.block, speaker.shown) : undefined;
          if (!claim || claim.ok) return undefined;
          const { holder } = claim;
          return holder.state === 'done'
            ? new MillwrightError(ErrorCode.PermissionDenied, `this was already done by ${holder.by}`)
            : new MillwrightError(ErrorCode.PermissionDenied, `${holder.by} is already running this`, {
                hint: 'wait for their result on this card',
              });
        },
        sink: () => ({ send: (progress) => this.#postReply(threadOfCard, channel, progress) }),
        pending: async () => {
          card = await this.#interimCard(submission, activity);
        },
        later: (work) => void track(work().catch((error) => this.#failed(error, 'card action'))),
        deliver: async (answer, command, spent) => {
          const { shown, formState, interactive } = clickOutcome(answer, {
            who: speaker.shown,
            command,
            at: formatAbsolute(this.#clock.now()),
            draw: (result) => renderCard(result, this.#signer(channel)).body,
            ...(submission.kind === 'form' ? { form: { block: submission.block, values } } : {}),
          });
          // A reply with its own buttons gets its own message, so its clicks find their card.
          if (interactive) await this.#postReply(threadOfCard, channel, answer);
          const settled =
            key && stored
              ? await this.#cards.settle(key, submission.block, {
                  spent: spent !== undefined,
                  shown,
                  ...(formState ? { formState } : {}),
                })
              : undefined;
          card = await this.#redraw(settled, shown, channel);
        },
      },
    );
    return card!;
  }

  /**
   * Draws the card as it stands now and updates the posted message in place for everyone. Without
   * a stored card (forgotten, or never Millwright's) only the outcome is drawn, for the clicker.
   */
  async #redraw(
    card: StoredCard | undefined,
    outcome: CardElement[],
    channel: string,
  ): Promise<AdaptiveCard> {
    if (!card) return renderCard(reply(), { ...this.#signer(channel), after: outcome });
    const drawn = renderCard(card.reply, {
      ...this.#signer(card.channel, card.tokens),
      omit: new Set(card.spent),
      after: [...(card.decision ?? []), ...(card.notice ?? [])],
      ...(card.formState ? { formState: card.formState } : {}),
    });
    await this.#update(card.reference as ConversationReference, card.activityId, drawn, card.reply);
    return drawn;
  }

  async #interimCard(submission: CardSubmission, activity: Activity): Promise<AdaptiveCard> {
    const key = activity.replyToId ? cardKey(activity.conversation.id, activity.replyToId) : undefined;
    const stored = key ? await this.#cards.get(key) : undefined;
    const running = callout('accent', [
      textBlock(
        `**${displayName(activity)}** pressed it; the command is still running and this card will update.`,
      ),
    ]);
    if (!stored) return renderCard(reply(), { ...this.#signer(routerChannel(activity)), after: [running] });
    return renderCard(stored.reply, {
      ...this.#signer(stored.channel, stored.tokens),
      omit: new Set([...stored.spent, submission.block]),
      after: [running],
    });
  }

  /** Sends a reply as a card; replies with buttons or forms are remembered for their clicks. */
  async #postReply(
    reference: ConversationReference,
    channel: string,
    message: Reply,
  ): Promise<MessageHandle> {
    const tokens: Record<string, string> = {};
    const card = renderCard(message, this.#signer(channel, tokens));
    const activityId = await this.#send(reference, cardActivity(card, message));
    const remember = async (current: Reply) => {
      if (!hasInteraction(current) || !activityId) return;
      const { activityId: _thread, ...where } = reference;
      await this.#cards.save({
        conversationId: reference.conversation.id,
        activityId,
        channel,
        reference: where,
        reply: current,
        tokens: { ...tokens },
      });
    };
    await remember(message);
    return {
      update: async (next) => {
        if (!activityId) return;
        await this.#update(reference, activityId, renderCard(next, this.#signer(channel, tokens)), next);
        await remember(next);
      },
    };
  }

  /**
   * One Bot Connector call through its service URL's shared policy: an update (PUT, the same card
   * however often it lands) is retried after an outage, a post only after a 429 (not acted on),
   * each after its Retry-After; after repeated outages calls fail fast with "... circuit open since ...".
   */
  #connector(
    reference: ConversationReference,
    what: 'post' | 'update' | 'read',
    send: () => Promise<void>,
  ): Promise<void> {
    const url = reference.serviceUrl ?? 'unknown';
    return this.#upstreams
      .policy({ kind: 'bot_connector', target: url, name: `the Bot Connector at ${url}` })
      .call(send, {
        idempotent: what !== 'post',
        notActedOn: (error) => statusOf(error) === 429,
        transient: isConnectorOutage,
        retryAfterMs: (error) => parseRetryAfter(retryAfterOf(error), this.#clock.now()),
        onRetry: (error, attempt, delayMs) =>
          this.#options.logger.warn(
            { serviceUrl: url, what, attempt, delayMs: Math.round(delayMs), status: statusOf(error) },
            'teams: Bot Connector call failed; retrying',
          ),
      })
      .catch((error: unknown) => {
        throw connectorError(error, what, url);
      });
  }

  /**
   * Sends through a proactive turn. The reference is applied here rather than by the turn, whose
   * continuation activity has an id of its own that would become the replyToId.
   */
  async #send(reference: ConversationReference, activity: Partial<Activity>): Promise<string | undefined> {
    let id: string | undefined;
    await this.#connector(reference, 'post', () =>
      this.#cloud.continueConversationAsync(this.#appId, reference, async (turn) => {
        const outgoing = TurnContext.applyConversationReference(
          { ...activity },
          reference,
        ) as Partial<Activity>;
        const [response] = await turn.adapter.sendActivities(turn, [outgoing]);
        id = response?.id;
      }),
    );
    return id;
  }

  async #update(
    reference: ConversationReference,
    activityId: string,
    card: AdaptiveCard,
    message: Reply,
  ): Promise<void> {
    const { activityId: _thread, ...where } = reference;
    await this.#connector(reference, 'update', () =>
      this.#cloud.continueConversationAsync(this.#appId, where as ConversationReference, async (turn) => {
        const outgoing = TurnContext.applyConversationReference(
          { ...cardActivity(card, message), id: activityId },
          where,
        ) as Partial<Activity>;
        await turn.adapter.updateActivity(turn, outgoing);
      }),
    );
  }

  /**
   * Signs button and form commands for a channel. With `tokens`, a command keeps the token it was
   * first signed with (and its expiry) every time the card is drawn again.
   */
  #signer(channel: string, tokens?: Record<string, string>): { sign: (command: string) => string } {
    return {
      sign: (command) => {
        const known = tokens?.[command];
        if (known) return known;
        const token = this.#options.services.actions.sign({ command, channel });
        if (tokens) tokens[command] = token;
        return token;
      },
    };
  }

  #failed(error: unknown, what: string): void {
    const failure = asMillwrightError(error);
    this.#options.logger.error({ err: failure.cause ?? failure, what }, 'teams: could not answer');
  }
}

function channelOf(conversation: StoredConversation): string {
  return conversation.channelId ?? conversation.id;
}

/** A 5xx or 429 from the Bot Connector, a dropped connection, or a request cut at teams.timeout. */
function isConnectorOutage(error: unknown): boolean {
  if (error instanceof ConnectorTimeout) return true;
  const status = statusOf(error);
  if (status !== undefined) return status >= 500 || status === 429;
  return isConnectionError(error);
}

function statusOf(error: unknown): number | undefined {
  const { statusCode } = (error ?? {}) as { statusCode?: unknown };
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** The Retry-After header of a RestError's response (@azure/core-rest-pipeline HttpHeaders). */
function retryAfterOf(error: unknown): string | undefined {
  const headers = (
    error as { response?: { headers?: { get?: (name: string) => string | undefined } } } | null
  )?.response?.headers;
  return typeof headers?.get === 'function' ? headers.get('retry-after') : undefined;
}
