// Renders a platform-neutral Reply as an Adaptive Card (schema 1.5): TextBlock, FactSet, Table,
// Image, ActionSet with Action.Execute, and typed inputs for forms. Pure: no I/O, no botbuilder.
import {
  type ActionsBlock,
  type Block,
  type FormBlock,
  type FormField,
  prefillNote,
  prefillRefusal,
  type Reply,
  replyToText,
} from '../../src/core/index.js';
import { splitPreformatted, toCardMarkdown } from './card-markdown.js';

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
/** Action.Execute verbs; the `data` of every Millwright button or form carries a `millwright` object. */
export const ACTION_VERB = 'millwright.action';
export const FORM_VERB = 'millwright.form';
/** Rows beyond this are summarised; Teams refuses cards over about 28 KB. */
export const MAX_TABLE_ROWS = 40;

export type CardElement = { type: string } & Record<string, unknown>;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: '1.5';
  body: CardElement[];
  fallbackText?: string;
}

/** What a Millwright button or form sends back (`data.millwright`). */
export interface CardActionData {
  kind: 'action' | 'form';
  /** Signed, expiring, channel-bound token holding the command line. */
  token: string;
  /** Index of the block in the reply, so the card can be redrawn without it once it is spent. */
  block: number;
}

/** Values typed into a form, and messages to show beside fields, after a refused submit. */
export interface FormState {
  block: number;
  values: Record<string, string>;
  errors: Record<string, string>;
}

export interface CardRenderOptions {
  /** Signs a command for a button or form that carries no token of its own. */
  sign: (command: string) => string;
  /** Blocks not to draw (a spent approval's buttons). */
  omit?: ReadonlySet<number>;
  formState?: FormState;
  /** Elements after the reply: who decided what, or why a click was refused. */
  after?: CardElement[];
}

/**
 * The id of a form input, unique per card and readable back on submit.
 *
 * @example
 * inputId(3, 'replicas') // 'mw.3.replicas'
 */
export function inputId(block: number, field: string): string {
  return `mw.${block}.${field}`;
}

/**
 * Renders a Reply as an Adaptive Card 1.5.
 *
 * @example
 * const card = renderCard(reply(header('Deploys'), table(['service'], [['checkout']])), { sign: (c) => signer.sign({ command: c, channel }) });
 */
export function renderCard(value: Reply, options: CardRenderOptions): AdaptiveCard {
  const body: CardElement[] = [];
  if (!value.ok && value.error) body.push(errorContainer(value));
  value.blocks.forEach((block, index) => {
    if (!options.omit?.has(index)) body.push(...renderBlock(block, index, options));
  });
  body.push(...(options.after ?? []));
  if (body.length === 0) body.push(textBlock('(no output)', { isSubtle: true }));
  const fallback = replyToText(value);
  return {
    type: 'AdaptiveCard',
    $schema: CARD_SCHEMA,
    version: '1.5',
    body,
    ...(fallback ? { fallbackText: fallback.slice(0, 1000) } : {}),
  };
}

