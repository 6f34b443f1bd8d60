// Every Reply block rendered as Block Kit a person would read, within Slack's limits.

import { splitMrkdwn } from '../../../adapters/slack/block-kit.js';
import { escapeMrkdwn, renderMessage, SLACK_LIMITS, submittedLine } from '../../../adapters/slack/index.js';
import {
  context,
  defineCommand,
  fields,
  header,
  list,
  type Reply,
  reply,
  table,
  text,
} from '../../../src/core/index.js';
import { type SlackHarness, startSlackHarness, visibleText } from './harness.js';

const options = { signButton: (command: string) => `signed:${command}`, canUpload: true };

describe('Block Kit rendering', () => {
  it('renders each kind of block the way Slack shows it', () => {
    const rendered = renderMessage(
      reply(
        header('checkout: 62% of the 30-day error budget left'),
        text('Burning *0.8x*; see <https://grafana.example/d/slo|the dashboard>'),
        fields({ service: 'checkout', window: '30d' }),
        table(
          ['service', 'pods', 'version'],
          [
            ['checkout', '3/3', 'v42'],
            ['cart', '2/3', 'v17'],
          ],
        ),
        list(['rollout started', 'rollout finished'], true),
        context('as of 09:00 UTC'),
        { type: 'actions', actions: [{ id: 'rerun', label: 'Re-run', command: 'budget checkout' }] },
        { type: 'image', url: 'https://charts.example/budget.png', alt: 'budget chart' },
      ),
      options,
    );
    expect(rendered.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'checkout: 62% of the 30-day error budget left' } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: 'Burning *0.8x*; see <https://grafana.example/d/slo|the dashboard>' },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*service*\ncheckout' },
          { type: 'mrkdwn', text: '*window*\n30d' },
        ],
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '```\nservice   pods  version\n--------  ----  -------\ncheckout  3/3   v42\ncart      2/3   v17\n```',
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: '1. rollout started\n2. rollout finished' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'as of 09:00 UTC' }] },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'mw.0.0.rerun',
            text: { type: 'plain_text', text: 'Re-run' },
            value: 'signed:budget checkout',
          },
        ],
      },
      { type: 'image', image_url: 'https://charts.example/budget.png', alt_text: 'budget chart' },
    ]);
    expect(rendered.text).toContain('checkout: 62% of the 30-day error budget left');
  });

  it('shows a failure as a warning with its hint', () => {
    const failed: Reply = {
      ok: false,
      blocks: [],
      ref: 'abc123',
      error: {
        code: 'millwright_bad_argument',
        message: 'n must be a whole number, got "ten"',
        hint: 'like n=10',
      },
    };
    expect(renderMessage(failed, options).blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: ':warning: *n must be a whole number, got "ten"*' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'hint: like n=10' }] },
    ]);
  });

  it('escapes &, < and > so command output cannot ping a channel, keeping links', () => {
    expect(escapeMrkdwn('p99 < 300ms & <!channel> <@U123> <https://x.example/a?b=1&c=2|docs & more>')).toBe(
      'p99 &lt; 300ms &amp; &lt;!channel&gt; &lt;@U123&gt; <https://x.example/a?b=1&c=2|docs &amp; more>',
    );
  });

  it('keeps a channel link (the incident notice says "Follow it in <#C0INC>"), which pings no one', () => {
    expect(escapeMrkdwn('Follow it in <#C0INC42>; not <#general> nor <!here>')).toBe(
      'Follow it in <#C0INC42>; not &lt;#general&gt; nor &lt;!here&gt;',
    );
    const [section] = renderMessage(
      { ok: true, blocks: [{ type: 'text', text: 'Follow it in <#C0INC42>.' }] },
      options,
    ).blocks;
    expect(JSON.stringify(section)).toContain('Follow it in <#C0INC42>.');
  });

  it('splits long text at line breaks and keeps code fences balanced', () => {
    const code = `\`\`\`\n${Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(30)}`).join('\n')}\n\`\`\``;
    const pieces = splitMrkdwn(code, 3000);
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(3000);
      expect((piece.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(pieces.join('\n').replace(/\n```\n```/g, '')).toBe(code);
  });

  it('keeps within 50 blocks, 10 fields a section and 3,000 characters, saying what was left out', () => {
    const rendered = renderMessage(
      reply(
        fields(Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`pod-${i}`, 'Running']))),
        table(
          ['pod', 'node', 'restarts'],
          Array.from({ length: 400 }, (_, i) => [`checkout-${i}`, `node-${i % 7}`, '0']),
        ),
        list(Array.from({ length: 500 }, (_, i) => `event ${i}: ${'detail '.repeat(5)}`)),
        ...Array.from({ length: 60 }, (_, i) => text(`note ${i}`)),
      ),
      options,
    );
    expect(rendered.blocks.length).toBe(SLACK_LIMITS.blocks);
    const sections = rendered.blocks.filter((b) => b.type === 'section') as Array<{
      fields?: unknown[];
      text?: { text: string };
    }>;
    expect(sections.slice(0, 3).map((s) => s.fields?.length)).toEqual([10, 10, 3]);
    for (const section of sections) expect((section.text?.text ?? '').length).toBeLessThanOrEqual(3000);
    expect(sections[3]!.text!.text).toMatch(/…and \d+ more rows$/);
    expect(sections[4]!.text!.text).toMatch(/…and \d+ more$/);
    expect(visibleText(rendered.blocks.at(-1))).toMatch(/^…and 16 more blocks not shown in Slack/);
  });

  it('builds the command line a submitted modal runs, quoting what people typed', () => {
    expect(
      submittedLine('runbook run restart-pod', [{ block_id: 'field.pod' }, { block_id: 'field.note' }], {
        'field.note': { value: { type: 'plain_text_input', value: 'said "now" \\ ok' } },
        'field.pod': { value: { type: 'static_select', selected_option: { value: 'checkout-1' } } },
        'field.skip': { value: { type: 'plain_text_input', value: null } },
      }),
    ).toBe('runbook run restart-pod pod="checkout-1" note="said \\"now\\" \\\\ ok"');
  });
});

describe('Block Kit as Slack accepts it', () => {
  let h: SlackHarness;
  afterEach(async () => {
    await h.close();
  });

  it('posts an oversized answer that the Web API accepts, with "…and N more" instead of an error', async () => {
    h = await startSlackHarness();
    h.register(
      defineCommand({
        name: 'pods',
        summary: 'lists pods',
        examples: ['pods'],
        handler: () =>
          reply(
            header(`${'very long header '.repeat(20)}`),
            text('x'.repeat(7000)),
            table(
              ['pod', 'status'],
              Array.from({ length: 300 }, (_, i) => [`checkout-${i}`, 'Running']),
            ),
            ...Array.from({ length: 70 }, (_, i) => context(`context ${i}`)),
            {
              type: 'actions',
              actions: Array.from({ length: 30 }, (_, i) => ({
                id: `b${i}`,
                label: `Button ${i}`,
                command: `pods page=${i}`,
              })),
            },
          ),
      }),
    );
    await h.sendSlash('pods --public', { channel_id: 'C0OPS' });
    const posted = await h.slack.waitForCall('chat.postMessage');
    expect(posted.response.ok).toBe(true);
    const blocks = posted.args.blocks as unknown[];
    expect(blocks).toHaveLength(50);
    expect(visibleText(blocks)).toMatch(/…and \d+ more rows/);
    expect(visibleText(blocks)).toMatch(/…and \d+ more blocks not shown in Slack/);
  });
});
