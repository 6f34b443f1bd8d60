// Generated config files and environments: loadConfig gives a config or one ConfigError whose every
// problem is pinned to millwright.yml:line:column, and ${VAR} references resolve as the shell would.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/app.js';
import { ConfigError } from '../../src/config/index.js';
import { ErrorCode } from '../../src/core/errors.js';
import { fuzzParameters, fuzzTimeout, PROTOTYPE_KEYS, prototypeSnapshot } from '../helpers/fuzz.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

const SECTIONS = [
  'server',
  'store',
  'log',
  'runbooks',
  'slack',
  'teams',
  'prometheus',
  'slo',
  'slos',
  'github',
];
const KEYS = ['port', 'host', 'path', 'level', 'dir', 'botToken', 'signingSecret', 'url', 'timeout', 'roles'];
const MORE_KEYS = [
  'access',
  'subjects',
  'allow',
  'defaultRoles',
  'kubernetes',
  'http',
  'executors',
  'module',
];
const VARIABLES = ['A', 'B', 'TOKEN', 'EMPTY', 'UNSET'];

const variable = fc.constantFrom(...VARIABLES);
const reference = fc.oneof(
  variable.map((name) => `\${${name}}`),
  fc.tuple(variable, fc.string({ maxLength: 5 })).map(([name, fallback]) => `\${${name}:-${fallback}}`),
  fc.constantFrom('$${', '${', '${1X}', '${A', '$', '}'),
);
/** Text that may hold references, braces and YAML's own punctuation. */
const configText = fc
  .array(fc.oneof(reference, fc.string({ maxLength: 6 }), fc.constantFrom('~/', './', ': ', '#', '"', "'")), {
    maxLength: 5,
  })
  .map((parts) => parts.join(''));
const environment = fc
  .array(
    fc.tuple(
      fc.constantFrom('A', 'B', 'TOKEN', 'EMPTY'),
      fc.oneof(fc.string({ maxLength: 8 }), fc.constant('')),
    ),
  )
  .map((entries) => Object.fromEntries(entries) as NodeJS.ProcessEnv);

const key = fc.oneof(fc.constantFrom(...KEYS, ...MORE_KEYS, ...PROTOTYPE_KEYS), fc.string({ maxLength: 6 }));
type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
const value: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    configText,
    fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;
/** Structures shaped like millwright.yml: known sections (and a few strangers) holding anything. */
const structure = fc.dictionary(fc.oneof(fc.constantFrom(...SECTIONS, ...MORE_KEYS), key), value, {
  maxKeys: 4,
  noNullPrototype: true,
});

/** Text that only looks like YAML: keys, indentation, flow collections, anchors, tags and references. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(...SECTIONS, ...KEYS, ...PROTOTYPE_KEYS),
      fc.constantFrom(':', ': ', '\n', '\n  ', '\n    ', '  ', '\t', '- ', '[', ']', '{', '}', ',', '"', "'"),
      fc.constantFrom(
        '&a ',
        '*a',
        '<<: *a',
        '!!str ',
        '!!binary ',
        '? ',
        '---\n',
        '...\n',
        '#',
        '|\n',
        '>\n',
        '%YAML 1.2\n',
      ),
      reference,
      fc.string({ maxLength: 4 }),
      fc.constantFrom('3000', '0', '-1', '1e309', 'true', 'null', '~', '.inf', '5m', 'info'),
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(''));

// The yaml package warns (and goes on) where it turns something into text (a list used as a key);
// the loader must refuse that with a placed problem instead, so a loaded config comes with no warning.
const warnings: string[] = [];
const emitWarning = process.emitWarning;
beforeAll(() => {
  process.emitWarning = (warning: string | Error) => {
    warnings.push(String(warning));
  };
});
afterAll(() => {
  process.emitWarning = emitWarning;
});

// One directory per property: a run that fc.timeout gave up on keeps going in the background on a
// loaded machine, and must not rewrite the file the next property reads.
let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(() => temp.remove());

/** Loads `text`; a result, or a ConfigError whose problems are all placed, passes; anything else fails. */
async function loadsOrIsPlaced(text: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  await temp.write(text);
  warnings.length = 0;
  try {
    const loaded = await loadConfig('millwright.yml', { env, cwd: temp.dir });
    expect(warnings).toEqual([]);
    return loaded;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.code).toBe(ErrorCode.ConfigInvalid);
    expect(error.problems.length).toBeGreaterThan(0);
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const problem of error.problems) {
      expect(problem.file).toBe('millwright.yml');
      expect(Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= lines + 1).toBe(true);
      expect(Number.isInteger(problem.column) && problem.column >= 1).toBe(true);
      expect(problem.message).not.toBe('');
    }
    return error;
  }
}

const RUNS = 1_000;
const BUDGET = 8_000;

describe('the config loader, on generated files', () => {
  const before = prototypeSnapshot();
  afterAll(() => expect(prototypeSnapshot()).toEqual(before));

  it(
    'loads YAML-ish text or reports every problem at millwright.yml:line:column',
    async () => {
      await fc.assert(
        fc.asyncProperty(yamlish, environment, async (text, env) => {
          await loadsOrIsPlaced(text, env);
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'loads generated structures written by the yaml package, or reports every problem placed',
    async () => {
      await fc.assert(
        fc.asyncProperty(structure, environment, async (generated, env) => {
          await loadsOrIsPlaced(stringify(generated), env);
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'substitutes ${VAR} and ${VAR:-default} the way the shell does',
    async () => {
      const literal = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '-', ':', '.', '/'), maxLength: 4 });
      const part = fc.oneof(
        literal.map((text) => ({ text, expected: () => text })),
        variable.map((name) => ({
          text: `\${${name}}`,
          expected: (env: NodeJS.ProcessEnv) => env[name],
        })),
        fc.tuple(variable, literal).map(([name, fallback]) => ({
          text: `\${${name}:-${fallback}}`,
          expected: (env: NodeJS.ProcessEnv) => (env[name] ? env[name] : fallback),
        })),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 4 }), environment, async (parts, env) => {
          const host = parts.map((p) => p.text).join('');
          const loaded = await loadsOrIsPlaced(`server:\n  host: ${JSON.stringify(host)}\n`, env);
          const pieces = parts.map((p) => p.expected(env));
          if (pieces.some((piece) => piece === undefined)) {
            // An unset variable without a default is a placed problem on the host line.
            expect(loaded).toBeInstanceOf(ConfigError);
            expect(
              (loaded as ConfigError).problems.some((p) => p.path === 'server.host' && p.line === 2),
            ).toBe(true);
            return;
          }
          const expected = pieces.join('');
          if (expected === '') {
            expect(loaded).toBeInstanceOf(ConfigError);
            return;
          }
          expect(loaded).not.toBeInstanceOf(ConfigError);
          expect((loaded as { config: { server: { host: string } } }).config.server.host).toBe(expected);
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );
});
