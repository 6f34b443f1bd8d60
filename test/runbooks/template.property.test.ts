// Generated step inputs and scopes: the runbook template engine renders each one or refuses it with a
// coded MillwrightError, agrees with what lint found, and never hands out a member of Object.prototype.
import fc from 'fast-check';
import { ErrorCode, MillwrightError } from '../../src/core/index.js';
import { findReferences, render, type TemplateScope } from '../../src/runbooks/index.js';
import type { WithValue } from '../../src/runbooks/schema.js';
import { fuzzParameters, fuzzTimeout, PROTOTYPE_KEYS, prototypeSnapshot } from '../helpers/fuzz.js';

const paramName = fc.oneof(
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,8}$/),
  fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf'),
);
const stepId = fc.oneof(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?$/), fc.constant('constructor'));
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean());

/** Scopes as the engine builds them: plain objects of validated params and of executor outputs. */
const scope: fc.Arbitrary<TemplateScope> = fc.record({
  params: fc
    .array(fc.tuple(paramName, scalar), { maxLength: 5 })
    .map((entries) => Object.fromEntries(entries)),
  steps: fc
    .array(
      fc.tuple(
        stepId,
        fc
          .array(fc.tuple(paramName, scalar), { maxLength: 3 })
          .map((entries) => ({ outputs: Object.fromEntries(entries) })),
      ),
      { maxLength: 3 },
    )
    .map((entries) => Object.fromEntries(entries)),
});

const space = fc.constantFrom('', ' ', '  ', '\t');
const reference = fc.oneof(
  fc.tuple(space, paramName, space).map(([a, name, b]) => `{{${a}params.${name}${b}}}`),
  fc
    .tuple(space, stepId, paramName, space)
    .map(([a, id, name, b]) => `{{${a}steps.${id}.outputs.${name}${b}}}`),
);
/** Text mixing references, braces and ordinary characters. */
const templateText = fc.oneof(
  fc
    .array(
      fc.oneof(
        reference,
        fc.constantFrom('{', '}', '{{', '}}', ' ', 'x', '.', '$', '\n'),
        fc.string({ maxLength: 6 }),
      ),
      {
        maxLength: 8,
      },
    )
    .map((parts) => parts.join('')),
  fc.string({ unit: fc.constantFrom('{', '}', ' ', 'p', 'a', 'r', 'm', 's', '.', '\n'), maxLength: 30 }),
);
const withValue: fc.Arbitrary<WithValue> = fc.letrec<{ value: WithValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    templateText,
    fc.integer(),
    fc.boolean(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...PROTOTYPE_KEYS)), tie('value'), {
      maxKeys: 3,
      noNullPrototype: true,
    }),
  ),
})).value;

/** Renders, returning the result or the MillwrightError; anything else thrown fails the property. */
function renderOrCodedError(value: WithValue, within: TemplateScope): unknown {
  try {
    return render(value, within);
  } catch (error) {
    if (!(error instanceof MillwrightError)) throw error;
    expect(error.code).toBe(ErrorCode.BadArgument);
    return error;
  }
}

/** Every leaf of a rendered value. */
function leaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leaves);
  if (value !== null && typeof value === 'object' && !(value instanceof MillwrightError))
    return Object.values(value).flatMap(leaves);
  return [value];
}

const RUNS = 2_000;
const BUDGET = 4_000;

describe('the runbook template engine, on generated inputs', () => {
  const before = prototypeSnapshot();
  afterAll(() => expect(prototypeSnapshot()).toEqual(before));

  it(
    'renders every value or refuses it with a coded error, and hands out no inherited member',
    () => {
      fc.assert(
        fc.property(withValue, scope, (value, within) => {
          const rendered = renderOrCodedError(value, within);
          for (const leaf of leaves(rendered)) {
            expect(typeof leaf).not.toBe('function');
            if (typeof leaf === 'string') expect(leaf).not.toContain('[native code]');
          }
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'renders whatever lint passed: a value with no invalid reference never fails to render',
    () => {
      fc.assert(
        fc.property(withValue, scope, (value, within) => {
          fc.pre(findReferences(value).every((found) => found.kind !== 'invalid'));
          expect(() => render(value, within)).not.toThrow();
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'leaves text without {{ unchanged',
    () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 40 }), scope, (text, within) => {
          fc.pre(!text.includes('{{'));
          expect(render(text, within)).toBe(text);
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );

  it(
    'gives a value that is one reference the referenced value, typed, and text the references spliced in',
    () => {
      const literal = fc
        .string({ maxLength: 8 })
        .filter((text) => !text.includes('{') && !text.includes('}'));
      fc.assert(
        fc.property(scope, paramName, space, space, literal, literal, (within, name, a, b, left, right) => {
          const expected = Object.hasOwn(within.params, name) ? within.params[name] : undefined;
          expect(render(`{{${a}params.${name}${b}}}`, within)).toBe(expected);
          fc.pre(left + right !== '');
          const spliced = expected === undefined || expected === null ? '' : String(expected);
          expect(render(`${left}{{${a}params.${name}${b}}}${right}`, within)).toBe(
            `${left}${spliced}${right}`,
          );
        }),
        fuzzParameters(RUNS, BUDGET),
      );
    },
    fuzzTimeout(BUDGET),
  );
});
