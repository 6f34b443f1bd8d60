// Reads what a clicked Millwright button or submitted form sends back (Action.Execute invoke or
// Action.Submit message) and turns a form into the command line the submitter runs.
import { type FormBlock, formLine } from '../../src/core/index.js';
import { type CardActionData, inputId } from './adaptive-card.js';

export interface CardSubmission extends CardActionData {
  /** Input values as sent, keyed by input id (`mw.<block>.<field>`). */
  inputs: Record<string, string>;
}

/**
 * Finds a Millwright payload in an invoke's `value.action.data` or a message's `value`.
 *
 * @example
 * readSubmission({ action: { type: 'Action.Execute', data: { millwright: { kind: 'action', token: 't', block: 2 } } } })
 */
export function readSubmission(value: unknown): CardSubmission | undefined {
  const outer = asRecord(value);
  const action = asRecord(outer?.action);
  const data = action ? asRecord(action.data) : outer;
  const millwright = asRecord(data?.millwright);
  if (!data || !millwright) return undefined;
  const { kind, token, block } = millwright;
  if ((kind !== 'action' && kind !== 'form') || typeof token !== 'string' || typeof block !== 'number') {
    return undefined;
  }
  const inputs: Record<string, string> = {};
  for (const [key, raw] of Object.entries(data)) {
    if (!key.startsWith('mw.')) continue;
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean')
      inputs[key] = String(raw);
  }
  return { kind, token, block, inputs };
}

/**
 * The values typed for one form's fields, by field name; blanks are left out.
 *
 * @example
 * formValues(form, 1, { 'mw.1.replicas': '3', 'mw.1.reason': ' ' }) // { replicas: '3' }
 */
export function formValues(
  form: FormBlock,
  block: number,
  inputs: Record<string, string>,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of form.fields) {
    const raw = inputs[inputId(block, field.name)];
    if (raw !== undefined && raw.trim() !== '') values[field.name] = raw.trim();
  }
  return values;
}

/**
 * The command a submitted form runs: its command line, then `name="value"` for each filled field.
 *
 * @example
 * formCommand('runbook run scale', { replicas: '3', note: 'say "hi"' }) // 'runbook run scale replicas="3" note="say \"hi\""'
 */
export function formCommand(command: string, values: Record<string, string>): string {
  return formLine(command, values);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
