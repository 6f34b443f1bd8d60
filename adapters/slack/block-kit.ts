// Renders a platform-neutral Reply as Block Kit, within Slack's limits (50 blocks, 3,000 characters
// per text, 10 fields per section, 25 buttons per actions block): what does not fit says "…and N more".
import type { types } from '@slack/bolt';
import type { Block, FormBlock, Reply, TableBlock } from '../../src/core/index.js';
import { replyToText } from '../../src/core/index.js';

type KnownBlock = types.KnownBlock;
type Button = types.Button;

export const SLACK_LIMITS = {
  blocks: 50,
  text: 3000,
  fields: 10,
  fieldText: 2000,
  header: 150,
  buttons: 25,
  buttonText: 75,
  buttonValue: 2000,
  altText: 2000,
  /** Top-level `text` is the notification and fallback; keep it short. */
  fallback: 3000,
} as const;

/** Action ids of Millwright's buttons start with this; the rest only keeps them unique in a message. */
export const ACTION_PREFIX = 'mw.';
/** The callback id of Millwright's modals. */
export const FORM_CALLBACK_ID = 'mw.form';

/** A chart given as a `data:` URL, which Slack cannot show in an image block: it is uploaded instead. */
export interface ChartUpload {
  alt: string;
  filename: string;
  data: Buffer;
}

export interface RenderOptions {
  /** Signs a button's command for the conversation it is posted in. */
  signButton: (command: string) => string;
  /** Whether `data:` charts can be uploaded next to this message (not for private replies). */
  canUpload: boolean;
  /** Forms already opened as a modal are left out of the message. */
  skipForms?: boolean;
}

export interface RenderedMessage {
  blocks: KnownBlock[];
  /** Plain text for notifications and clients that cannot show blocks. */
  text: string;
  charts: ChartUpload[];
  forms: FormBlock[];
}

/**
 * Renders a reply as a Slack message.
 *
 * @example
 * const { blocks, text } = renderMessage(reply, { signButton: (cmd) => sign(cmd), canUpload: true });
 * await client.chat.postMessage({ channel, blocks, text });
 */
export function renderMessage(value: Reply, options: RenderOptions): RenderedMessage {
  const blocks: KnownBlock[] = [];
  const charts: ChartUpload[] = [];
  const forms: FormBlock[] = [];
  if (!value.ok && value.error) blocks.push(...renderError(value));
  let buttonBlock = 0;
  for (const block of value.blocks) {
    if (block.type === 'form') {
      forms.push(block);
      if (!options.skipForms) blocks.push(...renderFormButton(block, options, buttonBlock++));
      continue;
    }
    if (block.type === 'image' && block.url.startsWith('data:')) {
      const chart = decodeChart(block.alt, block.url, charts.length);
      if (chart && options.canUpload) {
        charts.push(chart);
        blocks.push(contextBlock(`:bar_chart: ${escapeMrkdwn(block.alt)} (uploaded below)`));
      } else {
        blocks.push(
          contextBlock(
            chart
              ? `:bar_chart: ${escapeMrkdwn(block.alt)}: charts are not shown in private replies; add \`--public\` to post it in the channel`
              : `:bar_chart: ${escapeMrkdwn(block.alt)}: the chart could not be read`,
          ),
        );
      }
      continue;
    }
    blocks.push(...renderBlock(block, options, () => buttonBlock++));
  }
  return {
    blocks: capBlocks(blocks),
    text: truncate(replyToText(value) || ' ', SLACK_LIMITS.fallback),
    charts,
    forms,
  };
}

function renderBlock(block: Block, options: RenderOptions, nextButtonBlock: () => number): KnownBlock[] {
  switch (block.type) {
    case 'header':
      return [
        {
          type: 'header',
          text: { type: 'plain_text', text: truncate(block.text || ' ', SLACK_LIMITS.header) },
        },
      ];
    case 'text':
      return splitMrkdwn(escapeMrkdwn(block.text), SLACK_LIMITS.text).map(sectionBlock);
    case 'context':
      return [contextBlock(truncate(escapeMrkdwn(block.text), SLACK_LIMITS.text))];
    case 'fields':
      return renderFields(block.fields.map((f) => [f.label, f.value] as const));
    case 'table':
      return renderTable(block);
    case 'list':
      return [sectionBlock(renderList(block.items, block.ordered === true))];
    case 'actions':
      return renderActions(block.actions, options, nextButtonBlock);
    case 'image':
      return [
        {
          type: 'image',
          image_url: block.url,
          alt_text: truncate(block.alt || 'chart', SLACK_LIMITS.altText),
        },
      ];
    case 'form':
      return [];
  }
}

