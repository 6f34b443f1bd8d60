// A Reply form as a Slack modal (typed inputs: selects for enums, bounded number inputs) and a
// submitted modal back into a command line of `name="value"` pairs.
import type { types } from '@slack/bolt';
import { type FormBlock, type FormField, formLine } from '../../src/core/index.js';
import { FORM_CALLBACK_ID } from './block-kit.js';

type ModalView = types.ModalView;
type InputBlock = types.InputBlock;

const FIELD_PREFIX = 'field.';
const VALUE_ACTION = 'value';
const MAX_SELECT_OPTIONS = 100;

/** What Slack sends back for one input in `view.state.values`. */
export interface SubmittedValue {
  type: string;
  value?: string | null;
  selected_option?: { value: string } | null;
}

/** The block id of a field's input, which `response_action: errors` names to put a message next to it. */
export function fieldBlockId(name: string): string {
  return `${FIELD_PREFIX}${name}`;
}

/**
 * The modal for a form. `privateMetadata` rides along and comes back on submit (at most 3,000 characters).
 *
 * @example
 * await client.views.open({ trigger_id, view: formToModal(form, JSON.stringify({ t: token })) });
 */
export function formToModal(form: FormBlock, privateMetadata: string): ModalView {
  const blocks: ModalView['blocks'] = [
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Runs \`${form.command.replace(/`/g, "'")}\` as you, with the values below.`,
        },
      ],
    },
    ...form.fields.slice(0, 99).map(fieldInput),
  ];
  return {
    type: 'modal',
    callback_id: FORM_CALLBACK_ID,
    title: { type: 'plain_text', text: clip(form.title || 'Millwright', 24) },
    submit: { type: 'plain_text', text: clip(form.submitLabel || 'Run', 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: privateMetadata,
    blocks,
  };
}

function fieldInput(field: FormField): InputBlock {
  const input: InputBlock = {
    type: 'input',
    block_id: fieldBlockId(field.name),
    optional: !field.required,
    label: { type: 'plain_text', text: clip(field.label || field.name, 2000) },
    element: fieldElement(field),
  };
  const hint = [field.description, bounds(field)].filter(Boolean).join(' ');
  if (hint) input.hint = { type: 'plain_text', text: clip(hint, 2000) };
  return input;
}

function fieldElement(field: FormField): InputBlock['element'] {
  const initial = field.default === undefined ? undefined : String(field.default);
  switch (field.type) {
    case 'enum': {
      const options = (field.options ?? []).slice(0, MAX_SELECT_OPTIONS).map(option);
      if (options.length === 0) break;
      return {
        type: 'static_select',
        action_id: VALUE_ACTION,
        placeholder: { type: 'plain_text', text: 'Choose one' },
        options,
        ...(initial !== undefined && field.options?.includes(initial)
          ? { initial_option: option(initial) }
          : {}),
      };
    }
    case 'int':
    case 'number':
      return {
        type: 'number_input',
        action_id: VALUE_ACTION,
        is_decimal_allowed: field.type === 'number',
        ...(field.min === undefined ? {} : { min_value: String(field.min) }),
        ...(field.max === undefined ? {} : { max_value: String(field.max) }),
        ...(initial === undefined ? {} : { initial_value: initial }),
      };
    case 'bool':
      return {
        type: 'radio_buttons',
        action_id: VALUE_ACTION,
        options: [
          { text: { type: 'plain_text', text: 'Yes' }, value: 'true' },
          { text: { type: 'plain_text', text: 'No' }, value: 'false' },
        ],
        ...(initial === undefined
          ? {}
          : {
              initial_option: {
                text: { type: 'plain_text', text: initial === 'true' ? 'Yes' : 'No' },
                value: initial === 'true' ? 'true' : 'false',
              },
            }),
      };
    default:
      break;
  }
  return {
    type: 'plain_text_input',
    action_id: VALUE_ACTION,
    ...(field.type === 'duration' ? { placeholder: { type: 'plain_text', text: 'like 10m or 1h30m' } } : {}),
    ...(initial === undefined ? {} : { initial_value: initial }),
  };
}

function option(value: string): types.PlainTextOption {
  return { text: { type: 'plain_text', text: clip(value, 75) }, value: clip(value, 150) };
}

function bounds(field: FormField): string {
  if (field.min === undefined && field.max === undefined) return '';
  if (field.min !== undefined && field.max !== undefined) return `(${field.min} to ${field.max})`;
  return field.min !== undefined ? `(at least ${field.min})` : `(at most ${field.max})`;
}

/**
 * The values a submitted modal carries, as `[name, value]` pairs in the order the modal shows them;
 * empty inputs are left out.
 *
 * @example
 * submittedValues([{ block_id: 'field.replicas' }], { 'field.replicas': { value: { type: 'number_input', value: '3' } } })
 * // [['replicas', '3']]
 */
export function submittedValues(
  blocks: ReadonlyArray<{ block_id?: string }>,
  values: Record<string, Record<string, SubmittedValue>>,
): Array<[string, string]> {
  const order = blocks
    .map((block) => block.block_id)
    .filter((id): id is string => !!id?.startsWith(FIELD_PREFIX));
  for (const id of Object.keys(values))
    if (id.startsWith(FIELD_PREFIX) && !order.includes(id)) order.push(id);
  const pairs: Array<[string, string]> = [];
  for (const id of order) {
    const submitted = values[id]?.[VALUE_ACTION];
    const value = submitted?.selected_option?.value ?? submitted?.value;
    if (value === undefined || value === null || value === '') continue;
    pairs.push([id.slice(FIELD_PREFIX.length), value]);
  }
  return pairs;
}

/**
 * The command line a submitted modal runs: the form's command followed by `name="value"` for every
 * field that has a value, in the order the modal shows them.
 *
 * @example
 * submittedLine('runbook run restart-pod', [{ block_id: 'field.replicas' }], { 'field.replicas': { value: { type: 'number_input', value: '3' } } })
 * // 'runbook run restart-pod replicas="3"'
 */
export function submittedLine(
  command: string,
  blocks: ReadonlyArray<{ block_id?: string }>,
  values: Record<string, Record<string, SubmittedValue>>,
): string {
  return formLine(command, submittedValues(blocks, values));
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
