// Keeps secrets out of logs, replies and the audit trail: by key name and by value shape.

const SECRET_KEY =
  /(token|secret|password|passwd|pwd|apikey|api_key|credential|private[_-]?key|authorization|cookie|signature)/i;
const SECRET_VALUE = [
  /\bxox[abposr]-[A-Za-z0-9-]{6,}/g, // Slack tokens
  /\bxapp-[A-Za-z0-9-]{6,}/g, // Slack app-level tokens
  /\bgh[pousr]_[A-Za-z0-9]{16,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{16,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWTs
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];
export const REDACTED = '[redacted]';

/** Whether a field name says it holds a secret (`botToken`, `password`, `client_secret`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Replaces anything that looks like a token inside free text. */
export function redactText(value: string): string {
  let out = value;
  for (const pattern of SECRET_VALUE) out = out.replace(pattern, REDACTED);
  return out;
}

/**
 * Deep copy of `value` with secret-named fields and secret-looking strings replaced.
 *
 * @example
 * redact({ user: 'ana', token: 'xoxb-1' }) // { user: 'ana', token: '[redacted]' }
 */
export function redact<T>(value: T, extraSecrets: readonly string[] = []): T {
  const walk = (node: unknown, key?: string): unknown => {
    if (key !== undefined && isSecretKey(key) && node !== null && node !== undefined && node !== '') {
      return REDACTED;
    }
    if (typeof node === 'string') {
      let out = redactText(node);
      for (const secret of extraSecrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
      return out;
    }
    if (Array.isArray(node)) return node.map((item) => walk(item));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
    }
    return node;
  };
  return walk(value) as T;
}
