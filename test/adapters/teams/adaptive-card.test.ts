// Every Reply block as an Adaptive Card 1.5, checked against our schema of the published format, and the
// markdown subset in the dialect cards render.

import { toCardMarkdown } from '../../../adapters/teams/card-markdown.js';
import {
  CARD_CONTENT_TYPE,
  type CardElement,
  formCommand,
  inputId,
  readSubmission,
  renderCard,
} from '../../../adapters/teams/index.js';
import {
  type Block,
  context,
  fields,
  header,
  list,
  type Reply,
  reply,
  table,
  text,
} from '../../../src/core/index.js';
import { cardProblems, expectValidCard } from './card-schema.js';

const sign = (command: string) => `signed(${command})`;

/** Every element in a card body, nested ones included. */
function elements(items: unknown[]): CardElement[] {
  const found: CardElement[] = [];
  for (const item of items as CardElement[]) {
    found.push(item);
    for (const key of ['items', 'rows', 'cells', 'actions'] as const) {
      const nested = item[key];
      if (Array.isArray(nested)) found.push(...elements(nested));
    }
  }
  return found;
}

const everyBlock: Block[] = [
  header('checkout: 62% of the 30-day error budget left'),
  text(
    '*Burning* 0.8x, see <https://grafana.example/d/slo|the SLO board>.\n```\nkubectl rollout status deploy/checkout\n```',
  ),
  fields({ service: 'checkout', 'error budget': '62% left', owner: '@payments' }),
  table(
    ['service', 'version', 'ready'],
    [
      ['checkout', 'v1.42.0', '3/3'],
      ['cart', 'v7.1.1', '2/3'],
    ],
  ),
  list(['restart the pods', 'watch the error rate'], true),
  { type: 'image', url: 'https://charts.example/burn.png', alt: 'burn rate over 24h' },
  {
    type: 'actions',
    actions: [
      { id: 'approve', label: 'Approve', command: 'change approve CR-12', style: 'primary' },
      { id: 'deny', label: 'Deny', command: 'change deny CR-12', style: 'danger' },
    ],
  },
  {
    type: 'form',
    title: 'Scale checkout',
    submitLabel: 'Scale',
    command: 'runbook run scale-deployment',
    fields: [
      { name: 'replicas', label: 'Replicas', type: 'int', required: true, min: 1, max: 20, default: 3 },
      {
        name: 'reason',
        label: 'Reason',
        type: 'string',
        required: true,
        description: 'why, for the audit trail',
      },
      { name: 'wait', label: 'Wait for rollout', type: 'bool', required: false, default: true },
      {
        name: 'strategy',
        label: 'Strategy',
        type: 'enum',
        required: false,
        options: ['rolling', 'recreate'],
      },
      { name: 'timeout', label: 'Timeout', type: 'duration', required: false },
    ],
  },
  context('Recorded in the audit trail as ref 1a2b3c.'),
];

