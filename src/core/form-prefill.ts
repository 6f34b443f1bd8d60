// A form's prefilled values (from a button's parameters or an alert's labels) are checked against their
// field before a platform shows them: one the field cannot take is left out and named beside it, on
// every surface alike, so nobody submits a value the form silently dropped.
import { clip } from './clip.js';
import type { FormField } from './reply.js';

/**
 * Why `value` cannot be a prefill of `field` (not a number, out of range, not a choice, too long), or
 * undefined when it can.
 *
 * @example
 * prefillProblem({ name: 'replicas', label: 'Replicas', type: 'int', required: true, min: 1 }, 'six') // 'not a whole number'
 */
export function prefillProblem(field: FormField, value: string): string | undefined {
  switch (field.type) {
    case 'int':
    case 'number': {
      const shape = field.type === 'int' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
      if (!shape.test(value)) return field.type === 'int' ? 'not a whole number' : 'not a number';
      const number = Number(value);
      // Beyond this a number input shows another number than the one given (or none at all).
      if (!Number.isSafeInteger(Math.trunc(number))) return 'too large for a number input';
      if (field.min !== undefined && number < field.min) return `below the minimum ${field.min}`;
      if (field.max !== undefined && number > field.max) return `above the maximum ${field.max}`;
      return undefined;
    }
    case 'enum':
      return (field.options ?? []).includes(value) ? undefined : 'not one of the choices';
    case 'bool':
      return value === 'true' || value === 'false' ? undefined : 'not true or false';
    default:
      return field.maxLength !== undefined && value.length > field.maxLength
        ? tooLong(value, field.maxLength)
        : undefined;
  }
}

/**
 * Why the field's prefill (its `default`) is left out of the form, or undefined when it is shown: the
 * command's own reason when it gave one (`defaultProblem`), else the field's rules.
 *
 * @example
 * prefillRefusal({ name: 'replicas', type: 'int', required: true, default: 'six', ... }) // 'not a whole number'
 */
export function prefillRefusal(field: FormField): string | undefined {
  if (field.default === undefined) return undefined;
  return field.defaultProblem ?? prefillProblem(field, String(field.default));
}

/** The refusal of a text longer than `max` characters. */
export function tooLong(value: string, max: number): string {
  return `${value.length} characters, more than the ${max} allowed`;
}

/**
 * The line shown beside a field whose prefill was left out.
 *
 * @example
 * prefillNote({ name: 'replicas', default: 'six', ... }, 'not a whole number')
 * // 'Given replicas=six: not a whole number, so it is not filled in.'
 */
export function prefillNote(field: FormField, problem: string): string {
  return `Given ${field.name}=${clip(String(field.default), 40)}: ${problem}, so it is not filled in.`;
}
