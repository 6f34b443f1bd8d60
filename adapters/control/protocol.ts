// The local control protocol between Millwright processes on one host: a process that cannot take
// store.path sends its commands to the one that holds it. HTTP on 127.0.0.1, a bearer token read from
// the holder file inside store.path (owner-only), answers as JSON lines: accepted (before the command starts),
// progress, updates, the reply.
import { z } from 'zod';
import { lazySchema } from '../../src/core/index.js';

export const COMMANDS_PATH = '/v1/commands';
export const AUDIT_PATH = '/v1/audit';
export const MAX_BODY_BYTES = 64 * 1024;

/** One command as the shell would hand it to its router. */
export const commandBody = lazySchema(() =>
  z.strictObject({
    actor: z.strictObject({
      id: z.string().min(1).max(200),
      name: z.string().max(200).optional(),
      groups: z.array(z.string().max(200)).max(100).optional(),
    }),
    via: z.string().min(1).max(200).optional(),
    channel: z.string().min(1).max(200),
    text: z.string().max(16 * 1024),
  }),
);
export type CommandBody = z.output<typeof commandBody>;

/** An audit record the shell writes itself (a refused `--as`), appended by the holder. */
export const auditBody = lazySchema(() =>
  z.strictObject({
    actor: z.string().min(1).max(200),
    via: z.string().min(1).max(200).optional(),
    channel: z.string().min(1).max(200),
    action: z.string().regex(/^shell\.[a-z-]+$/),
    args: z.record(z.string(), z.unknown()).optional(),
    outcome: z.enum(['denied']),
    ref: z.string().min(1).max(64),
    code: z.string().max(64).optional(),
  }),
);
export type AuditBody = z.output<typeof auditBody>;

/** One line of a command's answer. */
export type ControlLine =
  /** First, before the command starts: it was received and will run. */
  | { accepted: true }
  | { progress: { id: number; reply: unknown } }
  | { update: { id: number; reply: unknown } }
  | { reply: unknown };
