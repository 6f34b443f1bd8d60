// Refuses typed text that holds a secret before anything stores or runs it: a value from the config,
// a known token shape, secretlint's recommended rules (cloud keys, API tokens, connection strings,
// basic-auth URLs, ...), or a high-entropy value assigned to a secret-named key.
import { ErrorCode, MillwrightError } from './errors.js';
import { secretShapeIn } from './redact.js';
import type { SecretSet } from './secrets.js';

export interface SecretFinding {
  /** What it looks like, for the refusal: "a GitHub token", "a value from the config's secrets". */
  kind: string;
}

// `password=...`, `api_key: ...`, `client-secret=...`: the key ends in a secret word.
const ASSIGNMENT =
  /(?:^|[^A-Za-z0-9])[A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)\s*[:=]\s*["']?([^\s"',;]{8,})/gi;

/** Bits per character; random tokens score well above prose and identifiers. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function secretAssignment(text: string): boolean {
  for (const match of text.matchAll(ASSIGNMENT)) {
    const value = match[1]!;
    if (value.length >= 20 || entropy(value) >= 3) return true;
  }
  return false;
}

// secretlint's rules look for long unbroken tokens, URLs with credentials and key blocks; text with
// none of those cannot match, and skips loading it.
const MIGHT_HOLD_SECRET = /\S{16,}|:\/\/|PRIVATE KEY/;

type Lint = (text: string) => Promise<string | undefined>;
let linter: Promise<Lint> | undefined;

async function loadLinter(): Promise<Lint> {
  const [{ lintSource }, { creator: recommended }] = await Promise.all([
    import('@secretlint/core'),
    import('@secretlint/secretlint-rule-preset-recommend'),
  ]);
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };
  return async (text) => {
    const result = await lintSource({
      source: { content: text, filePath: 'command.txt', ext: '.txt', contentType: 'text' },
      options: { config, maskSecrets: true },
    });
    const rule = result.messages[0]?.ruleId;
    return rule ? rule.replace(/^@secretlint\/secretlint-rule-/, '') : undefined;
  };
}

/**
 * The checks of `findSecret` that take microseconds (no linter): the secret `text` holds, undefined
 * when it cannot hold one, or 'unsure' when only secretlint's rules could tell.
 *
 * @example
 * findSecretQuickly('deploy ghp_0123456789abcdef0123', secrets); // { kind: 'a GitHub token' }
 */
export function findSecretQuickly(text: string, known: SecretSet): SecretFinding | 'unsure' | undefined {
  if (known.includes(text)) return { kind: 'a secret from the config' };
  const shape = secretShapeIn(text);
  if (shape) return { kind: shape };
  if (secretAssignment(text)) return { kind: 'a secret-looking value assigned to a secret-named key' };
  return MIGHT_HOLD_SECRET.test(text) ? 'unsure' : undefined;
}

/**
 * The first secret `text` holds, or undefined; never says what the secret is.
 *
 * @example
 * await findSecret('deploy ghp_0123456789abcdef0123', secrets); // { kind: 'a GitHub token' }
 */
export async function findSecret(text: string, known: SecretSet): Promise<SecretFinding | undefined> {
  const quick = findSecretQuickly(text, known);
  if (quick !== 'unsure') return quick;
  linter ??= loadLinter();
  const rule = await (await linter)(text);
  return rule ? { kind: `a secret (secretlint rule ${rule})` } : undefined;
}

/**
 * The refusal of typed text that holds a secret: it says what kind, never the secret.
 *
 * @example
 * throw secretRefusal({ kind: 'a GitHub token' }, 'command');
 */
export function secretRefusal(
  finding: SecretFinding,
  what: 'command' | 'value',
  details?: Record<string, unknown>,
): MillwrightError {
  return new MillwrightError(
    ErrorCode.SecretDetected,
    `that ${what} holds what looks like ${finding.kind}; nothing was run or stored`,
    {
      hint: 'send it again without the secret (secrets belong in the environment, never in chat), and rotate the secret if it was real',
      ...(details ? { details } : {}),
    },
  );
}
