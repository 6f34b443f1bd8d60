// Runbook parameters: each value typed, bounded and checked before any step runs. Strings are
// refused when they carry what injection needs (control characters, `..`, shell metacharacters).
import { isDuration, parseDuration } from '../core/duration.js';
import { badArgument } from '../core/errors.js';
import { nearest } from '../core/suggest.js';
import type { RunbookParam, RunbookSpec } from './schema.js';

export type ParamValue = string | number | boolean;

const DEFAULT_MAX_LENGTH = 256;
// Without a pattern of its own, a string holds names, versions, paths and short text only.
const SAFE_TEXT = /^[\p{L}\p{N}][\p{L}\p{N} _.,:@/+=#-]*$/u;
/** Newlines, tabs, escape sequences: nothing a parameter needs, and everything log forging needs. */
function hasControlCharacter(value: string): boolean {
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Checks `raw` (key=value strings from chat) against the runbook's declared parameters and
 * returns typed values, defaults filled in. Every refusal names the parameter.
 *
 * @example
 * validateParams(runbook, { deployment: 'checkout', replicas: '3' }) // { deployment: 'checkout', replicas: 3, namespace: 'shop' }
 */
export function validateParams(
  runbook: RunbookSpec,
  raw: Record<string, string>,
): Record<string, ParamValue> {
  const declared = new Map(runbook.spec.params.map((p) => [p.name, p]));
  const name = runbook.metadata.name;
  for (const key of Object.keys(raw)) {
    if (declared.has(key)) continue;
    const guess = nearest(key, declared.keys());
    throw badArgument(
      `${name} has no parameter ${key}`,
      guess ? `did you mean ${guess}=?` : `its parameters: ${[...declared.keys()].join(', ') || 'none'}`,
      key,
    );
  }
  const values: Record<string, ParamValue> = {};
  for (const param of runbook.spec.params) {
    // Own keys only: a parameter named `constructor` that was not given is not Object's constructor.
    const given = Object.hasOwn(raw, param.name) ? raw[param.name] : undefined;
    if (given === undefined) {
      if (param.default !== undefined) values[param.name] = param.default;
      else if (param.required) {
        throw badArgument(
          `${name} needs ${param.name}= (${param.description})`,
          `try: runbook show ${name}`,
          param.name,
        );
      }
      continue;
    }
    values[param.name] = convert(param, given);
  }
  return values;
}

/**
 * One parameter's value as the runbook takes it, or why it cannot: what a form checks a prefill
 * against, so it fills in exactly what a run would accept.
 *
 * @example
 * checkParam({ name: 'dry_run', type: 'bool', required: false }, 'yes') // { value: true }
 * checkParam({ name: 'replicas', type: 'int', required: true, min: 2, max: 20 }, '50') // { problem: 'must be between 2 and 20' }
 */
export function checkParam(param: RunbookParam, raw: string): { value: ParamValue } | { problem: string } {
  try {
    return { value: convert(param, raw) };
  } catch (error) {
    // The reason without the name and the value, which the form's note already shows.
    const message = (error as Error).message;
    const reason = message.startsWith(`${param.name} `) ? message.slice(param.name.length + 1) : message;
    return { problem: reason.replace(/[,;] got .*$|: ".*"$/s, '') };
  }
}

function convert(param: RunbookParam, raw: string): ParamValue {
  const refuse = (why: string, hint?: string) => badArgument(`${param.name} ${why}`, hint, param.name);
  if (hasControlCharacter(raw)) throw refuse('must not contain newlines or control characters');
  switch (param.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw refuse(`must be a whole number, got "${raw}"`);
      const value = Number(raw);
      if ((param.min !== undefined && value < param.min) || (param.max !== undefined && value > param.max)) {
        throw refuse(`must be between ${param.min ?? '-∞'} and ${param.max ?? '∞'}, got ${value}`);
      }
      return value;
    }
    case 'bool':
      if (/^(true|yes|on)$/i.test(raw)) return true;
      if (/^(false|no|off)$/i.test(raw)) return false;
      throw refuse(`must be true or false, got "${raw}"`);
    case 'enum': {
      const match = param.values!.find((value) => value === raw);
      if (match === undefined) throw refuse(`must be one of ${param.values!.join(', ')}; got "${raw}"`);
      return match;
    }
    case 'duration':
      if (!isDuration(raw)) throw refuse(`must be a duration like 30s, 5m or 1h, got "${raw}"`);
      parseDuration(raw);
      return raw;
    case 'string': {
      const maxLength = param.maxLength ?? DEFAULT_MAX_LENGTH;
      if (raw.length === 0) throw refuse('must not be empty');
      if (raw.length > maxLength) throw refuse(`is ${raw.length} characters long; at most ${maxLength}`);
      if (raw.includes('..')) throw refuse('must not contain ".."');
      if (param.pattern !== undefined) {
        // The whole value must match, whether or not the author anchored the pattern.
        if (!new RegExp(`^(?:${param.pattern})$`, 'u').test(raw))
          throw refuse(`must match ${param.pattern}, got "${raw}"`);
        return raw;
      }
      if (!SAFE_TEXT.test(raw)) {
        throw refuse(
          `contains characters a runbook parameter may not carry: "${raw}"`,
          'use letters, digits, spaces and . , : @ / + = # - _ only',
        );
      }
      return raw;
    }
  }
}

/** What an alert carries that a runbook's parameters may be filled from. */
export interface AlertFields {
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

/**
 * The parameter values an alert gives a runbook: each parameter from its `fromAlert` source
 * (`label:NAME`, `annotation:NAME`), else from the label of its own name; parameters the alert does
 * not carry are left out (the run then asks for them in a form, prefilled with the rest).
 *
 * @example
 * paramsFromAlert(restart, { labels: { deployment: 'checkout', namespace: 'shop' }, annotations: {} })
 * // [['deployment', 'checkout'], ['namespace', 'shop']]
 */
export function paramsFromAlert(runbook: RunbookSpec, alert: AlertFields): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const param of runbook.spec.params) {
    const [kind, key] = (param.fromAlert ?? `label:${param.name}`).split(':') as [string, string];
    const source = kind === 'annotation' ? alert.annotations : alert.labels;
    const value = Object.hasOwn(source, key) ? source[key] : undefined;
    if (value !== undefined && value !== '') found.push([param.name, value]);
  }
  return found;
}
