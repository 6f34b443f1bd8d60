// Interactive cards Millwright posted (collection `teams_cards`): the Reply behind each one, so a
// click can redraw it in place, and who claimed which button, so an approval runs once.
import type { ConversationReference } from 'botbuilder';
import type { Reply } from '../../src/core/index.js';
import type { Store, StoredRecord } from '../../src/store/index.js';
import type { CardElement, FormState } from './adaptive-card.js';
import { baseConversationId } from './conversations.js';

export const CARDS = 'teams_cards';
/** Cards older than this are forgotten; a click on one is still checked, but only the outcome is drawn. */
const RETENTION_MS = 7 * 24 * 3600_000;

export interface ButtonClaim {
  by: string;
  state: 'running' | 'done';
  at: string;
}

/** A card as posted; the ledger adds its key, claims and the time. */
export interface PostedCard {
  conversationId: string;
  activityId: string;
  channel: string;
  reference: Partial<ConversationReference>;
  reply: Reply;
  /** The tokens the card was posted with, by command, so a redrawn card keeps their expiry. */
  tokens: Record<string, string>;
}

export interface StoredCard extends StoredRecord {
  conversationId: string;
  activityId: string;
  /** The router channel the card's tokens are bound to. */
  channel: string;
  /** Where the card lives (no activity id). */
  reference: Partial<ConversationReference>;
  reply: Reply;
  /** The tokens the card was posted with, by command. */
  tokens: Record<string, string>;
  /** Blocks no longer drawn: a decided approval's buttons, a form that went through. */
  spent: number[];
  /** Who is deciding or decided each block (Approve and Deny share one), by block index. */
  claims: Record<string, ButtonClaim>;
  /** Drawn under the reply: who decided what. */
  decision?: CardElement[];
  /** Drawn under that: why the last click was refused. */
  notice?: CardElement[];
  formState?: FormState;
  createdAt: string;
}

export function cardKey(conversationId: string, activityId: string): string {
  return `${baseConversationId(conversationId)}|${activityId}`;
}

/**
 * The store of interactive cards.
 *
 * @example
 * await ledger.save({ conversationId, activityId, channel, reference, reply, tokens });
 * const claim = await ledger.claim(cardKey(conversationId, activityId), 2, 'Ana');
 */
export class CardLedger {
  #prunedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
  ) {}

  async save(card: PostedCard): Promise<void> {
    await this.store.put<StoredCard>(CARDS, {
      ...card,
      id: cardKey(card.conversationId, card.activityId),
      spent: [],
      claims: {},
      createdAt: this.now().toISOString(),
    });
    await this.#prune();
  }

  get(key: string): Promise<StoredCard | undefined> {
    return this.store.get<StoredCard>(CARDS, key);
  }

  /**
   * Takes a block's buttons (or its form) for one person, so a decision is made once. Refused while
   * someone else's click runs or after it went through; a refused or failed click releases it, so
   * the right person can still press it.
   */
  async claim(
    key: string,
    block: number,
    by: string,
  ): Promise<{ ok: true } | { ok: false; holder: ButtonClaim }> {
    let holder: ButtonClaim | undefined;
    await this.store.update<StoredCard>(CARDS, key, (card) => {
      if (!card) return card;
      const existing = card.claims[String(block)];
      if (existing) {
        holder = existing;
        return card;
      }
      const claim: ButtonClaim = { by, state: 'running', at: this.now().toISOString() };
      return { ...card, claims: { ...card.claims, [String(block)]: claim } };
    });
    return holder ? { ok: false, holder } : { ok: true };
  }

  /**
   * Records the outcome of the claimed click: a click that spent its token (it ran, whether or not it
   * succeeded) spends its block, so the card no longer offers it; one refused before running releases it.
   */
  async settle(
    key: string,
    block: number,
    outcome: { spent: boolean; shown: CardElement[]; formState?: FormState },
  ): Promise<StoredCard | undefined> {
    return this.store.update<StoredCard>(CARDS, key, (card) => {
      if (!card) return card;
      const claims = { ...card.claims };
      const claim = claims[String(block)];
      const { formState: _previous, notice: _refused, ...rest } = card;
      if (!outcome.spent) {
        delete claims[String(block)];
        return {
          ...rest,
          claims,
          notice: outcome.shown,
          ...(outcome.formState ? { formState: outcome.formState } : {}),
        };
      }
      if (claim) claims[String(block)] = { ...claim, state: 'done' };
      return { ...rest, claims, spent: [...new Set([...card.spent, block])], decision: outcome.shown };
    });
  }

  /** Shows why a click that claimed nothing was refused; an earlier decision stays. */
  note(key: string, notice: CardElement[]): Promise<StoredCard | undefined> {
    return this.store.update<StoredCard>(CARDS, key, (card) => (card ? { ...card, notice } : card));
  }

  async #prune(): Promise<void> {
    const now = this.now().getTime();
    if (now - this.#prunedAt < 3600_000) return;
    this.#prunedAt = now;
    const stale = await this.store.list<StoredCard>(
      CARDS,
      (card) => now - new Date(card.createdAt).getTime() > RETENTION_MS,
    );
    for (const card of stale) await this.store.delete(CARDS, card.id);
  }
}
