// The runbook file format (apiVersion millwright/v1, kind Runbook): typed parameters, permissions,
// risk, and steps that call executor actions with `{{ params.X }}` / `{{ steps.ID.outputs.Y }}` only.
import { z } from 'zod';
import { isDuration } from '../core/duration.js';
import { lazySchema } from '../core/index.js';

export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const PARAM_TYPES = ['string', 'int', 'bool', 'enum', 'duration'] as const;
/** `with:` values: scalars, lists and maps of scalars, any of which may hold `{{ ... }}` references. */
type WithValue = string | number | boolean | WithValue[] | { [key: string]: WithValue };

// Built on first use: only the commands that read runbook files need it.
function buildRunbookSchema() {
  const name = z.string().max(63, { error: 'at most 63 characters' }).regex(DNS_1123_LABEL, {
    error: 'expected a DNS-1123 name: lowercase letters, digits and -, like restart-deployment',
  });
  const text = z.string().min(1, { error: 'must not be empty' });
  const duration = z.string().refine(isDuration, { error: 'expected a duration like 30s, 5m or 1h' });
  const uses = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/, {
    error: 'expected executor.action, like kubernetes.restart',
  });
  const scalar = z.union([z.string(), z.number(), z.boolean()]);
  const withValue: z.ZodType<WithValue> = z.lazy(() =>
    z.union([scalar, z.array(withValue), z.record(z.string(), withValue)]),
  );

  const param = z
    .strictObject({
      name: z
        .string()
        .regex(/^[a-z][a-zA-Z0-9_]*$/, { error: 'expected a parameter name like deployment or maxReplicas' }),
      type: z.enum(PARAM_TYPES),
      description: text,
      required: z.boolean().default(false),
      default: scalar.optional(),
      pattern: z
        .string()
        .refine(
          (value) => {
            try {
              new RegExp(value, 'u');
              return true;
            } catch {
              // An invalid pattern is reported as this refinement's message.
              return false;
            }
          },
          { error: 'not a valid regular expression' },
        )
        .optional(),
      min: z.number().optional(),
      max: z.number().optional(),
      values: z.array(z.string()).min(1).optional(),
      maxLength: z.int().positive().max(4096).optional(),
      // Where a button on an alert notice takes this value from; a label of the parameter's name otherwise.
      fromAlert: z
        .string()
        .regex(/^(label|annotation):[A-Za-z_][A-Za-z0-9_]*$/, {
          error: 'expected label:NAME or annotation:NAME, like label:deployment',
        })
        .optional(),
    })
    .superRefine((p, ctx) => {
      if (p.type === 'enum' && !p.values)
        ctx.addIssue({ code: 'custom', path: ['values'], message: 'an enum needs values' });
      if (p.type !== 'enum' && p.values) {
        ctx.addIssue({ code: 'custom', path: ['values'], message: 'values only apply to type enum' });
      }
      if ((p.min !== undefined || p.max !== undefined) && p.type !== 'int') {
        ctx.addIssue({ code: 'custom', path: ['min'], message: 'min and max only apply to type int' });
      }
      if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
        ctx.addIssue({ code: 'custom', path: ['max'], message: 'max must not be below min' });
      }
      if (p.required && p.default !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['default'],
          message: 'a required parameter cannot have a default',
        });
      }
    });

  const condition = z.union([
    z.string(),
    z.strictObject({ value: z.string(), equals: scalar.optional(), notEquals: scalar.optional() }),
  ]);

  const step = z.strictObject({
    id: name.optional(),
    name: text.optional(),
    uses,
    with: z.record(z.string(), withValue).default(() => ({})),
    when: condition.optional(),
    onFailure: z.enum(['stop', 'continue', 'rollback']).default('stop'),
    timeout: duration.optional(),
  });

  // What a runbook changes, named from its parameters ("{{ params.deployment }}"), so the change gate
  // judges the services that own the workload and not whichever service a requester types.
  const target = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('deployment'), namespace: text, name: text }),
    z.strictObject({ kind: z.literal('repo'), repo: text }),
  ]);

  return z
    .strictObject({
      apiVersion: z.literal('millwright/v1', { error: 'expected apiVersion: millwright/v1' }),
      kind: z.literal('Runbook', { error: 'expected kind: Runbook' }),
      metadata: z.strictObject({
        name,
        description: text,
        owners: z.array(text).default(() => []),
        tags: z.array(name).default(() => []),
        services: z.array(text).default(() => []),
        // The minutes a person would spend doing this by hand; the digest's toil ledger counts them.
        estimatedManualMinutes: z.number().nonnegative().optional(),
      }),
      spec: z.strictObject({
        params: z.array(param).default(() => []),
        permissions: z
          .strictObject({
            roles: z
              .array(text)
              .min(1, { error: 'name at least one role, or leave permissions out to deny everyone' }),
            channels: z.array(text).optional(),
          })
          .optional(),
        risk: z.enum(['low', 'medium', 'high']).default('medium'),
        changeClass: z.enum(['standard', 'normal']).default('normal'),
        confirm: z.boolean().default(true),
        timeout: duration.default('10m'),
        steps: z.array(step).min(1, { error: 'a runbook needs at least one step' }),
        rollback: z.array(step).default(() => []),
        targets: z.array(target).default(() => []),
      }),
    })
    .superRefine((runbook, ctx) => {
      const params = new Set<string>();
      for (const [i, p] of runbook.spec.params.entries()) {
        if (p.name === 'reason') {
          ctx.addIssue({
            code: 'custom',
            path: ['spec', 'params', i, 'name'],
            message: 'reason is reserved for break-glass runs; pick another name',
          });
        }
        if (params.has(p.name))
          ctx.addIssue({
            code: 'custom',
            path: ['spec', 'params', i, 'name'],
            message: `parameter ${p.name} is declared twice`,
          });
        params.add(p.name);
      }
      const ids = new Set<string>();
      for (const [i, s] of runbook.spec.steps.entries()) {
        if (!s.id) continue;
        if (ids.has(s.id))
          ctx.addIssue({
            code: 'custom',
            path: ['spec', 'steps', i, 'id'],
            message: `step id ${s.id} is used twice`,
          });
        ids.add(s.id);
      }
    });
}

export const runbookSchema = lazySchema(buildRunbookSchema);

export type RunbookSpec = z.output<typeof runbookSchema>;
export type RunbookParam = RunbookSpec['spec']['params'][number];
export type RunbookStep = RunbookSpec['spec']['steps'][number];
export type RunbookTarget = RunbookSpec['spec']['targets'][number];
export type StepCondition = NonNullable<RunbookStep['when']>;
export type { WithValue };
