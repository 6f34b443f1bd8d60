// The command registry: one definition object per verb, validated at registration, from which
// parsing, permission names and `help` are all derived.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from './context.js';
import { isDuration, parseDuration } from './duration.js';
import { badArgument, ErrorCode, MillwrightError } from './errors.js';
import type { ParsedLine } from './parser.js';
import type { Reply } from './reply.js';
import { nearest } from './suggest.js';

declare module './context.js' {
  interface Services {
    /** Every command, for help and the router. */
    registry: CommandRegistry;
  }
}

export type OptionType = 'string' | 'int' | 'number' | 'bool' | 'enum' | 'duration' | 'time';

export interface OptionSpec {
  type: OptionType;
  description: string;
  required?: boolean;
  default?: string | number | boolean;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Bounds for `int` and `number`. */
  min?: number;
  max?: number;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes all remaining words, joined by spaces (`incident note TEXT...`). */
  rest?: boolean;
}

export type OptionValue = string | number | boolean | Date;

/** What a handler receives after the registry has checked the words against the definition. */
export interface CommandArgs {
  positionals: Record<string, string>;
  options: Record<string, OptionValue>;
  flags: Set<string>;
  /** key=value pairs the spec does not declare, as typed (only when the spec has `extraOptions`). */
  extra: Record<string, string>;
  /** The line as typed, for echoing back and for the audit trail. */
  line: string;
}

export type CommandHandler = (ctx: Context, args: CommandArgs) => Promise<Reply> | Reply;

/** One runnable form of a command: a verb, or a verb's subcommand. */
export interface CommandSpec {
  summary: string;
  /** Longer help text (markdown subset). */
  description?: string;
  /** Full command lines a user can copy. */
  examples: readonly string[];
  /** Permission name checked by access control; defaults to `verb` or `verb.sub`. */
  permission?: string;
  positionals?: readonly PositionalSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** `--flag` switches and what they do. `--public` and `--help` are global. */
  flags?: Readonly<Record<string, string>>;
  /**
   * When set, key=value pairs beyond `options` are accepted untyped into `args.extra` (runbook
   * parameters, checked by the runbook itself); the text describes them in help.
   */
  extraOptions?: string;
  /** Deadline for this command, when it legitimately runs longer than the router's default. */
  timeoutMs?: number;
  /**
   * The services the handler uses, when it needs only a few (`help` needs none); a one-shot shell
   * then builds just those. Absent means every service.
   */
  services?: readonly string[];
  handler: CommandHandler;
}

/**
 * What a file in `commands/` exports as its default.
 *
 * @example
 * export default defineCommand({
 *   name: 'whoami', summary: 'Who Millwright thinks you are', examples: ['whoami'],
 *   handler: (ctx) => reply(fields({ actor: ctx.actor.id })),
 * });
 */
export interface CommandDefinition extends Partial<CommandSpec> {
  name: string;
  summary: string;
  examples: readonly string[];
  subcommands?: Readonly<Record<string, CommandSpec>>;
}

/** Identity helper that gives a command file its types. */
export function defineCommand(definition: CommandDefinition): CommandDefinition {
  return definition;
}

/** A resolved command line, ready for the permission check and the handler. */
export interface Invocation {
  verb: string;
  subcommand?: string;
  /** `verb` or `verb.sub`, used for audit actions, metrics and permissions. */
  id: string;
  permission: string;
  spec: CommandSpec;
  args: CommandArgs;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const GLOBAL_FLAGS = new Set(['public', 'help']);

export class CommandRegistry {
  readonly #commands = new Map<string, CommandDefinition>();

