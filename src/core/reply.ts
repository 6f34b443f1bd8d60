// The platform-neutral Reply model: a list of blocks every adapter renders, plus a plain-text
// rendering shared by the shell and by platforms that cannot show a block.

export interface HeaderBlock {
  type: 'header';
  text: string;
}
/** Markdown subset: *bold*, _italic_, `code`, ```preformatted```, <url|label> links, line breaks. */
export interface TextBlock {
  type: 'text';
  text: string;
}
export interface FieldsBlock {
  type: 'fields';
  fields: Array<{ label: string; value: string }>;
}
export interface TableBlock {
  type: 'table';
  columns: string[];
  rows: string[][];
}
export interface ListBlock {
  type: 'list';
  items: string[];
  ordered?: boolean;
}
export interface ReplyAction {
  /** Stable id of the button (for example `approve`). */
  id: string;
  label: string;
  /** The command line the button runs when pressed. */
  command: string;
  style?: 'primary' | 'danger';
  /** Signed, expiring token the adapter checks before running `command`. */
  token?: string;
}
export interface ActionsBlock {
  type: 'actions';
  actions: ReplyAction[];
}
export interface ImageBlock {
  type: 'image';
  url: string;
  alt: string;
}
export interface ContextBlock {
  type: 'context';
  text: string;
}

export interface FormField {
  /** The key the value is sent as (`replicas` becomes `replicas=3`). */
  name: string;
  label: string;
  type: 'string' | 'int' | 'number' | 'bool' | 'enum' | 'duration';
  required: boolean;
  description?: string;
  default?: string | number | boolean;
  /**
   * Why `default` (a prefill from a button or an alert) cannot be used, when the command knows the
   * field's rules better than the form does: the form leaves it out and says so beside the field.
   */
  defaultProblem?: string;
  /** Allowed values for `enum`. */
  options?: readonly string[];
  min?: number;
  max?: number;
  /** The longest text a `string` field takes. */
  maxLength?: number;
}
/**
 * Asks the person for values (a Slack modal, an Adaptive Card with inputs, a prompt in the shell).
 * On submit the adapter runs `command` followed by `name="value"` for each field, as the submitter.
 */
export interface FormBlock {
  type: 'form';
  title: string;
  submitLabel: string;
  command: string;
  fields: FormField[];
  /** Signed, expiring token binding the form to its channel (see src/auth/action-token.ts). */
  token?: string;
}

export type Block =
  | FormBlock
  | HeaderBlock
  | TextBlock
  | FieldsBlock
  | TableBlock
  | ListBlock
  | ActionsBlock
  | ImageBlock
  | ContextBlock;

export interface ReplyError {
  code: string;
  message: string;
  hint?: string;
  /** The argument the error is about, so a form can show it next to that field. */
  field?: string;
}

export interface Reply {
  ok: boolean;
  blocks: Block[];
  error?: ReplyError;
  /** Read-only answers are private to the asker unless they ask for `--public`. */
  visibility?: 'private' | 'public';
  /** Correlation id, shown with failures and written in logs and the audit trail. */
  ref?: string;
  /** The raw values behind the blocks (numbers, ids, states), for `--json` and scripts. */
  data?: Record<string, unknown>;
}

/** A part of an answer that could not be obtained: which part, and the error that kept it out. */
export interface AnswerProblem {
  /** The part, in the reader's words: `checkout: Kubernetes`, `gate rule error-budget`, `suspects`. */
  part: string;
  code: string;
  message: string;
}

/**
 * The answer stands, but some of it could not be obtained (a cluster refused, Prometheus is down):
 * not ok, so the shell exits non-zero, with what could be read kept in the blocks and `data` (which
 * names the missing parts too, in its `problems`). Without problems the answer is returned as is.
 *
 * @example
 * return partialAnswer({ ...reply(...blocks), data: { incident, problems } }, problems);
 */
