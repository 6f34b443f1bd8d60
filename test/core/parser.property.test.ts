// Generated command lines: the parser and the registry answer every one with a result or a coded
// MillwrightError, a rendered command parses back to itself, and no key reaches Object.prototype.
import fc from 'fast-check';
import { ErrorCode, MillwrightError, type ParsedLine, parseLine } from '../../src/core/index.js';
import { fuzzParameters, fuzzTimeout, PROTOTYPE_KEYS, prototypeSnapshot } from '../helpers/fuzz.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Characters the grammar gives a meaning to, plus a few ordinary and non-ASCII ones. */
const grammarChar = fc.constantFrom(
  ' ',
  '\t',
  '\n',
  '"',
  "'",
  '\\',
  '=',
  '-',
  '-',
  'a',
  'k',
  'Z',
  '_',
  '.',
  '0',
  'é',
  '{',
  '}',
);
const anyLine = fc.oneof(
  fc.string({ unit: grammarChar, maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

const key = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/),
  fc.constantFrom(...PROTOTYPE_KEYS),
);
/** Any text, including spaces, `=`, quotes, backslashes and newlines. */
const value = fc.oneof(
  fc.string({ unit: fc.constantFrom(' ', '=', '"', "'", '\\', '-', 'a', 'b', '\n', 'é'), maxLength: 20 }),
  fc.string({ maxLength: 20 }),
);

interface Command {
  words: string[];
  options: [string, string][];
  flags: string[];
  /** Whether each option is written `key=value` or `--key=value`. */
  dashed: boolean[];
}

const command: fc.Arbitrary<Command> = fc.record({
  words: fc.array(value, { maxLength: 4 }),
  options: fc.uniqueArray(fc.tuple(key, value), { maxLength: 5, selector: ([k]) => k }),
  flags: fc.uniqueArray(key, { maxLength: 3 }),
  dashed: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
});

/** Double-quoted, with `\` and `"` escaped: always one token, never an option or a flag. */
const quote = (text: string) => `"${text.replace(/[\\"]/g, '\\$&')}"`;

function renderCommand({ words, options, flags, dashed }: Command): string {
  return [
    ...words.map(quote),
    ...options.map(([k, v], i) => `${dashed[i] ? '--' : ''}${k}=${quote(v)}`),
    ...flags.map((flag) => `--${flag}`),
  ].join(' ');
}

/** Runs `parse`, returning its result or its MillwrightError; anything else thrown fails the property. */
function resultOrCodedError<T>(parse: () => T): T | MillwrightError {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof MillwrightError)) throw error;
    expect(error.code).toMatch(/^millwright_/);
    expect(error.code).not.toBe(ErrorCode.Internal);
    return error;
  }
}

const RUNS = 2_000;
const BUDGET = 4_000;
// Each line through the router also appends to the audit trail on disk.
const ROUTER_BUDGET = 8_000;