  /** Adds a command; throws with a fix-it message on a duplicate or malformed definition. */
  register(definition: CommandDefinition): void {
    const where = `command "${String(definition?.name)}"`;
    if (!definition || typeof definition.name !== 'string' || !NAME.test(definition.name)) {
      throw new MillwrightError(
        ErrorCode.Internal,
        `${where}: the name must be lowercase letters, digits or -`,
        {
          hint: 'name commands like "runbook" or "whoami"',
        },
      );
    }
    if (this.#commands.has(definition.name)) {
      throw new MillwrightError(ErrorCode.Internal, `${where} is registered twice`, {
        hint: 'each verb lives in exactly one file under commands/; rename or remove one',
      });
    }
    if (!definition.handler && !definition.subcommands) {
      throw new MillwrightError(ErrorCode.Internal, `${where} has neither a handler nor subcommands`, {
        hint: 'give it handler(ctx, args) or a subcommands map',
      });
    }
    for (const sub of Object.keys(definition.subcommands ?? {})) {
      if (!NAME.test(sub)) {
        throw new MillwrightError(ErrorCode.Internal, `${where}: subcommand "${sub}" is not a valid name`, {
          hint: 'subcommands are lowercase words like "list" or "show"',
        });
      }
    }
    for (const spec of this.#specs(definition)) {
      if (!spec.summary || !Array.isArray(spec.examples) || spec.examples.length === 0) {
        throw new MillwrightError(ErrorCode.Internal, `${where} needs a summary and at least one example`, {
          hint: 'help is generated from them',
        });
      }
      for (const [key, option] of Object.entries(spec.options ?? {})) {
        if (option.type === 'enum' && !option.values?.length) {
          throw new MillwrightError(ErrorCode.Internal, `${where}: enum option ${key} lists no values`);
        }
      }
    }
    this.#commands.set(definition.name, definition);
  }

  get(name: string): CommandDefinition | undefined {
    return this.#commands.get(name);
  }

