// A Reply form as a Slack modal (typed inputs: selects for enums, bounded number inputs) and a
// submitted modal back into a command line of `name="value"` pairs.
import type { types } from '@slack/bolt';
import {
  clip,
  type FormBlock,
  type FormField,
  formLine,
  prefillNote,
  prefillRefusal,
  tooLong,
} from '../../src/core/index.js';
import { FORM_CALLBACK_ID } from './block-kit.js';

type ModalView = types.ModalView;
type InputBlock = types.InputBlock;

export const FIELD_PREFIX = 'field.';
const VALUE_ACTION = 'value';
const MAX_SELECT_OPTIONS = 100;
/** The longest value a Slack menu option carries. */
const MAX_OPTION_VALUE = 150;
/** Slack's plain_text_input holds at most 3,000 characters. */
const MAX_TEXT_LENGTH = 3000;

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
  const { element, refused } = fieldElement(field);
  const input: InputBlock = {
    type: 'input',
    block_id: fieldBlockId(field.name),
    optional: !field.required,
    label: { type: 'plain_text', text: clip(field.label || field.name, 2000) },
    element,
  };
  // A value Slack would refuse (views.open fails and nobody sees the form) is left out and named here.
  const note = refused ? prefillNote(field, refused) : '';
  const range = bounds(field);
  // Runbook descriptions often name the range already ("how many replicas (2 to 20)").
  const hint = [note, field.description, field.description?.includes(range) ? '' : range]
    .filter(Boolean)
    .join(' ');
  if (hint) input.hint = { type: 'plain_text', text: clip(hint, 2000) };
  return input;
}

/** The input for a field, and why its prefill was left out when Slack would refuse it. */
function fieldElement(field: FormField): { element: InputBlock['element']; refused?: string } {
  const initial = field.default === undefined ? undefined : String(field.default);
  const problem = prefillRefusal(field);
  switch (field.type) {
    case 'enum': {
      const options = (field.options ?? []).slice(0, MAX_SELECT_OPTIONS).map(option);
      if (options.length === 0) break;
      const chosen = initial === undefined ? undefined : options.find((o) => o.value === initial);
      const refused =
        initial !== undefined && !chosen
          ? (problem ??
            (initial.length > MAX_OPTION_VALUE
              ? `longer than a Slack menu choice can be (${MAX_OPTION_VALUE} characters)`
              : `not among the first ${MAX_SELECT_OPTIONS} choices a Slack menu shows`))
          : undefined;
      return {
        element: {
          type: 'static_select',
          action_id: VALUE_ACTION,
          placeholder: { type: 'plain_text', text: 'Choose one' },
          options,
          ...(chosen ? { initial_option: chosen } : {}),
        },
        ...(refused ? { refused } : {}),
      };
    }
    case 'int':
    case 'number': {
      const refused = problem;
      return {
        element: {
          type: 'number_input',
          action_id: VALUE_ACTION,
          is_decimal_allowed: field.type === 'number',
          ...(field.min === undefined ? {} : { min_value: String(field.min) }),
          ...(field.max === undefined ? {} : { max_value: String(field.max) }),
          ...(initial === undefined || refused ? {} : { initial_value: initial }),
        },
        ...(refused ? { refused } : {}),
      };
    }
    case 'bool': {
      const answers = [
        { text: { type: 'plain_text', text: 'Yes' }, value: 'true' },
        { text: { type: 'plain_text', text: 'No' }, value: 'false' },
      ] satisfies types.PlainTextOption[];
      const chosen = answers.find((answer) => answer.value === initial);
      return {
        element: {
          type: 'radio_buttons',
          action_id: VALUE_ACTION,
          options: answers,
          ...(chosen ? { initial_option: chosen } : {}),
        },
        ...(problem ? { refused: problem } : {}),
      };
    }
    default:
      break;
  }
  const maxLength = Math.min(field.maxLength ?? MAX_TEXT_LENGTH, MAX_TEXT_LENGTH);
  const refused =
    problem ??
    (initial !== undefined && initial.length > maxLength ? tooLong(initial, maxLength) : undefined);
  return {
    element: {
      type: 'plain_text_input',
      action_id: VALUE_ACTION,
      ...(field.maxLength === undefined ? {} : { max_length: maxLength }),
      ...(field.type === 'duration'
        ? { placeholder: { type: 'plain_text', text: 'like 10m or 1h30m' } }
        : {}),
      ...(initial === undefined || refused ? {} : { initial_value: initial }),
    },
    ...(refused ? { refused } : {}),
  };
}

function option(value: string): types.PlainTextOption {
  return { text: { type: 'plain_text', text: clip(value, 75) }, value: clip(value, MAX_OPTION_VALUE) };
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
