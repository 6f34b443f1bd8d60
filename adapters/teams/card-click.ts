// A click on a Millwright card in Teams (a button, or a form's submit), through the shared interaction
// flow: run as the clicker, single use per card, and the card redrawn for everyone with the outcome.
import { type Activity, type ConversationReference, TurnContext } from 'botbuilder';
import {
  type Clock,
  ErrorCode,
  formatAbsolute,
  type InteractionRuntime,
  MillwrightError,
  runInteraction,
} from '../../src/core/index.js';
import { type AdaptiveCard, renderCard } from './adaptive-card.js';
import { type CardLedger, cardKey } from './card-ledger.js';
import { clickOutcome, refusal } from './card-outcome.js';
import type { CardSender } from './card-sender.js';
import { type CardSubmission, formValues } from './card-submission.js';
import type { Roster } from './roster.js';

/** What a click needs of the Teams surface. */
export interface CardClickParts {
  runtime: InteractionRuntime;
  roster: Roster;
  cards: CardLedger;
  sender: CardSender;
  clock: Clock;
  /** Logs work that failed after the answer. */
  failed: (error: unknown, what: string) => void;
}

/** One click: what was submitted, from which activity, and how long the invoke may wait. */
export interface CardClick {
  submission: CardSubmission;
  activity: Activity;
  channel: string;
  /** Registers work that outlives the request, so shutdown waits for it. */
  track: <T>(work: Promise<T>) => Promise<T>;
  waitMs?: number;
}

/**
 * A button or form on a Millwright card, through the shared interaction flow; the card is redrawn
 * to say who decided what, or why not. Resolves with the card to answer with: the outcome, or a
 * "still running" card when the command outlasts `waitMs` (the card is updated when it is done).
 */
export async function clickCard(parts: CardClickParts, click: CardClick): Promise<AdaptiveCard> {
  const { submission, activity, channel, track, waitMs } = click;
  const speaker = await parts.roster.speaker(activity);
  const key = activity.replyToId ? cardKey(activity.conversation.id, activity.replyToId) : undefined;
  const stored = key ? await parts.cards.get(key) : undefined;
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
    parts.runtime,
    {
      refuse: async (failure) => {
        const notice = [refusal(speaker.shown, failure.message, failure.hint)];
        card = await parts.sender.redraw(
          key && stored ? await parts.cards.note(key, notice) : undefined,
          notice,
          channel,
        );
      },
      // Single use: the first click claims the card; a late or concurrent one is refused.
      claim: async () => {
        const claim =
          key && stored ? await parts.cards.claim(key, submission.block, speaker.shown) : undefined;
        if (!claim || claim.ok) return undefined;
        const { holder } = claim;
        return holder.state === 'done'
          ? new MillwrightError(ErrorCode.PermissionDenied, `this was already done by ${holder.by}`)
          : new MillwrightError(ErrorCode.PermissionDenied, `${holder.by} is already running this`, {
              hint: 'wait for their result on this card',
            });
      },
      sink: () => ({ send: (progress) => parts.sender.post(threadOfCard, channel, progress) }),
      pending: async () => {
        card = await parts.sender.interimCard(submission, activity);
      },
      later: (work) => void track(work().catch((error) => parts.failed(error, 'card action'))),
      deliver: async (answer, command, spent) => {
        const { shown, formState, interactive } = clickOutcome(answer, {
          who: speaker.shown,
          command,
          at: formatAbsolute(parts.clock.now()),
          draw: (result) => renderCard(result, parts.sender.signer(channel)).body,
          ...(submission.kind === 'form' ? { form: { block: submission.block, values } } : {}),
        });
        // A reply with its own buttons gets its own message, so its clicks find their card.
        if (interactive) await parts.sender.post(threadOfCard, channel, answer);
        const settled =
          key && stored
            ? await parts.cards.settle(key, submission.block, {
                spent: spent !== undefined,
                shown,
                ...(formState ? { formState } : {}),
              })
            : undefined;
        card = await parts.sender.redraw(settled, shown, channel);
      },
    },
  );
  return card!;
}