export function partialAnswer(
  answer: Reply,
  problems: readonly AnswerProblem[],
  options: { label?: string; hint?: string } = {},
): Reply {
  const first = problems[0];
  if (!first) return answer;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return {
    ...answer,
    ok: false,
    error: {
      code: first.code,
      message: `${options.label ?? first.part}: ${first.message}${more}`,
      hint: options.hint ?? 'the rest of the answer stands; see the notes under it',
    },
  };
}

/**
 * Builds a successful reply from blocks.
 *
 * @example
 * return reply(header('Who you are'), fields({ actor: ctx.actor.id }));
 */
export function reply(...blocks: Block[]): Reply {
  return { ok: true, blocks };
}

/** A reply everyone in the channel sees: executions, decisions, incident updates. */
export function publicReply(...blocks: Block[]): Reply {
  return { ok: true, blocks, visibility: 'public' };
}

export const header = (text: string): HeaderBlock => ({ type: 'header', text });
export const text = (value: string): TextBlock => ({ type: 'text', text: value });
export const context = (value: string): ContextBlock => ({ type: 'context', text: value });
export const list = (items: string[], ordered = false): ListBlock => ({ type: 'list', items, ordered });
export const table = (columns: string[], rows: string[][]): TableBlock => ({ type: 'table', columns, rows });
export function fields(
  values: Record<string, string> | Array<{ label: string; value: string }>,
): FieldsBlock {
  const list = Array.isArray(values)
    ? values
    : Object.entries(values).map(([label, value]) => ({ label, value }));
  return { type: 'fields', fields: list };
}

/** Strips the markdown subset down to what a terminal shows well. */
function plainMarkdown(value: string): string {
  return value
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<([^>]+)>/g, '$1')
    .replace(/```/g, '')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1$2')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, '$1$2');
}

function renderTable(block: TableBlock): string {
  const widths = block.columns.map((column, i) =>
    Math.max(column.length, ...block.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(block.columns), line(widths.map((w) => '-'.repeat(w))), ...block.rows.map(line)].join('\n');
}

/** Plain-text rendering of one block, used by the shell and as every platform's fallback. */
export function blockToText(block: Block): string {
  switch (block.type) {
    case 'header':
      return block.text;
    case 'text':
      return plainMarkdown(block.text);
    case 'context':
      return plainMarkdown(block.text);
    case 'fields': {
      const width = Math.max(0, ...block.fields.map((f) => f.label.length));
      return block.fields
        .map((f) => `${`${f.label}:`.padEnd(width + 1)} ${plainMarkdown(f.value)}`)
        .join('\n');
    }
    case 'table':
      return block.rows.length === 0 ? '(none)' : renderTable(block);
    case 'list':
      return block.items
        .map((item, i) => `${block.ordered ? `${i + 1}.` : '-'} ${plainMarkdown(item)}`)
        .join('\n');
    case 'actions':
      return block.actions.map((a) => `[${a.label}] ${a.command}`).join('\n');
    case 'image':
      return `${block.alt} (${block.url})`;
    case 'form':
      return [
        `${block.title}: ${block.command} ${block.fields.map((f) => (f.required ? `${f.name}=...` : `[${f.name}=...]`)).join(' ')}`,
        ...block.fields.map((f) => {
          const allowed = f.options ? ` (one of ${f.options.join(', ')})` : '';
          const bounds =
            f.min !== undefined || f.max !== undefined ? ` (${f.min ?? ''}..${f.max ?? ''})` : '';
          return `  ${f.name}: ${f.description ?? f.label}${allowed}${bounds}${f.default !== undefined ? ` [default ${f.default}]` : ''}`;
        }),
      ].join('\n');
  }
}

/** Plain-text rendering of a whole reply, failures included. */
export function replyToText(value: Reply): string {
  const parts = value.blocks.map(blockToText).filter((part) => part.length > 0);
  if (!value.ok && value.error) {
    const { message, hint } = value.error;
    const lines = [`error: ${message}`];
    if (hint) lines.push(`hint: ${hint}`);
    if (value.ref && value.error.code === 'millwright_internal') lines.push(`reference: ${value.ref}`);
    parts.unshift(lines.join('\n'));
  }
  return parts.join('\n\n');
}