  /** Every command, sorted by name. */
  list(): CommandDefinition[] {
    // Plain code-point order: names are lowercase ASCII, and a collator costs milliseconds to build.
    return [...this.#commands.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Maps parsed words to a command and checks its arguments against the definition. */
  resolve(parsed: ParsedLine, line: string, now: Date = new Date()): Invocation {
    const [verb, ...rest] = parsed.words;
    if (verb === undefined) {
      throw badArgument('no command given', 'type help to see what Millwright can do');
    }
    const definition = this.#commands.get(verb.toLowerCase());
    if (!definition) {
      const guess = nearest(verb, this.#commands.keys());
      throw new MillwrightError(ErrorCode.UnknownCommand, `unknown command "${verb}"`, {
        hint: guess
          ? `did you mean "${guess}"? type help for the list`
          : 'type help for the list of commands',
      });
    }
    let spec: CommandSpec | undefined;
    let subcommand: string | undefined;
    const subs = definition.subcommands ?? {};
    const first = rest[0]?.toLowerCase();
    if (first !== undefined && Object.hasOwn(subs, first)) {
      subcommand = first;
      spec = subs[first];
      rest.shift();
    } else if (definition.handler) {
      spec = definition as CommandSpec;
    } else {
      const names = Object.keys(subs);
      const guess = first === undefined ? undefined : nearest(first, names);
      throw badArgument(
        first === undefined
          ? `${verb} needs a subcommand: ${names.join(', ')}`
          : `unknown subcommand "${verb} ${rest[0]}"`,
        guess ? `did you mean "${verb} ${guess}"?` : `try: help ${definition.name}`,
      );
    }
    const id = subcommand ? `${definition.name}.${subcommand}` : definition.name;
    const args = checkArgs(id.replace('.', ' '), spec!, rest, parsed, line, now);
    return { verb: definition.name, subcommand, id, permission: spec!.permission ?? id, spec: spec!, args };
  }

  /**
   * Loads every module in `dir` whose default export is a command definition.
   * Adding a verb is adding a file there; nothing else changes.
   */
  async loadDirectory(dir: string): Promise<void> {
    const files = (await readdir(dir))
      .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts') && !file.startsWith('_'))
      .sort();
    for (const file of files) {
      const module = (await import(pathToFileURL(path.join(dir, file)).href)) as {
        default?: CommandDefinition;
      };
      if (!module.default) {
        throw new MillwrightError(ErrorCode.Internal, `commands/${file} has no default export`, {
          hint: 'export default defineCommand({ ... })',
        });
      }
      this.register(module.default);
    }
  }

  *#specs(definition: CommandDefinition): Iterable<CommandSpec> {
    if (definition.handler) yield definition as CommandSpec;
    yield* Object.values(definition.subcommands ?? {});
  }
}

function checkArgs(
  name: string,
  spec: CommandSpec,
  words: string[],
  parsed: ParsedLine,
  line: string,
  now: Date,
): CommandArgs {
  const usage = `try: ${spec.examples[0]}`;
  const positionals: Record<string, string> = {};
  const declared = spec.positionals ?? [];
  let index = 0;
  for (const positional of declared) {
    if (positional.rest) {
      if (index < words.length) positionals[positional.name] = words.slice(index).join(' ');
      index = words.length;
    } else if (index < words.length) {
      positionals[positional.name] = words[index++]!;
    }
    if (positional.required && positionals[positional.name] === undefined) {
      throw badArgument(`${name} needs ${positional.name.toUpperCase()} (${positional.description})`, usage);
    }
  }
  if (index < words.length) {
    throw badArgument(`${name} does not take "${words[index]}" here`, usage);
  }

  const known = spec.options ?? {};
  // Typed keys are looked up as own properties only, and collected without a prototype, so a key
  // named like an Object.prototype member (`toString=`, `__proto__=`) is an unknown key or an extra.
  const options: Record<string, OptionValue> = Object.create(null);
  const extra: Record<string, string> = Object.create(null);
  for (const [key, raw] of Object.entries(parsed.options)) {
    const option = Object.hasOwn(known, key) ? known[key] : undefined;
    if (!option && spec.extraOptions !== undefined) {
      extra[key] = raw;
      continue;
    }
    if (!option) {
      const guess = nearest(key, Object.keys(known));
      const accepted = Object.keys(known);
      throw badArgument(
        `${name} does not take ${key}=`,
        guess
          ? `did you mean ${guess}=?`
          : accepted.length
            ? `it takes ${accepted.map((k) => `${k}=`).join(', ')}`
            : `it takes no key=value options; ${usage}`,
      );
    }
    try {
      options[key] = convertOption(key, option, raw, now);
    } catch (error) {
      // Name the field so a form can show the message next to it.
      if (error instanceof MillwrightError && error.details?.field === undefined) {
        throw badArgument(error.message, error.hint, key);
      }
      throw error;
    }
  }
  for (const [key, option] of Object.entries(known)) {
    if (options[key] !== undefined) continue;
    if (option.default !== undefined) options[key] = option.default;
    else if (option.required) throw badArgument(`${name} needs ${key}= (${option.description})`, usage, key);
  }

  const flags = new Set<string>();
  for (const flag of parsed.flags) {
    if (GLOBAL_FLAGS.has(flag) || (spec.flags !== undefined && Object.hasOwn(spec.flags, flag))) {
      flags.add(flag);
      continue;
    }
    const guess = nearest(flag, Object.keys(spec.flags ?? {}));
    throw badArgument(`${name} does not take --${flag}`, guess ? `did you mean --${guess}?` : usage);
  }
  return { positionals, options, flags, extra, line };
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

function convertOption(key: string, option: OptionSpec, raw: string, now: Date): OptionValue {
  switch (option.type) {
    case 'string':
      if (raw.length === 0) throw badArgument(`${key}= is empty`, `give a value, like ${key}=...`, key);
      return raw;
    case 'int':
    case 'number': {
      const value = Number(raw);
      const whole = option.type === 'int';
      if (raw.trim() === '' || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
        throw badArgument(
          `${key} must be a ${whole ? 'whole number' : 'number'}, got "${raw}"`,
          `like ${key}=10`,
          key,
        );
      }
      if (
        (option.min !== undefined && value < option.min) ||
        (option.max !== undefined && value > option.max)
      ) {
        throw badArgument(
          `${key} must be between ${option.min ?? '-∞'} and ${option.max ?? '∞'}, got ${raw}`,
          undefined,
          key,
        );
      }
      return value;
    }
    case 'bool': {
      const lower = raw.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      throw badArgument(`${key} must be true or false, got "${raw}"`, undefined, key);
    }
    case 'enum': {
      const match = option.values!.find((value) => value.toLowerCase() === raw.toLowerCase());
      if (match === undefined) {
        throw badArgument(`${key} must be one of ${option.values!.join(', ')}; got "${raw}"`, undefined, key);
      }
      return match;
    }
    case 'duration':
      return parseDuration(raw);
    case 'time':
      return parseTime(key, raw, now);
  }
}

/** `time` options take an ISO timestamp or a duration meaning "that long ago" (since=2h). */
function parseTime(key: string, raw: string, now: Date): Date {
  if (isDuration(raw)) {
    return new Date(now.getTime() - parseDuration(raw));
  }
  const value = new Date(raw);
  if (Number.isNaN(value.getTime())) {
    throw badArgument(`${key} must be a time like 2h (ago) or 2026-11-26T09:00Z, got "${raw}"`);
  }
  return value;
}
