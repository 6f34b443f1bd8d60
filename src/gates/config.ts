// The `gates:` section: the pipelines that may ask the policy gate over HTTP, each with its bearer
// token and the services it may gate.
import { z } from 'zod';
import { DELIVERY_KINDS } from '../changes/types.js';
import { lazySchema } from '../core/index.js';

const name = lazySchema(() =>
  z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, { error: 'expected letters, digits, ".", "_" or "-"' }),
);

const pipeline = lazySchema(() =>
  z.strictObject({
    // A bearer token the pipeline sends; from the environment (`${GATE_TOKEN_CI}`), never written in the file.
    token: z.string().trim().min(16, { error: 'must be at least 16 characters (openssl rand -hex 32)' }),
    // The services this pipeline may gate: a list from the service catalog, or "*" for all of them.
    services: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]),
    // The risk its changes carry at least; a request may raise it (risk=high needs a person), never lower it.
    risk: z.enum(['low', 'medium', 'high']).default('low'),
  }),
);

export const gatesSchema = lazySchema(() =>
  z.strictObject({
    pipelines: z.record(name, pipeline).refine((pipelines) => Object.keys(pipelines).length > 0, {
      error: 'name at least one pipeline',
    }),
    maxBodyBytes: z
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(16 * 1024),
  }),
);

export type GatesConfig = z.output<typeof gatesSchema>;
export type PipelineConfig = GatesConfig['pipelines'][string];

const field = lazySchema(() =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'required' : 'expected a string') })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
);

/** The body of `POST /api/v1/gates/evaluate`. */
export const gateRequestSchema = lazySchema(() =>
  z.strictObject(
    {
      service: field,
      version: field.optional(),
      environment: field.optional(),
      kind: z
        .enum(DELIVERY_KINDS, { error: `expected one of ${DELIVERY_KINDS.join(', ')}` })
        .default('deployment'),
      risk: z.enum(['low', 'medium', 'high'], { error: 'expected low, medium or high' }).optional(),
      reason: z
        .string({ error: 'expected a string' })
        .trim()
        .max(500, { error: 'must be at most 500 characters' })
        .optional(),
      // A fix for an outage: let through while the error-budget policy freezes the service (needs a reason).
      emergency: z.boolean({ error: 'expected true or false' }).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? 'not a field of the gate request; send service, version, environment, kind, risk, reason, emergency'
          : 'expected a JSON object like {"service": "checkout", "version": "1.4.2"}',
    },
  ),
);

export type GateRequest = z.output<typeof gateRequestSchema>;