describe('rendering a Reply as an Adaptive Card', () => {
  test('every block kind renders to a card that validates against the 1.5 schema', () => {
    const card = renderCard(reply(...everyBlock), { sign });
    expectValidCard(card);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const types = elements(card.body).map((element) => element.type);
    for (const kind of [
      'TextBlock',
      'FactSet',
      'Table',
      'Image',
      'ActionSet',
      'Action.Execute',
      'Input.Number',
      'Input.Text',
      'Input.Toggle',
      'Input.ChoiceSet',
    ]) {
      expect(types).toContain(kind);
    }
    expect(card.fallbackText).toContain('checkout: 62% of the 30-day error budget left');
  });

  test('fields become facts, tables keep their header row, and a chart is an image with its alt text', () => {
    const card = renderCard(reply(...everyBlock.slice(2, 6)), { sign });
    const all = elements(card.body);
    expect(all.find((e) => e.type === 'FactSet')?.facts).toEqual([
      { title: 'service', value: 'checkout' },
      { title: 'error budget', value: '62% left' },
      { title: 'owner', value: '@payments' },
    ]);
    const tableElement = all.find((e) => e.type === 'Table')!;
    expect(tableElement.firstRowAsHeader).toBe(true);
    const rows = tableElement.rows as Array<{ cells: Array<{ items: Array<{ text: string }> }> }>;
    expect(rows.map((row) => row.cells.map((cell) => cell.items[0]!.text))).toEqual([
      ['service', 'version', 'ready'],
      ['checkout', 'v1.42.0', '3/3'],
      ['cart', 'v7.1.1', '2/3'],
    ]);
    expect(all.find((e) => e.type === 'Image')).toMatchObject({
      url: 'https://charts.example/burn.png',
      altText: 'burn rate over 24h',
    });
  });

  test('buttons are Action.Execute carrying only a signed token; styles map to positive and destructive', () => {
    const card = renderCard(reply(everyBlock[6]!), { sign });
    const actions = elements(card.body).filter((e) => e.type === 'Action.Execute');
    expect(actions).toEqual([
      expect.objectContaining({
        title: 'Approve',
        style: 'positive',
        data: { millwright: { kind: 'action', token: 'signed(change approve CR-12)', block: 0 } },
      }),
      expect.objectContaining({
        title: 'Deny',
        style: 'destructive',
        data: { millwright: { kind: 'action', token: 'signed(change deny CR-12)', block: 0 } },
      }),
    ]);
  });

  test('a button that already carries a token keeps it', () => {
    const card = renderCard(
      reply({
        type: 'actions',
        actions: [{ id: 'go', label: 'Go', command: 'runbook run x', token: 'from-the-command' }],
      }),
      { sign },
    );
    expect(JSON.stringify(card)).toContain('"token":"from-the-command"');
  });

  test('a form shows typed inputs with labels, defaults and limits, and a submit that carries its token', () => {
    const card = renderCard(reply(everyBlock[7]!), { sign });
    const all = elements(card.body);
    expect(all.find((e) => e.type === 'Input.Number')).toMatchObject({
      id: inputId(0, 'replicas'),
      label: 'Replicas',
      isRequired: true,
      min: 1,
      max: 20,
      value: 3,
    });
    expect(all.find((e) => e.type === 'Input.Toggle')).toMatchObject({
      id: 'mw.0.wait',
      value: 'true',
      valueOn: 'true',
    });
    expect(all.find((e) => e.type === 'Input.ChoiceSet')).toMatchObject({
      choices: [
        { title: 'rolling', value: 'rolling' },
        { title: 'recreate', value: 'recreate' },
      ],
    });
    expect(all.find((e) => e.type === 'Action.Execute')).toMatchObject({
      title: 'Scale',
      data: { millwright: { kind: 'form', token: 'signed(runbook run scale-deployment)', block: 0 } },
    });
  });

  test('after a refused submit the form keeps what was typed and shows the error under its field', () => {
    const card = renderCard(reply(everyBlock[7]!), {
      sign,
      formState: {
        block: 0,
        values: { replicas: '50', reason: 'black friday' },
        errors: { replicas: 'replicas must be between 1 and 20, got 50' },
      },
    });
    expectValidCard(card);
    const items = (card.body[0] as unknown as { items: CardElement[] }).items;
    const replicas = items.findIndex((e) => e.id === 'mw.0.replicas');
    expect(items[replicas]).toMatchObject({ value: 50 });
    expect(items[replicas + 1]).toMatchObject({
      type: 'TextBlock',
      color: 'attention',
      text: 'replicas must be between 1 and 20, got 50',
    });
    expect(items.find((e) => e.id === 'mw.0.reason')).toMatchObject({ value: 'black friday' });
  });

  test('a prefill the field cannot take is left out and named beside it, and a valid one is kept', () => {
    const form = everyBlock[7]! as Extract<Block, { type: 'form' }>;
    const prefilled = (defaults: Record<string, string>) =>
      renderCard(
        reply({
          ...form,
          fields: form.fields.map((f) =>
            defaults[f.name] === undefined ? f : { ...f, default: defaults[f.name] },
          ),
        }),
        { sign },
      );
    const card = prefilled({ replicas: 'six', strategy: 'blue-green', wait: 'maybe' });
    expectValidCard(card);
    const items = (card.body[0] as unknown as { items: CardElement[] }).items;
    // The note is a RichTextBlock: its text is shown as it is, never read as markdown.
    const noteAfter = (id: string) => {
      const next = items[items.findIndex((e) => e.id === id) + 1] as CardElement & {
        inlines?: Array<{ type: string; text: string }>;
      };
      expect(next.type).toBe('RichTextBlock');
      return next.inlines?.map((run) => run.text).join('');
    };
    expect(items.find((e) => e.id === 'mw.0.replicas')).not.toHaveProperty('value');
    expect(noteAfter('mw.0.replicas')).toBe(
      'Given replicas=six: not a whole number, so it is not filled in.',
    );
    expect(items.find((e) => e.id === 'mw.0.strategy')).not.toHaveProperty('value');
    expect(noteAfter('mw.0.strategy')).toBe(
      'Given strategy=blue-green: not one of the choices, so it is not filled in.',
    );
    expect(noteAfter('mw.0.wait')).toBe('Given wait=maybe: not true or false, so it is not filled in.');
    // A switch whose prefill was left out is an unchosen yes/no: a toggle would send "false" for it.
    expect(items.find((e) => e.id === 'mw.0.wait')).toMatchObject({
      type: 'Input.ChoiceSet',
      choices: [
        { title: 'Yes', value: 'true' },
        { title: 'No', value: 'false' },
      ],
    });
    expect(items.find((e) => e.id === 'mw.0.wait')).not.toHaveProperty('value');
    // A value from an alert that looks like a link stays text.
    const link = (
      prefilled({ strategy: '[Approve](https://evil.example/x)' }).body[0] as unknown as {
        items: CardElement[];
      }
    ).items;
    expect(JSON.stringify(link.filter((e) => e.type === 'TextBlock'))).not.toContain('evil.example');
    // The command's own reason wins over the form's rules (a runbook knows its parameter best).
    const byCommand = renderCard(
      reply({
        ...form,
        fields: form.fields.map((f) =>
          f.name === 'reason' ? { ...f, default: 'a..b', defaultProblem: 'must not contain ".."' } : f,
        ),
      }),
      { sign },
    );
    expect(JSON.stringify(byCommand)).toContain(
      'Given reason=a..b: must not contain \\"..\\", so it is not filled in.',
    );
    // Out of range is refused like a word; a value inside the range is filled in with no note.
    const high = (prefilled({ replicas: '50' }).body[0] as unknown as { items: CardElement[] }).items;
    expect(high.find((e) => e.id === 'mw.0.replicas')).not.toHaveProperty('value');
    expect(JSON.stringify(high)).toContain(
      'Given replicas=50: above the maximum 20, so it is not filled in.',
    );
    const fine = (prefilled({ replicas: '7' }).body[0] as unknown as { items: CardElement[] }).items;
    expect(fine.find((e) => e.id === 'mw.0.replicas')).toMatchObject({ value: 7 });
    expect(JSON.stringify(fine)).not.toContain('not filled in');
  });

  test('a failed reply leads with the error and hint; an internal one names its reference', () => {
    const failed: Reply = {
      ok: false,
      blocks: [],
      ref: 'c0ffee1234',
      error: {
        code: 'millwright_internal',
        message: 'something broke on our side (reference c0ffee1234)',
        hint: 'try again',
      },
    };
    const card = renderCard(failed, { sign });
    expectValidCard(card);
    const texts = elements(card.body)
      .filter((e) => e.type === 'TextBlock')
      .map((e) => e.text);
    expect(texts).toEqual([
      '**Error:** something broke on our side (reference c0ffee1234)',
      'Hint: try again',
      'Reference: c0ffee1234',
    ]);
    expect(card.body[0]).toMatchObject({ type: 'Container', style: 'attention' });
  });

  test('spent blocks are left out and extra elements follow the reply', () => {
    const card = renderCard(reply(text('CR-12: restart checkout'), everyBlock[6]!), {
      sign,
      omit: new Set([1]),
      after: [{ type: 'TextBlock', text: 'approved', wrap: true }],
    });
    expectValidCard(card);
    expect(elements(card.body).some((e) => e.type === 'ActionSet')).toBe(false);
    expect(card.body.at(-1)).toMatchObject({ text: 'approved' });
  });

  test('a very long table is cut with a note, so the card stays under the Teams size limit', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [`pod-${i}`, 'Running']);
    const card = renderCard(reply(table(['pod', 'phase'], rows)), { sign });
    expectValidCard(card);
    expect(JSON.stringify(card).length).toBeLessThan(28_000);
    expect(card.body.at(-1)).toMatchObject({ text: expect.stringContaining('60 more rows not shown') });
  });

  test('the schema check itself refuses a broken card', () => {
    expect(cardProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock' }] })).not.toEqual(
      [],
    );
    expect(
      cardProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'Input.Text', label: 'no id' }] }),
    ).not.toEqual([]);
    expect(
      cardProblems({ type: 'AdaptiveCard', version: '1.5', msteams: { width: 'Wide' }, body: [] }),
    ).not.toEqual([]);
    expect(cardProblems({ type: 'AdaptiveCard', version: '1.2', body: [] })).toEqual([
      '/version is 1.2, not 1.5',
    ]);
  });

  test('the card content type is the Adaptive Card attachment type', () => {
    expect(CARD_CONTENT_TYPE).toBe('application/vnd.microsoft.card.adaptive');
  });
});

