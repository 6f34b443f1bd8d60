// Validates cards against our own Adaptive Card 1.5 schema (adaptive-card-schema.ts), compiled once
// with ajv. A card that fails names each failing path and what is wrong there.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { adaptiveCardSchema } from './adaptive-card-schema.js';

let validate: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (validate) return validate;
  // strict: a typo in the schema itself (an unknown keyword, a `required` name with no property) throws.
  // verbose: errors carry the offending value, so a message can show it.
  const ajv = new Ajv2020({ strict: true, allErrors: true, discriminator: true, verbose: true });
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  ajv.addFormat('uri-reference', (value: string) => URL.canParse(value, 'https://relative.invalid/'));
  validate = ajv.compile(adaptiveCardSchema);
  return validate;
}

/** A value as a message shows it: scalars as they are, containers by their kind. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** One ajv error as a `path message` line that names the property or value at fault. */
function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has unknown property "${String(params.additionalProperty)}"`;
    case 'discriminator':
      return `${error.instancePath}/type ${JSON.stringify(params.tagValue)} is not a type this card may hold here`;
    case 'enum':
      return `${where} is ${JSON.stringify(error.data)}, not one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${where} is ${shown(error.data)}, not ${String(params.allowedValue)}`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

/**
 * Problems with a card, as `path message` lines; empty when it is a valid Adaptive Card 1.5.
 *
 * @example
 * cardProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock' }] })
 * // ["/body/0 must have required property 'text'"]
 */
export function cardProblems(card: unknown): string[] {
  const check = validator();
  if (check(card)) return [];
  const errors = check.errors ?? [];
  // An anyOf's own "must match a schema in anyOf" adds nothing when its branches said what failed.
  const useful = errors.filter(
    (error) =>
      error.keyword !== 'anyOf' ||
      !errors.some((other) => other !== error && other.instancePath.startsWith(error.instancePath)),
  );
  return [...new Set(useful.map(describe))];
}

/** Fails the test with the card's problems when it is not a valid Adaptive Card 1.5. */
export function expectValidCard(card: unknown): void {
  const problems = cardProblems(card);
  if (problems.length > 0) {
    throw new Error(
      `invalid Adaptive Card:\n  ${problems.join('\n  ')}\n${JSON.stringify(card, null, 2).slice(0, 4000)}`,
    );
  }
}
