// Our own JSON Schema (draft 2020-12) for the part of Adaptive Card 1.5 that Millwright draws, written
// from the format's documented rules: element types, required properties and allowed values.
import type { SchemaObject } from 'ajv/dist/2020.js';

// Stricter than the format on purpose, so a card that renders by luck still fails here:
// - only the element and action types Millwright uses are known; any other `type` fails, even a valid
//   1.5 one (Media, Action.ShowCard...): give it rules here before drawing it;
// - enum values must use the documented spelling (renderers also accept other casings);
// - documented "nullable" properties (`Colors?` and the like) do not accept null.
// Open on purpose: the `data` of Action.Execute and Action.Submit (the card author's own payload) and
// `requires` (feature name to version).

/** Allowed values of the format's enumerations, as the schema explorer spells them. */
const Spacing = { enum: ['default', 'none', 'small', 'medium', 'large', 'extraLarge', 'padding'] };
const BlockElementHeight = { enum: ['auto', 'stretch'] };
const Colors = { enum: ['default', 'dark', 'light', 'accent', 'good', 'warning', 'attention'] };
const FontSize = { enum: ['default', 'small', 'medium', 'large', 'extraLarge'] };
const FontWeight = { enum: ['default', 'lighter', 'bolder'] };
const FontType = { enum: ['default', 'monospace'] };
const TextBlockStyle = { enum: ['default', 'heading'] };
const HorizontalAlignment = { enum: ['left', 'center', 'right'] };
const VerticalAlignment = { enum: ['top', 'center', 'bottom'] };
const ContainerStyle = { enum: ['default', 'emphasis', 'good', 'attention', 'warning', 'accent'] };
const ImageSize = { enum: ['auto', 'stretch', 'small', 'medium', 'large'] };
const ImageStyle = { enum: ['default', 'person'] };
const TextInputStyle = { enum: ['text', 'tel', 'url', 'email', 'password'] };
const ChoiceInputStyle = { enum: ['compact', 'expanded', 'filtered'] };
const ActionStyle = { enum: ['default', 'positive', 'destructive'] };
const ActionMode = { enum: ['primary', 'secondary'] };
const AssociatedInputs = { enum: ['auto', 'none'] };

const text = { type: 'string' };
const flag = { type: 'boolean' };
const number = { type: 'number' };
/** Sizes the format gives in pixels are strings like "80px". */
const pixels = { type: 'string', pattern: '^[0-9]+px$' };
/** Image and icon addresses may be relative or `data:` URIs. */
const link = { type: 'string', minLength: 1, format: 'uri-reference' };
const requires = { type: 'object', additionalProperties: { type: 'string' } };
const element = { $ref: '#/$defs/element' };
const elements = { type: 'array', items: element };
const action = { $ref: '#/$defs/action' };

/** What every element may carry besides its own properties (the format's "inherited properties"). */
const elementBase = {
  id: text,
  isVisible: flag,
  requires,
  separator: flag,
  spacing: Spacing,
  height: BlockElementHeight,
  fallback: { anyOf: [element, { const: 'drop' }] },
};

/** What every input adds: the id its value is sent back under, a label and validation. */
const inputBase = { ...elementBase, label: text, isRequired: flag, errorMessage: text };

/** What every action may carry besides its own properties. */
const actionBase = {
  id: text,
  title: text,
  iconUrl: link,
  style: ActionStyle,
  tooltip: text,
  isEnabled: flag,
  mode: ActionMode,
  requires,
  fallback: { anyOf: [action, { const: 'drop' }] },
};

/** The card's own data: a string, or an object whose keys the author chooses. */
const actionData = { anyOf: [{ type: 'string' }, { type: 'object' }] };

/** An object of one `type`: known properties only, the listed ones required. */
function kind(type: string, properties: Record<string, unknown>, required: string[] = []): SchemaObject {
  return {
    type: 'object',
    properties: { type: { const: type }, ...properties },
    required: ['type', ...required],
    additionalProperties: false,
  };
}

/** The element types a card body, Container, Column or TableCell may hold. */
export const ELEMENT_TYPES = [
  'TextBlock',
  'RichTextBlock',
  'FactSet',
  'Table',
  'Image',
  'ActionSet',
  'Container',
  'ColumnSet',
  'Input.Text',
  'Input.Number',
  'Input.ChoiceSet',
  'Input.Toggle',
] as const;

