// `{{ params.NAME }}` and `{{ steps.ID.outputs.NAME }}` references in step inputs: found for lint,
// resolved at run time. Nothing else is allowed inside `{{ }}`: no expressions, no code.
import { badArgument } from '../core/errors.js';
import type { WithValue } from './schema.js';

const REFERENCE = /\{\{\s*(.*?)\s*\}\}/g;
const PARAM = /^params\.([a-zA-Z][a-zA-Z0-9_]*)$/;
const STEP_OUTPUT = /^steps\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.outputs\.([a-zA-Z][a-zA-Z0-9_]*)$/;

export type Reference =
  | { kind: 'param'; name: string; text: string }
  | { kind: 'step'; step: string; output: string; text: string }
  | { kind: 'invalid'; text: string };

/** Every `{{ ... }}` in a value, nested lists and maps included. */
export function findReferences(value: WithValue): Reference[] {
  if (typeof value === 'string') {
    return [...value.matchAll(REFERENCE)].map((match) => classify(match[1] ?? ''));
  }
  if (Array.isArray(value)) return value.flatMap(findReferences);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(findReferences);
  return [];
}

function classify(inner: string): Reference {
  const param = PARAM.exec(inner);
  if (param) return { kind: 'param', name: param[1]!, text: inner };
  const step = STEP_OUTPUT.exec(inner);
  if (step) return { kind: 'step', step: step[1]!, output: step[3]!, text: inner };
  return { kind: 'invalid', text: inner };
}

export interface TemplateScope {
  params: Record<string, unknown>;
  steps: Record<string, { outputs: Record<string, unknown> }>;
}

/** `holder[key]` when it is the holder's own; `constructor` or `toString` never reaches Object.prototype. */
function own(holder: object | null | undefined, key: string): unknown {
  return holder !== null && holder !== undefined && Object.hasOwn(holder, key)
    ? (holder as Record<string, unknown>)[key]
    : undefined;
}

function lookup(reference: Reference, scope: TemplateScope): unknown {
  if (reference.kind === 'param') return own(scope.params, reference.name);
  if (reference.kind === 'step') {
    const step = own(scope.steps, reference.step) as { outputs?: Record<string, unknown> } | undefined;
    return own(step?.outputs, reference.output);
  }
  throw badArgument(`{{ ${reference.text} }} is not a reference Millwright understands`);
}

/**
 * Resolves references. A value that is exactly one reference keeps the referenced type
 * (`"{{ params.replicas }}"` gives the number 3); references inside longer text become text.
 *
 * @example
 * render({ deployment: '{{ params.deployment }}' }, { params: { deployment: 'checkout' }, steps: {} })
 */
export function render(value: WithValue, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    // Found the way findReferences finds them, so render resolves exactly the references lint checked.
    const references = [...value.matchAll(REFERENCE)];
    const only = references.length === 1 ? references[0] : undefined;
    if (only !== undefined && only[0] === value) return lookup(classify(only[1] ?? ''), scope);
    return value.replace(REFERENCE, (_, inner: string) => {
      const resolved = lookup(classify(inner), scope);
      return resolved === undefined || resolved === null ? '' : String(resolved);
    });
  }
  if (Array.isArray(value)) return value.map((item) => render(item, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item, scope)]));
  }
  return value;
}
