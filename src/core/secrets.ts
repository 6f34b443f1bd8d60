// One set of secret values for the whole process, gathered once at load (config values from the
// environment, values under secret-named keys, http target headers, what plugins declare) and applied
// wherever text leaves Millwright: logs, replies, posts, the audit trail, the store.
import { REDACTED, redactText, redactWith } from './redact.js';

/** Values under a secret-named key count from this length; anything else from the environment, from 8. */
const MIN_SECRET_LENGTH = 4;
const MIN_INTERPOLATED_LENGTH = 8;

const escapeForPattern = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The secrets to keep out of every output, plus the token shapes `redactText` knows.
 *
 * @example
 * const secrets = new SecretSet();
 * secrets.add(['s3cr3t-signing']);
 * secrets.text('key s3cr3t-signing'); // 'key [redacted]'
 */
export class SecretSet {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined | null = null;

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /**
   * Adds values to scrub. `certain` says the value is a secret by where it was found (a secret-named
   * key, an http header, a plugin's declaration); other values (anything from `${VAR}`) count only when
   * they are at least 8 characters and not a plain number or boolean, which would censor ordinary text.
   */
  add(values: Iterable<string>, options: { certain?: boolean } = { certain: true }): void {
    for (const value of values) {
      if (typeof value !== 'string') continue;
      const trimmed = value.trim();
      if (trimmed.length < MIN_SECRET_LENGTH) continue;
      if (
        !options.certain &&
        (trimmed.length < MIN_INTERPOLATED_LENGTH || /^(\d+|true|false)$/i.test(trimmed))
      )
        continue;
      for (const form of [value, trimmed]) {
        this.#values.add(form);
        // The same value as it appears inside a JSON string (a log line, the store file).
        this.#values.add(JSON.stringify(form).slice(1, -1));
      }
    }
    this.#pattern = null;
  }

  /** How many distinct values (with their JSON-escaped forms) are known. */
  get size(): number {
    return this.#values.size;
  }

  /** Whether `text` contains a known secret value. */
  includes(text: string): boolean {
    const pattern = this.#compiled();
    if (!pattern) return false;
    pattern.lastIndex = 0;
    return pattern.test(text);
  }

  /** `text` with every known value and every token shape replaced by `[redacted]`. */
  text(text: string): string {
    const pattern = this.#compiled();
    return redactText(pattern ? text.replace(pattern, REDACTED) : text);
  }

  /** `value` with secret-named fields, known values and token shapes replaced (copied where changed). */
  value<T>(value: T): T {
    return redactWith(value, (text) => this.text(text));
  }

  /** `value` with known values and token shapes replaced in every string (copied where changed); keys are kept. */
  strings<T>(value: T): T {
    return redactWith(value, (text) => this.text(text), false);
  }

  #compiled(): RegExp | undefined {
    if (this.#pattern !== null) return this.#pattern;
    // Longest first, so a secret that contains another is replaced whole.
    const values = [...this.#values].sort((a, b) => b.length - a.length);
    this.#pattern = values.length ? new RegExp(values.map(escapeForPattern).join('|'), 'g') : undefined;
    return this.#pattern;
  }
}
