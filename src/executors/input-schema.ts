// An action's published input schema, from the zod schema its executor checks input with: derived on
// first read (a runbook lint, the action's first run), so start-up does not pay for every action.
import { z } from 'zod';

/**
 * Action metadata whose `input` is the JSON Schema of `schema`, computed once, on first read.
 *
 * @example
 * actions: { request: withInputSchema({ description: 'Send one request', effect: 'write' }, requestSchema) }
 */
export function withInputSchema<T extends object>(
  metadata: T,
  schema: z.ZodType,
): T & { input: Record<string, unknown> } {
  let input: Record<string, unknown> | undefined;
  return Object.defineProperty({ ...metadata }, 'input', {
    enumerable: true,
    get: () => {
      input ??= inputSchemaOf(schema);
      return input;
    },
  }) as T & { input: Record<string, unknown> };
}

/** The JSON Schema of what a caller may pass (`io: 'input'`: defaults optional), without `$schema`. */
export function inputSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}
