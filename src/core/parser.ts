// The command grammar shared by every surface:
// <verb> [subverb] [positional...] [key=value...] [--flag] [--key=value], with quotes and escapes.
import { badArgument } from './errors.js';

/** Longest line the parser accepts; longer input is refused with a clear error, never a crash. */
export const MAX_COMMAND_LENGTH = 20_000;

export interface ParsedLine {
  /** Bare words in order: verb, subverb and positionals (the registry decides which is which). */
  words: string[];
  /** `key=value` and `--key=value` pairs, in an object without a prototype (`constructor=x` is just a key). */
  options: Record<string, string>;
  /** `--flag` switches. */
  flags: Set<string>;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

interface RawToken {
  text: string;
  /** Index in `text` of the first `=` typed outside quotes, or -1. */
  bareEquals: number;
  /** Whether the token began with a quote (a quoted `"--x"` is a word, not a flag). */
  startsQuoted: boolean;
}

function tokenize(line: string): RawToken[] {
  const tokens: RawToken[] = [];
  let current: RawToken | undefined;
  const begin = () => {
    current ??= { text: '', bareEquals: -1, startsQuoted: false };
    return current;
  };
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (current) tokens.push(current);
      current = undefined;
      i++;
      continue;
    }
    const token = begin();
    if (ch === '"' || ch === "'") {
      const start = i;
      if (token.text.length === 0 && token.bareEquals < 0) token.startsQuoted = true;
      i++;
      let closed = false;
      while (i < line.length) {
        const c = line[i]!;
        if (c === ch) {
          closed = true;
          i++;
          break;
        }
        // Inside double quotes a backslash escapes the next character; single quotes are literal.
        if (c === '\\' && ch === '"' && i + 1 < line.length) {
          token.text += line[i + 1];
          i += 2;
          continue;
        }
        token.text += c;
        i++;
      }
      if (!closed) {
        const name = ch === '"' ? 'double' : 'single';
        throw badArgument(
          `unclosed ${name} quote starting at column ${start + 1}`,
          `close the quote, or escape a literal quote with a backslash (\\${ch})`,
        );
      }
      continue;
    }
    if (ch === '\\') {
      if (i + 1 < line.length) token.text += line[i + 1];
      i += 2;
      continue;
    }
    if (ch === '=' && token.bareEquals < 0) token.bareEquals = token.text.length;
    token.text += ch;
    i++;
  }
  if (current) tokens.push(current);
  return tokens;
}

/**
 * Splits a command line into words, options and flags.
 *
 * @example
 * parseLine('incident note "db failover done" sev=2 --public')
 * // { words: ['incident', 'note', 'db failover done'], options: { sev: '2' }, flags: Set { 'public' } }
 */
export function parseLine(line: string): ParsedLine {
  if (line.length > MAX_COMMAND_LENGTH) {
    throw badArgument(
      `the command is ${line.length} characters long; the limit is ${MAX_COMMAND_LENGTH}`,
      'shorten it, or put long text in a file the runbook reads',
    );
  }
  // No prototype: `__proto__=x` or `toString=x` is an ordinary key, never an inherited member.
  const options: Record<string, string> = Object.create(null);
  const parsed: ParsedLine = { words: [], options, flags: new Set() };
  let onlyWords = false;
  const setOption = (key: string, value: string) => {
    if (Object.hasOwn(options, key)) throw badArgument(`${key} is given twice`, `give ${key}= once`);
    parsed.options[key] = value;
  };
  for (const token of tokenize(line.trim())) {
    const { text } = token;
    if (onlyWords) {
      parsed.words.push(text);
      continue;
    }
    if (!token.startsQuoted && text === '--') {
      onlyWords = true;
      continue;
    }
    if (!token.startsQuoted && text.startsWith('--') && text.length > 2) {
      const body = text.slice(2);
      const eq = token.bareEquals >= 0 ? token.bareEquals - 2 : -1;
      const name = eq >= 0 ? body.slice(0, eq) : body;
      if (!KEY.test(name))
        throw badArgument(`"--${name}" is not a valid flag name`, 'flags look like --dry-run');
      if (eq >= 0) setOption(name, body.slice(eq + 1));
      else parsed.flags.add(name);
      continue;
    }
    if (token.bareEquals > 0) {
      const key = text.slice(0, token.bareEquals);
      if (KEY.test(key)) {
        setOption(key, text.slice(token.bareEquals + 1));
        continue;
      }
    }
    parsed.words.push(text);
  }
  return parsed;
}