function renderError(value: Reply): KnownBlock[] {
  const error = value.error!;
  const blocks: KnownBlock[] = [
    sectionBlock(truncate(`:warning: *${escapeMrkdwn(error.message)}*`, SLACK_LIMITS.text)),
  ];
  const small: string[] = [];
  if (error.hint) small.push(`hint: ${escapeMrkdwn(error.hint)}`);
  if (value.ref && error.code === 'millwright_internal') small.push(`reference: \`${value.ref}\``);
  if (small.length) blocks.push(contextBlock(truncate(small.join('\n'), SLACK_LIMITS.text)));
  return blocks;
}

function renderFields(pairs: ReadonlyArray<readonly [string, string]>): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < pairs.length; i += SLACK_LIMITS.fields) {
    blocks.push({
      type: 'section',
      fields: pairs.slice(i, i + SLACK_LIMITS.fields).map(([label, value]) => ({
        type: 'mrkdwn',
        text: truncate(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value) || ' '}`, SLACK_LIMITS.fieldText),
      })),
    });
  }
  return blocks;
}

/** Two-column tables of up to 10 rows read best as fields; the rest as aligned preformatted text. */
function renderTable(block: TableBlock): KnownBlock[] {
  if (block.rows.length === 0) return [sectionBlock('_(none)_')];
  if (block.columns.length === 2 && block.rows.length <= SLACK_LIMITS.fields) {
    return renderFields(block.rows.map((row) => [row[0] ?? '', row[1] ?? ''] as const));
  }
  const widths = block.columns.map((column, i) =>
    Math.max(column.length, ...block.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const head = [line(block.columns), line(widths.map((w) => '-'.repeat(w)))];
  const fence = (lines: string[], more: number) =>
    `\`\`\`\n${escapeMrkdwn(lines.join('\n'))}\n\`\`\`${more > 0 ? `\n…and ${more} more row${more === 1 ? '' : 's'}` : ''}`;
  const rows = block.rows.map(line);
  let shown = rows.length;
  // Drop rows from the end until the fenced table and its "…and N more" fit in one section.
  while (
    shown > 0 &&
    fence([...head, ...rows.slice(0, shown)], rows.length - shown).length > SLACK_LIMITS.text
  ) {
    shown--;
  }
  const text = fence([...head, ...rows.slice(0, shown)], rows.length - shown);
  return [sectionBlock(text.length > SLACK_LIMITS.text ? truncate(text, SLACK_LIMITS.text) : text)];
}

function renderList(items: string[], ordered: boolean): string {
  if (items.length === 0) return '_(none)_';
  const lines = items.map((item, i) =>
    truncate(`${ordered ? `${i + 1}.` : '•'} ${escapeMrkdwn(item)}`, SLACK_LIMITS.text - 40),
  );
  const shown: string[] = [];
  let length = 0;
  for (const [i, line] of lines.entries()) {
    const after = lines.length - i - 1;
    // Each line kept leaves room for the "…and N more" that may have to follow it.
    const tail = after > 0 ? `\n…and ${after} more`.length : 0;
    const added = (shown.length ? 1 : 0) + line.length;
    if (length + added + tail > SLACK_LIMITS.text) {
      shown.push(`…and ${lines.length - i} more`);
      break;
    }
    shown.push(line);
    length += added;
  }
  return shown.join('\n');
}

function renderActions(
  actions: ReadonlyArray<{
    id: string;
    label: string;
    command: string;
    style?: 'primary' | 'danger';
    token?: string;
  }>,
  options: RenderOptions,
  nextButtonBlock: () => number,
): KnownBlock[] {
  const buttons: Button[] = [];
  const unsigned: string[] = [];
  const index = nextButtonBlock();
  for (const [i, action] of actions.entries()) {
    const value = action.token ?? options.signButton(action.command);
    if (value.length > SLACK_LIMITS.buttonValue) {
      // A command too long for a button is still useful as text to copy.
      unsigned.push(`${escapeMrkdwn(action.label)}: \`${escapeMrkdwn(action.command)}\``);
      continue;
    }
    const button: Button = {
      type: 'button',
      action_id: `${ACTION_PREFIX}${index}.${i}.${action.id}`.slice(0, 255),
      text: { type: 'plain_text', text: truncate(action.label || action.id, SLACK_LIMITS.buttonText) },
      value,
    };
    if (action.style) button.style = action.style;
    if (action.style === 'danger') {
      button.confirm = {
        title: { type: 'plain_text', text: 'Are you sure?' },
        text: {
          type: 'mrkdwn',
          text: truncate(`This runs \`${escapeMrkdwn(action.command)}\` as you.`, 300),
        },
        confirm: { type: 'plain_text', text: truncate(action.label || 'Run', 30) },
        deny: { type: 'plain_text', text: 'Cancel' },
        style: 'danger',
      };
    }
    buttons.push(button);
  }
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < buttons.length; i += SLACK_LIMITS.buttons) {
    blocks.push({ type: 'actions', elements: buttons.slice(i, i + SLACK_LIMITS.buttons) });
  }
  if (unsigned.length) blocks.push(contextBlock(truncate(unsigned.join('\n'), SLACK_LIMITS.text)));
  return blocks;
}

/** A form in a message is a button that opens it: clicking reruns the command, which opens the modal. */
function renderFormButton(form: FormBlock, options: RenderOptions, index: number): KnownBlock[] {
  const fields = form.fields
    .map((f) => (f.required ? `\`${f.name}\`` : `\`${f.name}\` (optional)`))
    .join(', ');
  const value = form.token ?? options.signButton(form.command);
  const text = truncate(
    `*${escapeMrkdwn(form.title)}*\n\`${escapeMrkdwn(form.command)}\` needs ${fields}`,
    SLACK_LIMITS.text,
  );
  if (value.length > SLACK_LIMITS.buttonValue) return [sectionBlock(text)];
  return [
    {
      type: 'section',
      text: { type: 'mrkdwn', text },
      accessory: {
        type: 'button',
        action_id: `${ACTION_PREFIX}${index}.form`,
        text: {
          type: 'plain_text',
          text: truncate(
            form.submitLabel ? `Fill in: ${form.submitLabel}` : 'Fill in',
            SLACK_LIMITS.buttonText,
          ),
        },
        style: 'primary',
        value,
      },
    },
  ];
}

/** Keeps the message within 50 blocks, the last one saying how many were left out. */
function capBlocks(blocks: KnownBlock[]): KnownBlock[] {
  if (blocks.length <= SLACK_LIMITS.blocks) return blocks;
  const kept = blocks.slice(0, SLACK_LIMITS.blocks - 1);
  const more = blocks.length - kept.length;
  kept.push(
    contextBlock(
      `…and ${more} more block${more === 1 ? '' : 's'} not shown in Slack; the shell shows the whole answer`,
    ),
  );
  return kept;
}

function sectionBlock(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: text || ' ' } };
}

function contextBlock(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: text || ' ' }] };
}

