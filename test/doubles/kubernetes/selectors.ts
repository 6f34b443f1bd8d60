// Label selectors (`a=b,c!=d,e in (f,g),!h`) and the field selectors the API server offers for
// every kind (`metadata.name=`, `metadata.namespace=`), parsed and matched as the server does.

export type Labels = Record<string, string>;

interface Requirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

/** Thrown for a selector the server would refuse with 400 BadRequest. */
export class SelectorError extends Error {}

/**
 * Parses a label selector string into a matcher.
 *
 * @example
 * labelSelector('app=checkout,tier in (web,api)')({ app: 'checkout', tier: 'web' }) // true
 */
export function labelSelector(selector: string | null | undefined): (labels: Labels | undefined) => boolean {
  const requirements = parseLabelSelector(selector ?? '');
  return (labels = {}) => requirements.every((req) => matches(req, labels));
}

function matches(req: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return has && value === req.values[0];
    case 'neq':
      return !has || value !== req.values[0];
    case 'in':
      return has && req.values.includes(value ?? '');
    case 'notin':
      return !has || !req.values.includes(value ?? '');
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(selector)) {
    const text = part.trim();
    if (text === '') continue;
    let match = /^!\s*(\S+)$/.exec(text);
    if (match) {
      requirements.push({ key: checkKey(match[1] ?? ''), op: 'notexists', values: [] });
      continue;
    }
    match = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
    if (match) {
      const values = (match[3] ?? '').split(',').map((v) => checkValue(v.trim()));
      requirements.push({ key: checkKey(match[1] ?? ''), op: match[2] as 'in' | 'notin', values });
      continue;
    }
    match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
    if (match) {
      const op = match[2] === '!=' ? 'neq' : 'eq';
      requirements.push({ key: checkKey(match[1] ?? ''), op, values: [checkValue(match[3] ?? '')] });
      continue;
    }
    if (/^\S+$/.test(text)) {
      requirements.push({ key: checkKey(text), op: 'exists', values: [] });
      continue;
    }
    throw new SelectorError(`unable to parse requirement: ${text}`);
  }
  return requirements;
}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw new SelectorError(`invalid label value: "${value}"`);
  return value;
}

/** Field selectors: the API server supports metadata.name and metadata.namespace on every kind. */
export function fieldSelector(
  selector: string | null | undefined,
): (object: { metadata?: { name?: string; namespace?: string } }) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .map((term) => {
      const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
      if (!match) throw new SelectorError(`invalid field selector: ${term}`);
      const field = match[1] ?? '';
      if (field !== 'metadata.name' && field !== 'metadata.namespace') {
        throw new SelectorError(`field label not supported: ${field}`);
      }
      return { field, negate: match[2] === '!=', value: match[3] ?? '' };
    });
  return (object) =>
    terms.every((term) => {
      const actual = term.field === 'metadata.name' ? object.metadata?.name : object.metadata?.namespace;
      return term.negate ? actual !== term.value : actual === term.value;
    });
}

/** Renders a `LabelSelector` (`matchLabels` + `matchExpressions`) as the selector string kubectl sends. */
export function selectorString(selector: {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const expr of selector.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    if (expr.operator === 'In') parts.push(`${expr.key} in (${values})`);
    else if (expr.operator === 'NotIn') parts.push(`${expr.key} notin (${values})`);
    else if (expr.operator === 'Exists') parts.push(expr.key);
    else if (expr.operator === 'DoesNotExist') parts.push(`!${expr.key}`);
  }
  return parts.sort().join(',');
}