/** A TextBlock that wraps; `text` is already card markdown. */
export function textBlock(text: string, extra: Record<string, unknown> = {}): CardElement {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/** A highlighted section (`good` for a decision, `attention` for a refusal). */
export function callout(
  style: 'good' | 'attention' | 'accent' | 'emphasis',
  items: CardElement[],
): CardElement {
  return { type: 'Container', style, items, spacing: 'medium' };
}

function errorContainer(value: Reply): CardElement {
  const error = value.error!;
  const items = [textBlock(`**Error:** ${toCardMarkdown(error.message)}`, { color: 'attention' })];
  if (error.hint) items.push(textBlock(`Hint: ${toCardMarkdown(error.hint)}`, { isSubtle: true }));
  if (value.ref && error.code === 'millwright_internal') {
    items.push(textBlock(`Reference: ${value.ref}`, { isSubtle: true, size: 'small' }));
  }
  return callout('attention', items);
}

function renderBlock(block: Block, index: number, options: CardRenderOptions): CardElement[] {
  switch (block.type) {
    case 'header':
      return [textBlock(block.text, { size: 'large', weight: 'bolder', style: 'heading' })];
    case 'text':
      return splitPreformatted(block.text).map((part) =>
        part.code ? textBlock(part.text, { fontType: 'monospace' }) : textBlock(toCardMarkdown(part.text)),
      );
    case 'context':
      return [textBlock(toCardMarkdown(block.text), { size: 'small', isSubtle: true })];
    case 'fields':
      return [
        {
          type: 'FactSet',
          facts: block.fields.map((field) => ({ title: field.label, value: toCardMarkdown(field.value) })),
        },
      ];
    case 'list': {
      const items = block.items.map(
        (item, i) => `${block.ordered ? `${i + 1}.` : '-'} ${toCardMarkdown(item)}`,
      );
      return items.length ? [textBlock(items.join('\n'))] : [];
    }
    case 'table':
      return renderTable(block.columns, block.rows);
    case 'image':
      return [{ type: 'Image', url: block.url, altText: block.alt, size: 'stretch' }];
    case 'actions':
      return block.actions.length ? [renderActions(block, index, options)] : [];
    case 'form':
      return [renderForm(block, index, options)];
  }
}

function renderTable(columns: string[], rows: string[][]): CardElement[] {
  const cell = (text: string, bold = false): CardElement => ({
    type: 'TableCell',
    items: [textBlock(toCardMarkdown(text), bold ? { weight: 'bolder' } : {})],
  });
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  const elements: CardElement[] = [
    {
      type: 'Table',
      columns: columns.map(() => ({ width: 1 })),
      firstRowAsHeader: true,
      rows: [
        { type: 'TableRow', cells: columns.map((column) => cell(column, true)) },
        ...shown.map((row) => ({ type: 'TableRow', cells: columns.map((_, i) => cell(row[i] ?? '')) })),
      ],
    },
  ];
  if (rows.length === 0) elements.push(textBlock('(none)', { isSubtle: true }));
  if (rows.length > shown.length) {
    elements.push(
      textBlock(
        `${rows.length - shown.length} more rows not shown; the shell's --json output has them all.`,
        {
          size: 'small',
          isSubtle: true,
        },
      ),
    );
  }
  return elements;
}

function renderActions(block: ActionsBlock, index: number, options: CardRenderOptions): CardElement {
  return {
    type: 'ActionSet',
    actions: block.actions.map((action) => ({
      type: 'Action.Execute',
      id: action.id,
      title: action.label,
      verb: ACTION_VERB,
      data: {
        millwright: { kind: 'action', token: action.token ?? options.sign(action.command), block: index },
      },
      ...(action.style === 'primary'
        ? { style: 'positive' }
        : action.style === 'danger'
          ? { style: 'destructive' }
          : {}),
    })),
  };
}

function renderForm(block: FormBlock, index: number, options: CardRenderOptions): CardElement {
  const state = options.formState?.block === index ? options.formState : undefined;
  const items: CardElement[] = [textBlock(block.title, { weight: 'bolder' })];
  for (const field of block.fields) {
    const typed = state?.values[field.name];
    // A prefill the field cannot take (an alert's `replicas=six`) is left out and named beside it.
    const problem = typed === undefined ? prefillRefusal(field) : undefined;
    const given = field.default === undefined || problem ? undefined : String(field.default);
    items.push(renderInput(field, index, typed ?? given, problem !== undefined));
    if (problem) {
      // A RichTextBlock's text is never read as markdown: a value from an alert cannot turn into a link.
      items.push({
        type: 'RichTextBlock',
        spacing: 'none',
        inlines: [{ type: 'TextRun', text: prefillNote(field, problem), isSubtle: true, size: 'small' }],
      });
    }
    const error = state?.errors[field.name];
    if (error)
      items.push(textBlock(toCardMarkdown(error), { color: 'attention', size: 'small', spacing: 'none' }));
  }
  items.push({
    type: 'ActionSet',
    actions: [
      {
        type: 'Action.Execute',
        title: block.submitLabel,
        verb: FORM_VERB,
        style: 'positive',
        data: {
          millwright: { kind: 'form', token: block.token ?? options.sign(block.command), block: index },
        },
      },
    ],
  });
  return { type: 'Container', items };
}

/**
 * The input for a field, showing `initial` (what the person typed, else a prefill it can take).
 * `refused`: a prefill was left out, so a switch is drawn as an unchosen yes/no (a toggle always sends
 * a value, and would send "false" for a value nobody gave).
 */
function renderInput(
  field: FormField,
  block: number,
  initial: string | undefined,
  refused = false,
): CardElement {
  const common = {
    id: inputId(block, field.name),
    label: field.label,
    isRequired: field.required,
    ...(field.required ? { errorMessage: `${field.label} is required` } : {}),
  };
  switch (field.type) {
    case 'int':
    case 'number': {
      const number = initial === undefined || initial.trim() === '' ? Number.NaN : Number(initial);
      return {
        type: 'Input.Number',
        ...common,
        ...(field.description ? { placeholder: field.description } : {}),
        ...(field.min === undefined ? {} : { min: field.min }),
        ...(field.max === undefined ? {} : { max: field.max }),
        ...(Number.isFinite(number) ? { value: number } : {}),
      };
    }
    case 'bool':
      if (refused)
        return {
          type: 'Input.ChoiceSet',
          ...common,
          style: 'expanded',
          choices: [
            { title: 'Yes', value: 'true' },
            { title: 'No', value: 'false' },
          ],
        };
      return {
        type: 'Input.Toggle',
        ...common,
        title: field.description ?? field.label,
        valueOn: 'true',
        valueOff: 'false',
        value: initial === 'true' ? 'true' : 'false',
      };
    case 'enum':
      return {
        type: 'Input.ChoiceSet',
        ...common,
        style: 'compact',
        choices: (field.options ?? []).map((option) => ({ title: option, value: option })),
        ...(field.description ? { placeholder: field.description } : {}),
        ...(initial === undefined ? {} : { value: initial }),
      };
    case 'duration':
    case 'string':
      return {
        type: 'Input.Text',
        ...common,
        placeholder:
          field.description ?? (field.type === 'duration' ? 'a duration like 10m or 1h30m' : field.label),
        ...(initial === undefined ? {} : { value: initial }),
      };
  }
}