/** The action types an ActionSet, the card's `actions` or a `selectAction` may hold. */
export const ACTION_TYPES = ['Action.Execute', 'Action.Submit', 'Action.OpenUrl'] as const;

/** Types that only appear inside one parent: Column in ColumnSet, TableRow in Table, TableCell in TableRow, TextRun in RichTextBlock. */
export const PART_TYPES = ['Column', 'TableRow', 'TableCell', 'TextRun'] as const;

/**
 * JSON Schema (draft 2020-12) of an Adaptive Card 1.5 as Millwright draws it; compile with ajv's
 * `Ajv2020` and the `discriminator` option, plus `uri` and `uri-reference` formats.
 *
 * @example
 * const validate = new Ajv2020({ discriminator: true }).addFormat('uri', isUri).compile(adaptiveCardSchema);
 */
export const adaptiveCardSchema: SchemaObject = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Adaptive Card 1.5 (the part Millwright draws)',
  ...kind(
    'AdaptiveCard',
    {
      // Teams runs Action.Execute and `refresh` only on cards that declare 1.5.
      version: { const: '1.5' },
      $schema: { type: 'string', format: 'uri' },
      body: elements,
      actions: { type: 'array', items: action },
      selectAction: action,
      fallbackText: text,
      speak: text,
      lang: { type: 'string', pattern: '^[a-zA-Z]{2}$' },
      minHeight: pixels,
      rtl: flag,
      verticalContentAlignment: VerticalAlignment,
      refresh: {
        type: 'object',
        properties: { action: { $ref: '#/$defs/Action.Execute' }, userIds: { type: 'array', items: text } },
        additionalProperties: false,
      },
      // A Teams extension, not part of the 1.5 format: `width: "Full"` widens the card to the chat.
      msteams: {
        type: 'object',
        properties: { width: { const: 'Full' } },
        additionalProperties: false,
      },
    },
    ['version'],
  ),
  $defs: {
    // The `discriminator` makes an unknown `type` fail with one clear error rather than one per branch.
    element: {
      type: 'object',
      discriminator: { propertyName: 'type' },
      oneOf: ELEMENT_TYPES.map((type) => ({ $ref: `#/$defs/${type}` })),
    },
    action: {
      type: 'object',
      discriminator: { propertyName: 'type' },
      oneOf: ACTION_TYPES.map((type) => ({ $ref: `#/$defs/${type}` })),
    },

    TextBlock: kind(
      'TextBlock',
      {
        ...elementBase,
        text,
        color: Colors,
        fontType: FontType,
        horizontalAlignment: HorizontalAlignment,
        isSubtle: flag,
        maxLines: { type: 'integer', minimum: 1 },
        size: FontSize,
        weight: FontWeight,
        wrap: flag,
        style: TextBlockStyle,
      },
      ['text'],
    ),
    // Text shown as it is: a RichTextBlock's TextRuns are never read as markdown.
    RichTextBlock: kind(
      'RichTextBlock',
      {
        ...elementBase,
        inlines: {
          type: 'array',
          minItems: 1,
          items: {
            anyOf: [
              text,
              kind(
                'TextRun',
                {
                  text,
                  color: Colors,
                  fontType: FontType,
                  highlight: flag,
                  isSubtle: flag,
                  italic: flag,
                  selectAction: action,
                  size: FontSize,
                  strikethrough: flag,
                  underline: flag,
                  weight: FontWeight,
                },
                ['text'],
              ),
            ],
          },
        },
        horizontalAlignment: HorizontalAlignment,
      },
      ['inlines'],
    ),
    FactSet: kind(
      'FactSet',
      {
        ...elementBase,
        facts: {
          type: 'array',
          items: {
            type: 'object',
            properties: { title: text, value: text },
            required: ['title', 'value'],
            additionalProperties: false,
          },
        },
      },
      ['facts'],
    ),
    Table: kind('Table', {
      ...elementBase,
      columns: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            // A number is the column's share of the width; a string is a fixed width like "80px".
            width: { anyOf: [{ type: 'number', minimum: 0 }, pixels] },
            horizontalCellContentAlignment: HorizontalAlignment,
            verticalCellContentAlignment: VerticalAlignment,
          },
          additionalProperties: false,
        },
      },
      rows: { type: 'array', items: { $ref: '#/$defs/TableRow' } },
      firstRowAsHeader: flag,
      showGridLines: flag,
      gridStyle: ContainerStyle,
      horizontalCellContentAlignment: HorizontalAlignment,
      verticalCellContentAlignment: VerticalAlignment,
    }),
    TableRow: kind('TableRow', {
      cells: { type: 'array', items: { $ref: '#/$defs/TableCell' } },
      style: ContainerStyle,
      horizontalCellContentAlignment: HorizontalAlignment,
      verticalCellContentAlignment: VerticalAlignment,
    }),
    TableCell: kind(
      'TableCell',
      {
        items: elements,
        selectAction: action,
        style: ContainerStyle,
        verticalContentAlignment: VerticalAlignment,
        bleed: flag,
        minHeight: pixels,
        rtl: flag,
      },
      ['items'],
    ),
    Image: kind(
      'Image',
      {
        ...elementBase,
        url: link,
        altText: text,
        backgroundColor: text,
        // An Image's height is also a pixel size, unlike other elements'.
        height: { anyOf: [BlockElementHeight, pixels] },
        width: pixels,
        horizontalAlignment: HorizontalAlignment,
        selectAction: action,
        size: ImageSize,
        style: ImageStyle,
      },
      ['url'],
    ),
    ActionSet: kind('ActionSet', { ...elementBase, actions: { type: 'array', items: action } }, ['actions']),
    Container: kind(
      'Container',
      {
        ...elementBase,
        items: elements,
        selectAction: action,
        style: ContainerStyle,
        verticalContentAlignment: VerticalAlignment,
        bleed: flag,
        minHeight: pixels,
        rtl: flag,
      },
      ['items'],
    ),
    ColumnSet: kind('ColumnSet', {
      ...elementBase,
      columns: { type: 'array', items: { $ref: '#/$defs/Column' } },
      selectAction: action,
      style: ContainerStyle,
      bleed: flag,
      minHeight: pixels,
      horizontalAlignment: HorizontalAlignment,
    }),
    Column: kind('Column', {
      ...elementBase,
      // A Column falls back to another Column, not to any element.
      fallback: { anyOf: [{ $ref: '#/$defs/Column' }, { const: 'drop' }] },
      items: elements,
      // "auto", "stretch", a share of the width (number) or a fixed width like "80px".
      width: { anyOf: [{ enum: ['auto', 'stretch'] }, { type: 'number', minimum: 0 }, pixels] },
      selectAction: action,
      style: ContainerStyle,
      verticalContentAlignment: VerticalAlignment,
      bleed: flag,
      minHeight: pixels,
      rtl: flag,
    }),

    'Input.Text': kind(
      'Input.Text',
      {
        ...inputBase,
        isMultiline: flag,
        maxLength: { type: 'integer', minimum: 0 },
        placeholder: text,
        regex: text,
        style: TextInputStyle,
        inlineAction: action,
        value: text,
      },
      ['id'],
    ),
    'Input.Number': kind(
      'Input.Number',
      { ...inputBase, min: number, max: number, placeholder: text, value: number },
      ['id'],
    ),
    'Input.ChoiceSet': kind(
      'Input.ChoiceSet',
      {
        ...inputBase,
        choices: {
          type: 'array',
          items: {
            type: 'object',
            properties: { title: text, value: text },
            required: ['title', 'value'],
            additionalProperties: false,
          },
        },
        isMultiSelect: flag,
        placeholder: text,
        style: ChoiceInputStyle,
        // Several chosen values are sent as one comma-separated string.
        value: text,
        wrap: flag,
      },
      ['id', 'choices'],
    ),
    'Input.Toggle': kind(
      'Input.Toggle',
      { ...inputBase, title: text, value: text, valueOn: text, valueOff: text, wrap: flag },
      ['id', 'title'],
    ),

    'Action.Execute': kind('Action.Execute', {
      ...actionBase,
      verb: text,
      data: actionData,
      associatedInputs: AssociatedInputs,
    }),
    'Action.Submit': kind('Action.Submit', {
      ...actionBase,
      data: actionData,
      associatedInputs: AssociatedInputs,
    }),
    'Action.OpenUrl': kind('Action.OpenUrl', { ...actionBase, url: { type: 'string', format: 'uri' } }, [
      'url',
    ]),
  },
};