describe('card markdown', () => {
  test('bold, links and code spans are translated; italics stay', () => {
    expect(toCardMarkdown('*checkout* is <https://grafana/d/1|burning> _fast_, run `audit verify`')).toBe(
      '**checkout** is [burning](https://grafana/d/1) _fast_, run audit verify',
    );
    expect(toCardMarkdown('see <https://status.example>')).toBe(
      'see [https://status.example](https://status.example)',
    );
    expect(toCardMarkdown('line one\nline two')).toBe('line one\n\nline two');
  });
});

describe('reading a submitted card', () => {
  test('an Action.Execute invoke value and an Action.Submit message value give the same submission', () => {
    const data = { millwright: { kind: 'form', token: 'tok', block: 2 }, 'mw.2.replicas': '3', other: 'x' };
    const fromExecute = readSubmission({
      action: { type: 'Action.Execute', verb: 'millwright.form', data },
      trigger: 'manual',
    });
    const fromSubmit = readSubmission(data);
    expect(fromExecute).toEqual({ kind: 'form', token: 'tok', block: 2, inputs: { 'mw.2.replicas': '3' } });
    expect(fromSubmit).toEqual(fromExecute);
    expect(readSubmission({ action: { data: { something: 'else' } } })).toBeUndefined();
    expect(readSubmission('text')).toBeUndefined();
  });

  test('form values are quoted so spaces and quotes reach the command intact', () => {
    expect(formCommand('incident note', { text: 'db "failover" done', sev: '2' })).toBe(
      'incident note text="db \\"failover\\" done" sev="2"',
    );
  });
});
