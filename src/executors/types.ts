// The Executor contract: the only code that changes the outside world. Built-ins implement exactly
// what a third-party plugin implements, and say which protocol version they speak.
import type { Logger } from '../core/logger.js';

/** The contract version this Millwright speaks. A plugin declaring another major is refused. */
export const EXECUTOR_PROTOCOL_VERSION = 1;

/**
 * A JSON Schema (draft 2020-12 subset) describing a plain object: `type`, `properties`,
 * `required`, `additionalProperties`, `enum`, `pattern`, `minimum`/`maximum`,
 * `minLength`/`maxLength`, `items`, `description`, `default`.
 */
export type JsonSchema = Record<string, unknown>;

export interface ActionMetadata {
  description: string;
  /** Schema of the action's input; Millwright validates against it before `execute` is called. */
  input: JsonSchema;
  /** Schema of the output, so runbooks can reference `{{ steps.ID.outputs.NAME }}` safely. */
  output?: JsonSchema;
  /** `read` calls may be retried on transient failures; `write` calls never are, unless idempotent. */
  effect: 'read' | 'write';
  /** A write that is safe to repeat (PUT of the same state); may then be retried. */
  idempotent?: boolean;
  /** How `--dry-run` works: the system's own dry run, a description only, or not at all. */
  dryRun: 'native' | 'describe';
}

export interface ExecutorMetadata {
  name: string;
  version: string;
  /** Which executor protocol this plugin implements (EXECUTOR_PROTOCOL_VERSION). */
  protocolVersion: number;
  description: string;
  /** Schema of this executor's `config` block in millwright.yml. */
  configSchema?: JsonSchema;
  actions: Record<string, ActionMetadata>;
}

/** What an executor gets for one call, besides its validated input. */
export interface ExecutionContext {
  /** Aborted at the deadline or when the run is cancelled; pass it to every request. */
  signal: AbortSignal;
  deadline: Date;
  /** When true, change nothing: use the system's dry run, or describe what would happen. */
  dryRun: boolean;
  /** Who asked, and the correlation id of the command, for the executor's own logs. */
  actor: string;
  ref: string;
  logger: Logger;
}

export interface ExecutionRequest {
  action: string;
  input: Record<string, unknown>;
}

export interface ExecutionResult {
  /** One line for the person watching: "restarted deployment shop/checkout". */
  summary: string;
  /** Plain JSON values later steps may reference. */
  output: Record<string, unknown>;
}

/**
 * An executor plugin. Failures are thrown as MillwrightError (with upstream status and a hint);
 * everything in and out is plain JSON.
 *
 * @example
 * export default function createExecutor(config: unknown): Executor {
 *   return {
 *     metadata: () => ({ name: 'pager', version: '1.0.0', protocolVersion: 1, description: 'pages people',
 *       actions: { page: { description: 'page a person', effect: 'write', dryRun: 'describe',
 *         input: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'], additionalProperties: false } } } }),
 *     execute: async (ctx, { input }) => ({ summary: `paged ${input.who}`, output: {} }),
 *   } satisfies Executor;
 * }
 */
export interface Executor {
  metadata(): ExecutorMetadata;
  execute(ctx: ExecutionContext, request: ExecutionRequest): Promise<ExecutionResult>;
  /** Optional: release connections on shutdown. */
  close?(): Promise<void>;
}

/** What a plugin's factory gets besides its config block. */
export interface ExecutorTools {
  logger: Logger;
  /**
   * Secret values the plugin holds (a token it read from a vault, a credential in its config under a
   * name that does not say so); Millwright scrubs them from logs, replies and the audit trail.
   */
  declareSecrets(values: Iterable<string>): void;
}

/** What a third-party module's default export is: a factory given its config block. */
export type ExecutorFactory = (config: unknown, tools: ExecutorTools) => Executor | Promise<Executor>;
