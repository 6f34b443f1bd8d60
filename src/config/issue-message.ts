// Plain-words messages for schema problems. They describe what was expected and never echo the value:
// it may have come from a ${SECRET}.
import type { z } from 'zod';

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value pairs)',
  record: 'a mapping (key: value pairs)',
  array: 'a list',
};

function kindOf(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'true/false';
  return `a ${typeof value}`;
}

/** A zod error map, used per parse so schema-level messages still win. */
export const describeIssue: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      const quoteHint =
        issue.expected === 'string' && typeof issue.input !== 'object' ? ' (put it in quotes)' : '';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}${quoteHint}`;
    }
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1
          ? 'must not be empty'
          : `expected at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `expected at least ${issue.minimum} items`;
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `expected at most ${issue.maximum} items`;
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'expected a URL' : `expected ${issue.format} format`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `unknown key ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return unionMessage(issue.errors, issue.input);
    case 'invalid_key':
      return `invalid key: ${firstMessage(issue.issues) ?? 'not a name this mapping accepts'}`;
    case 'invalid_element':
      return `has an invalid entry: ${firstMessage(issue.issues) ?? 'not a value this list accepts'}`;
    default:
      return issue.message ?? 'invalid value';
  }
};

type Issue = z.core.$ZodIssue;

function firstMessage(issues: readonly Issue[]): string | undefined {
  const first = issues[0];
  return first ? withPath(first) : undefined;
}

function withPath(issue: Issue): string {
  const where = issue.path.map(String).join('.');
  return where ? `${where}: ${issue.message}` : issue.message;
}

/** What each accepted form wanted: "expected text or a list, got a number", not just "no form matched". */
function unionMessage(branches: readonly (readonly Issue[])[], input: unknown): string {
  const firsts = branches.map((branch) => branch[0]).filter((issue) => issue !== undefined);
  if (firsts.length === 0) return 'does not match any accepted form';
  if (firsts.every((issue) => issue.code === 'invalid_type' && issue.path.length === 0)) {
    const kinds = firsts.map((issue) => {
      const expected = (issue as { expected: string }).expected;
      return EXPECTED[expected] ?? expected;
    });
    return `expected ${[...new Set(kinds)].join(' or ')}, got ${kindOf(input)}`;
  }
  return `does not match any accepted form: ${[...new Set(firsts.map(withPath))].join('; or ')}`;
}