describe('the command parser, on generated lines', () => {
  const before = prototypeSnapshot();
  afterAll(() => {
    expect(prototypeSnapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it(
    'answers every line with words, options and flags, or a coded error',
    () => {
      fc.assert(
        fc.property(anyLine, (line) => {
          const parsed = resultOrCodedError(() => parseLine(line));
          if (parsed instanceof MillwrightError) return;
          for (const name of [...Object.keys(parsed.options), ...parsed.flags]) expect(name).toMatch(KEY);
          for (const text of [...parsed.words, ...Object.values(parsed.options)])
            expect(typeof text).toBe('string');
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'never reports a key that is not in the line (quotes and escapes aside)',
    () => {
      fc.assert(
        fc.property(anyLine, (line) => {
          const parsed = resultOrCodedError(() => parseLine(line));
          if (parsed instanceof MillwrightError) return;
          const unquoted = line.replace(/["'\\]/g, '');
          for (const name of Object.keys(parsed.options)) expect(unquoted).toContain(`${name}=`);
          for (const name of parsed.flags) expect(unquoted).toContain(`--${name}`);
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'parses a rendered command back to the same words, options and flags',
    () => {
      fc.assert(
        fc.property(command, (generated) => {
          const parsed: ParsedLine = parseLine(renderCommand(generated));
          // A leading or trailing word is trimmed only outside its quotes, so words survive whole.
          expect(parsed.words).toEqual(generated.words);
          expect(Object.entries(parsed.options).sort()).toEqual([...generated.options].sort());
          expect([...parsed.flags].sort()).toEqual([...generated.flags].sort());
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );
});

describe('the router, on generated lines built from the real commands', () => {
  let bot: TestBot;
  let line: fc.Arbitrary<string>;
  beforeAll(async () => {
    bot = await startTestBot();
    const registry = bot.runtime.services.registry;
    const verbs: string[] = [];
    const optionNames = new Set<string>(PROTOTYPE_KEYS);
    const flagNames = new Set<string>(['public', 'help', ...PROTOTYPE_KEYS]);
    for (const definition of registry.list()) {
      verbs.push(definition.name);
      for (const [sub, spec] of Object.entries(definition.subcommands ?? {})) {
        verbs.push(`${definition.name} ${sub}`);
        for (const name of Object.keys(spec.options ?? {})) optionNames.add(name);
        for (const name of Object.keys(spec.flags ?? {})) flagNames.add(name);
      }
      for (const name of Object.keys(definition.options ?? {})) optionNames.add(name);
      for (const name of Object.keys(definition.flags ?? {})) flagNames.add(name);
    }
    const optionValue = fc.oneof(
      fc.constantFrom(
        '1',
        '0',
        '-1',
        '2h',
        '30m',
        'true',
        'no',
        '2026-11-26T09:00Z',
        'checkout',
        '',
        '1e309',
        'NaN',
      ),
      value.map(quote),
    );
    line = fc
      .tuple(
        fc.constantFrom(...verbs),
        fc.array(fc.oneof(value.map(quote), fc.constantFrom('list', 'show', 'run', 'x')), { maxLength: 3 }),
        fc.array(fc.tuple(fc.constantFrom(...optionNames), optionValue), { maxLength: 4 }),
        fc.array(fc.constantFrom(...flagNames), { maxLength: 2 }),
      )
      .map(([verb, words, options, flags]) =>
        [verb, ...words, ...options.map(([k, v]) => `${k}=${v}`), ...flags.map((f) => `--${f}`)].join(' '),
      );
  });
  afterAll(() => bot.close());

  it(
    'resolves each line against the real registry or refuses it with a coded error',
    () => {
      const registry = bot.runtime.services.registry;
      fc.assert(
        fc.property(fc.oneof(line, anyLine), (text) => {
          const invocation = resultOrCodedError(() => registry.resolve(parseLine(text), text));
          if (invocation instanceof MillwrightError) return;
          const declared = invocation.spec.options ?? {};
          for (const [name, option] of Object.entries(invocation.args.options)) {
            expect(Object.hasOwn(declared, name)).toBe(true);
            expect(['string', 'number', 'boolean']).toContain(
              typeof option === 'object' ? 'string' : typeof option,
            );
          }
          for (const flag of invocation.args.flags) {
            expect(
              ['public', 'help'].includes(flag) || Object.hasOwn(invocation.spec.flags ?? {}, flag),
            ).toBe(true);
          }
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'answers each line through the router without an unexpected failure',
    async () => {
      // Viewers (nobody generated is in access.subjects): lines that resolve to anything but help,
      // whoami and audit stop at the permission check. Chat user ids are any text.
      const actorId = fc.oneof(
        fc.constantFrom('mallory', ...PROTOTYPE_KEYS),
        fc.string({ minLength: 1, maxLength: 8 }).filter((id) => !['ana', 'sre'].includes(id)),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(line, anyLine),
          actorId,
          fc.array(actorId, { maxLength: 2 }),
          async (text, id, groups) => {
            const answer = await bot.router.handle({
              actor: { id, groups },
              surface: 'shell',
              channel: 'shell',
              text,
            });
            if (answer.ok) return;
            expect(answer.error?.code).toMatch(/^millwright_/);
            expect(answer.error?.code).not.toBe(ErrorCode.Internal);
          },
        ),
        fuzzParameters(1_000, ROUTER_BUDGET),
      );
    },
    fuzzTimeout(ROUTER_BUDGET),
  );
});
