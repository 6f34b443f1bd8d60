// Proves our Adaptive Card 1.5 schema is strict: a card using every type it knows passes, and each
// single wrong detail in that card fails with the path and reason.
import { describe, expect, test } from '@jest/globals';
import { ACTION_TYPES, ELEMENT_TYPES, PART_TYPES } from './adaptive-card-schema.js';
import { cardProblems } from './card-schema.js';

type Json = Record<string, unknown>;

/** A card in which every element, part and action type the schema knows appears at least once. */
function everyTypeCard(): Json {
  const execute = {
    type: 'Action.Execute',
    id: 'approve',
    title: 'Approve',
    verb: 'millwright.action',
    style: 'positive',
    data: { millwright: { kind: 'action', token: 't0k3n', block: 2 } },
  };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: 'Deploys of checkout',
    msteams: { width: 'Full' },
    refresh: { action: { type: 'Action.Execute', verb: 'millwright.refresh' }, userIds: ['29:1a2b'] },
    body: [
      {
        type: 'TextBlock',
        text: 'Deploys of checkout',
        wrap: true,
        size: 'large',
        weight: 'bolder',
        style: 'heading',
        color: 'accent',
        isSubtle: false,
        fontType: 'monospace',
        spacing: 'medium',
        separator: true,
      },
      { type: 'FactSet', facts: [{ title: 'Error budget', value: '62% left' }] },
      {
        type: 'Table',
        columns: [{ width: 1 }, { width: '80px' }],
        firstRowAsHeader: true,
        showGridLines: false,
        rows: [
          {
            type: 'TableRow',
            cells: [
              { type: 'TableCell', items: [{ type: 'TextBlock', text: 'service', weight: 'bolder' }] },
              { type: 'TableCell', items: [{ type: 'TextBlock', text: 'version', weight: 'bolder' }] },
            ],
          },
          {
            type: 'TableRow',
            cells: [
              { type: 'TableCell', items: [{ type: 'TextBlock', text: 'checkout' }] },
              { type: 'TableCell', items: [{ type: 'TextBlock', text: 'v42' }] },
            ],
          },
        ],
      },
      {
        type: 'Image',
        url: 'https://grafana.example.com/render/burn.png',
        altText: 'burn rate',
        size: 'stretch',
      },
      {
        type: 'ActionSet',
        actions: [
          execute,
          { type: 'Action.Execute', title: 'Roll back', verb: 'millwright.action', style: 'destructive' },
          { type: 'Action.Submit', title: 'Retry', data: { millwright: { kind: 'action' } } },
          { type: 'Action.OpenUrl', title: 'Runbook', url: 'https://runbooks.example.com/checkout' },
        ],
      },
      {
        type: 'Container',
        style: 'good',
        spacing: 'medium',
        items: [{ type: 'TextBlock', text: '**alice** approved', color: 'good', size: 'small' }],
      },
      {
        type: 'ColumnSet',
        columns: [
          { type: 'Column', width: 'auto', items: [{ type: 'TextBlock', text: 'p99' }] },
          { type: 'Column', width: 'stretch', items: [{ type: 'TextBlock', text: '412 ms' }] },
        ],
      },
      {
        type: 'Container',
        items: [
          {
            type: 'Input.Text',
            id: 'mw.3.reason',
            label: 'Reason',
            isRequired: true,
            errorMessage: 'needed',
          },
          { type: 'Input.Number', id: 'mw.3.replicas', label: 'Replicas', min: 1, max: 50, value: 3 },
          {
            type: 'Input.ChoiceSet',
            id: 'mw.3.env',
            label: 'Environment',
            style: 'compact',
            choices: [
              { title: 'staging', value: 'staging' },
              { title: 'production', value: 'production' },
            ],
          },
          {
            type: 'Input.Toggle',
            id: 'mw.3.dry',
            title: 'Dry run',
            value: 'true',
            valueOn: 'true',
            valueOff: 'false',
          },
          { type: 'ActionSet', actions: [{ ...execute, title: 'Scale', verb: 'millwright.form' }] },
        ],
      },
      {
        type: 'RichTextBlock',
        spacing: 'none',
        inlines: ['as it is: ', { type: 'TextRun', text: '[not a link](x)', isSubtle: true, size: 'small' }],
      },
    ],
    actions: [{ type: 'Action.OpenUrl', title: 'Dashboard', url: 'https://grafana.example.com/d/checkout' }],
  };
}

/** Every `type` named anywhere in a card. */
function typesIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) typesIn(item, found);
  else if (value !== null && typeof value === 'object') {
    const { type } = value as Json;
    if (typeof type === 'string') found.add(type);
    for (const child of Object.values(value)) typesIn(child, found);
  }
  return found;
}

/** The card's body, to reach in and break one detail. */
function bodyOf(card: Json): Json[] {
  return card.body as Json[];
}