const LINK = /<(?:((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?|#([CG][A-Z0-9]{2,}))>/g;

/**
 * Escapes `&`, `<` and `>` as Slack's mrkdwn requires, keeping the `<url|label>` links and `<#C123>`
 * channel links of the Reply markdown subset. A `<!channel>` or `<@U123>` in command output
 * therefore cannot ping anyone (a channel link pings no one).
 *
 * @example
 * escapeMrkdwn('p99 < 300ms, see <https://grafana/d/1|dashboard>')
 * // 'p99 &lt; 300ms, see <https://grafana/d/1|dashboard>'
 */
export function escapeMrkdwn(value: string): string {
  const escapePart = (part: string) =>
    part.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let out = '';
  let last = 0;
  for (const match of value.matchAll(LINK)) {
    out += escapePart(value.slice(last, match.index));
    const [, url, label, channel] = match;
    out += channel ? `<#${channel}>` : label === undefined ? `<${url}>` : `<${url}|${escapePart(label)}>`;
    last = match.index + match[0].length;
  }
  return out + escapePart(value.slice(last));
}

/**
 * Splits mrkdwn into pieces of at most `limit` characters at line breaks, closing and reopening a
 * ``` fence that a split falls inside.
 *
 * @example
 * splitMrkdwn(longLog, 3000).map((piece) => ({ type: 'section', text: { type: 'mrkdwn', text: piece } }))
 */
export function splitMrkdwn(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const pieces: string[] = [];
  let current = '';
  let inFence = false;
  // A piece inside a fence keeps room to close it ("\n```"); a reopened piece starts with "```".
  const room = () => limit - (inFence ? 4 : 0);
  const flush = () => {
    pieces.push(inFence ? `${current}\n\`\`\`` : current);
    current = inFence ? '```' : '';
  };
  for (const line of text.split('\n')) {
    const parts = line.length === 0 ? [''] : (line.match(new RegExp(`[^]{1,${limit - 8}}`, 'g')) ?? ['']);
    for (const part of parts) {
      const candidate = current === '' ? part : `${current}\n${part}`;
      if (candidate.length <= room()) {
        current = candidate;
        continue;
      }
      flush();
      current = current === '' ? part : `${current}\n${part}`;
    }
    if ((line.match(/```/g)?.length ?? 0) % 2 === 1) inFence = !inFence;
  }
  if (current !== '' && current !== '```') pieces.push(current);
  return pieces;
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function decodeChart(alt: string, url: string, index: number): ChartUpload | undefined {
  const match = /^data:image\/(png|jpeg|gif|svg\+xml);base64,([A-Za-z0-9+/=\s]+)$/.exec(url);
  if (!match) return undefined;
  const extension = match[1] === 'svg+xml' ? 'svg' : match[1] === 'jpeg' ? 'jpg' : match[1];
  const slug =
    alt
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'chart';
  return {
    alt,
    filename: `${slug}${index ? `-${index}` : ''}.${extension}`,
    data: Buffer.from(match[2]!, 'base64'),
  };
}
