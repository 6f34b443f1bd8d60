// Keeps secrets out of logs, replies and the audit trail: by key name and by value shape.

const SECRET_KEY =
  /(token|secret|password|passwd|pwd|apikey|api_key|credential|private[_-]?key|authorization|cookie|signature)/i;

/** Token shapes, each with what it is; a match is replaced in output and refused in typed text. */
export const SECRET_SHAPES: readonly { kind: string; pattern: RegExp }[] = [
  { kind: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{6,}/g },
  { kind: 'a Slack app-level token', pattern: /\bxapp-[A-Za-z0-9-]{6,}/g },
  { kind: 'a Slack webhook URL', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{16,}/g },
  { kind: 'a GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{16,}/g },
  { kind: 'a GitHub token', pattern: /\bgithub_pat_[A-Za-z0-9_]{16,}/g },
  { kind: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi },
  { kind: 'a JWT', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  { kind: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b/g },
  {
    kind: 'an Azure client secret',
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g,
  },
  {
    kind: 'a private key',
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*)/g,
  },
];
export const REDACTED = '[redacted]';

/** Whether a field name says it holds a secret (`botToken`, `password`, `client_secret`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * A literal every shape above must contain (case aside): text without one holds no token, and one scan
 * for them spares the ten patterns on the thousands of short strings a large reply carries.
 */
const SHAPE_LITERALS =
  /xox|xapp-|hooks\.slack\.com|gh[pousr]_|github_pat_|bearer|eyJ|AKIA|ASIA|AROA|AIDA|Q~|PRIVATE KEY/i;

/** Replaces anything that looks like a token inside free text. */
export function redactText(value: string): string {
  if (!SHAPE_LITERALS.test(value)) return value;
  let out = value;
  for (const { pattern } of SECRET_SHAPES) out = out.replace(pattern, REDACTED);
  return out;
}

/** What kind of token `value` holds, when it holds one of the shapes above. */
export function secretShapeIn(value: string): string | undefined {
  for (const { kind, pattern } of SECRET_SHAPES) {
    pattern.lastIndex = 0;
    if (pattern.test(value)) {
      pattern.lastIndex = 0;
      return kind;
    }
  }
  return undefined;
}

/**
 * `value` with secret-named fields replaced (unless `byKey` is false) and every string passed through
 * `text`. Arrays and plain objects are copied only where something inside them changed: a large
 * reply with nothing to hide comes back as it was, without a copy of its every row. Errors, dates and
 * other class instances are kept as they are (their serializers redact on output).
 */
export function redactWith<T>(value: T, text: (value: string) => string, byKey = true): T {
  const walk = (node: unknown, key?: string): unknown => {
    if (
      byKey &&
      key !== undefined &&
      isSecretKey(key) &&
      node !== null &&
      node !== undefined &&
      node !== ''
    ) {
      return REDACTED;
    }
    if (typeof node === 'string') return text(node);
    if (Array.isArray(node)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < node.length; i++) {
        const item = walk(node[i]);
        if (item !== node[i]) {
          copy ??= node.slice();
          copy[i] = item;
        }
      }
      return copy ?? node;
    }
    if (node !== null && typeof node === 'object') {
      const prototype = Object.getPrototypeOf(node);
      if (prototype !== Object.prototype && prototype !== null) return node;
      let copy: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(node)) {
        const walked = walk(v, k);
        if (walked !== v) {
          copy ??= { ...node };
          copy[k] = walked;
        }
      }
      return copy ?? node;
    }
    return node;
  };
  return walk(value) as T;
}