describe('our Adaptive Card 1.5 schema', () => {
  test('accepts a card in which every element, part and action type appears', () => {
    const card = everyTypeCard();
    expect(cardProblems(card)).toEqual([]);
    expect([...typesIn(card)].sort()).toEqual(
      ['AdaptiveCard', ...ELEMENT_TYPES, ...ACTION_TYPES, ...PART_TYPES].sort(),
    );
  });

  test('refuses a RichTextBlock with no inlines and a TextRun with markdown options', () => {
    const card = everyTypeCard();
    const rich = bodyOf(card).find((e) => e.type === 'RichTextBlock')!;
    rich.inlines = [];
    expect(cardProblems(card)).not.toEqual([]);
    rich.inlines = [{ type: 'TextRun', text: 'x', wrap: true }];
    expect(cardProblems(card)).not.toEqual([]);
  });

  test('accepts whatever the card author puts in an action data object', () => {
    const card = everyTypeCard();
    const actions = bodyOf(card)[4]!.actions as Json[];
    actions[0]!.data = { millwright: { anything: [1, 2, 3] }, msteams: { type: 'messageBack' } };
    actions[2]!.data = 'a plain string';
    expect(cardProblems(card)).toEqual([]);
  });

  test.each<[string, (card: Json) => void, string[]]>([
    [
      'an unknown element type',
      (card) => bodyOf(card).push({ type: 'Carousel', pages: [] }),
      ['/body/9/type "Carousel" is not a type this card may hold here'],
    ],
    [
      'an element type that is only a part (a TableCell straight in the body)',
      (card) => bodyOf(card).push({ type: 'TableCell', items: [] }),
      ['/body/9/type "TableCell" is not a type this card may hold here'],
    ],
    [
      'an unknown action type',
      (card) => (card.actions as Json[]).push({ type: 'Action.Http', url: 'https://example.com' }),
      ['/actions/1/type "Action.Http" is not a type this card may hold here'],
    ],
    [
      'a TextBlock without text',
      (card) => delete bodyOf(card)[0]!.text,
      ["/body/0 must have required property 'text'"],
    ],
    [
      'a TextBlock weight outside the documented values',
      (card) => {
        bodyOf(card)[0]!.weight = 'heavy';
      },
      ['/body/0/weight is "heavy", not one of default, lighter, bolder'],
    ],
    [
      'a TextBlock with a property the format does not have',
      (card) => {
        bodyOf(card)[0]!.colour = 'good';
      },
      ['/body/0 has unknown property "colour"'],
    ],
    [
      'a fact whose value is a number',
      (card) => {
        bodyOf(card)[1]!.facts = [{ title: 'replicas', value: 3 }];
      },
      ['/body/1/facts/0/value must be string'],
    ],
    [
      'a wrong element deep inside a table cell',
      (card) => {
        const rows = bodyOf(card)[2]!.rows as { cells: { items: Json[] }[] }[];
        rows[1]!.cells[0]!.items[0]!.size = 'huge';
      },
      ['/body/2/rows/1/cells/0/items/0/size is "huge", not one of default, small, medium, large, extraLarge'],
    ],
    [
      'an Image without a url',
      (card) => delete bodyOf(card)[3]!.url,
      ["/body/3 must have required property 'url'"],
    ],
    [
      'an Input.Number with a string min',
      (card) => {
        ((bodyOf(card)[7]!.items as Json[])[1] as Json).min = '1';
      },
      ['/body/7/items/1/min must be number'],
    ],
    [
      'an Input.Toggle without a title',
      (card) => delete ((bodyOf(card)[7]!.items as Json[])[3] as Json).title,
      ["/body/7/items/3 must have required property 'title'"],
    ],
    [
      'an Input.ChoiceSet style outside the documented values',
      (card) => {
        ((bodyOf(card)[7]!.items as Json[])[2] as Json).style = 'dropdown';
      },
      ['/body/7/items/2/style is "dropdown", not one of compact, expanded, filtered'],
    ],
    [
      'an Action.Execute with an unknown style',
      (card) => {
        ((bodyOf(card)[4]!.actions as Json[])[0] as Json).style = 'primary';
      },
      ['/body/4/actions/0/style is "primary", not one of default, positive, destructive'],
    ],
    [
      'an Action.OpenUrl without a url',
      (card) => delete (card.actions as Json[])[0]!.url,
      ["/actions/0 must have required property 'url'"],
    ],
    [
      'a refresh whose action is not Action.Execute',
      (card) => {
        card.refresh = { action: { type: 'Action.Submit' } };
      },
      ['/refresh/action/type is Action.Submit, not Action.Execute'],
    ],
    [
      'a card that is not version 1.5',
      (card) => {
        card.version = '1.4';
      },
      ['/version is 1.4, not 1.5'],
    ],
  ])('rejects %s', (_story, breakIt, problems) => {
    const card = everyTypeCard();
    breakIt(card);
    expect(cardProblems(card)).toEqual(problems);
  });
});
