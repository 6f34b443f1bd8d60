// How Millwright's replies reach Teams: rendered as Adaptive Cards, sent and updated through the Bot
// Connector under its service URL's shared policy, and remembered when they carry buttons or forms.
import { type Activity, type CloudAdapter, type ConversationReference, TurnContext } from 'botbuilder';
import {
  type Clock,
  isConnectionError,
  type Logger,
  type MessageHandle,
  parseRetryAfter,
  type Reply,
  reply,
  type Services,
  type UpstreamResilience,
} from '../../src/core/index.js';
import { type AdaptiveCard, type CardElement, callout, renderCard, textBlock } from './adaptive-card.js';
import { cardActivity } from './bot-activities.js';
import { type CardLedger, cardKey, type StoredCard } from './card-ledger.js';
import { hasInteraction } from './card-outcome.js';
import type { CardSubmission } from './card-submission.js';
import { ConnectorTimeout } from './connector-clients.js';
import { connectorError } from './connector-error.js';
import { routerChannel } from './conversations.js';
import { displayName } from './roster.js';

export interface CardSenderParts {
  cloud: CloudAdapter;
  /** The bot's app id; empty when incoming tokens are not verified (local development). */
  appId: string;
  cards: CardLedger;
  actions: Services['actions'];
  upstreams: UpstreamResilience;
  clock: Clock;
  logger: Logger;
}

/**
 * Sends, updates and redraws Millwright's cards in Teams.
 *
 * @example
 * const cards = new CardSender({ cloud, appId, cards: ledger, actions, upstreams, clock, logger });
 * const handle = await cards.post(reference, '19:ops@thread.tacv2', reply(text('checkout is healthy')));
 */
export class CardSender {
  readonly #cloud: CloudAdapter;
  readonly #appId: string;
  readonly #cards: CardLedger;
  readonly #actions: Services['actions'];
  readonly #upstreams: UpstreamResilience;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(parts: CardSenderParts) {
    this.#cloud = parts.cloud;
    this.#appId = parts.appId;
    this.#cards = parts.cards;
    this.#actions = parts.actions;
    this.#upstreams = parts.upstreams;
    this.#clock = parts.clock;
    this.#logger = parts.logger;
  }

  /**
   * Draws the card as it stands now and updates the posted message in place for everyone. Without
   * a stored card (forgotten, or never Millwright's) only the outcome is drawn, for the clicker.
   */
  async redraw(card: StoredCard | undefined, outcome: CardElement[], channel: string): Promise<AdaptiveCard> {
    if (!card) return renderCard(reply(), { ...this.signer(channel), after: outcome });
    const drawn = renderCard(card.reply, {
      ...this.signer(card.channel, card.tokens),
      omit: new Set(card.spent),
      after: [...(card.decision ?? []), ...(card.notice ?? [])],
      ...(card.formState ? { formState: card.formState } : {}),
    });
    await this.#update(card.reference as ConversationReference, card.activityId, drawn, card.reply);
    return drawn;
  }

  async interimCard(submission: CardSubmission, activity: Activity): Promise<AdaptiveCard> {
    const key = activity.replyToId ? cardKey(activity.conversation.id, activity.replyToId) : undefined;
    const stored = key ? await this.#cards.get(key) : undefined;
    const running = callout('accent', [
      textBlock(
        `**${displayName(activity)}** pressed it; the command is still running and this card will update.`,
      ),
    ]);
    if (!stored) return renderCard(reply(), { ...this.signer(routerChannel(activity)), after: [running] });
    return renderCard(stored.reply, {
      ...this.signer(stored.channel, stored.tokens),
      omit: new Set([...stored.spent, submission.block]),
      after: [running],
    });
  }

  /** Sends a reply as a card; replies with buttons or forms are remembered for their clicks. */
  async post(reference: ConversationReference, channel: string, message: Reply): Promise<MessageHandle> {
    const tokens: Record<string, string> = {};
    const card = renderCard(message, this.signer(channel, tokens));
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
        await this.#update(reference, activityId, renderCard(next, this.signer(channel, tokens)), next);
        await remember(next);
      },
    };
  }

  /**
   * One Bot Connector call through its service URL's shared policy: an update (PUT, the same card
   * however often it lands) is retried after an outage, a post only after a 429 (not acted on),
   * each after its Retry-After; after repeated outages calls fail fast with "... circuit open since ...".
   */
  connector(
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
          this.#logger.warn(
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
    await this.connector(reference, 'post', () =>
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
    await this.connector(reference, 'update', () =>
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
  signer(channel: string, tokens?: Record<string, string>): { sign: (command: string) => string } {
    return {
      sign: (command) => {
        const known = tokens?.[command];
        if (known) return known;
        const token = this.#actions.sign({ command, channel });
        if (tokens) tokens[command] = token;
        return token;
      },
    };
  }
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
