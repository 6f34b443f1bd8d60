// What a card shows after a click: who ran what and its result, or who was refused and why, and a
// form's typed values with the error beside the field that caused it.
import { type Reply, refusedBeforeRunning } from '../../src/core/index.js';
import { type CardElement, callout, type FormState, textBlock } from './adaptive-card.js';
import { toCardMarkdown } from './card-markdown.js';

/** Whether a reply has buttons or a form (and so must be remembered for their clicks). */
export function hasInteraction(message: Reply): boolean {
  return message.blocks.some((block) => block.type === 'actions' || block.type === 'form');
}

/**
 * The outcome of a click as card elements: the decision with the result drawn below it (unless the
 * result has its own buttons, which get their own message), or the refusal; a form keeps its values.
 *
 * @example
 * const { shown, formState } = clickOutcome(answer, { who: 'Ana', command: 'change approve CR-1', at, draw });
 */
export function clickOutcome(
  answer: Reply,
  options: {
    who: string;
    command: string;
    at: string;
    /** Draws a result's blocks as card elements. */
    draw: (answer: Reply) => CardElement[];
    /** A submitted form: its block and the values typed. */
    form?: { block: number; values: Record<string, string> };
  },
): { shown: CardElement[]; formState?: FormState; interactive: boolean } {
  const { who, command, at, form } = options;
  if (answer.ok) {
    const interactive = hasInteraction(answer);
    return { shown: [decision(who, command, at, interactive ? [] : options.draw(answer))], interactive };
  }
  const error = answer.error;
  const field = error?.field;
  // A command that ran and failed is not a refusal: it says who ran it and what went wrong.
  if (!refusedBeforeRunning(answer)) {
    return { shown: [failed(who, command, at, answer, options.draw(answer))], interactive: false };
  }
  const shown = [refusal(who, error?.message ?? 'the command failed', error?.hint, answer)];
  return form && field
    ? { shown, interactive: false, formState: { ...form, errors: { [field]: error.message } } }
    : { shown, interactive: false };
}

function decision(who: string, command: string, at: string, result: CardElement[]): CardElement {
  return callout('good', [textBlock(`**${who}** ran ${command} · ${at}`, { weight: 'bolder' }), ...result]);
}

function failed(who: string, command: string, at: string, answer: Reply, result: CardElement[]): CardElement {
  const items = [
    textBlock(`**${who}** ran ${command} · ${at}: it failed`, { weight: 'bolder', color: 'attention' }),
    textBlock(toCardMarkdown(answer.error?.message ?? 'the command failed'), { color: 'attention' }),
  ];
  if (answer.error?.hint)
    items.push(textBlock(`Hint: ${toCardMarkdown(answer.error.hint)}`, { isSubtle: true }));
  if (answer.ref && answer.error?.code === 'millwright_internal') {
    items.push(textBlock(`Reference: ${answer.ref}`, { isSubtle: true, size: 'small' }));
  }
  return callout('attention', [...items, ...result]);
}

/** Who was refused and why, with the hint (and the reference of an internal failure). */
export function refusal(who: string, why: string, hint?: string, answer?: Reply): CardElement {
  const items = [textBlock(`**${who}** was refused: ${toCardMarkdown(why)}`, { color: 'attention' })];
  if (hint) items.push(textBlock(`Hint: ${toCardMarkdown(hint)}`, { isSubtle: true }));
  if (answer?.ref && answer.error?.code === 'millwright_internal') {
    items.push(textBlock(`Reference: ${answer.ref}`, { isSubtle: true, size: 'small' }));
  }
  return callout('attention', items);
}
