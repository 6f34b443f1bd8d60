// The executor host: holds the plugins, checks each against the contract, validates every input
// against the action's schema, enforces the deadline, and audits every call before and after.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { AuditLog } from '../audit/types.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import {
  asMillwrightError,
  badArgument,
  ErrorCode,
  MillwrightError,
  type StopRequested,
  stoppedBy,
} from '../core/errors.js';
import { importExternal } from '../core/external.js';
import type { Logger } from '../core/logger.js';
import type { SecretSet } from '../core/secrets.js';
import {
  type ActionMetadata,
  EXECUTOR_PROTOCOL_VERSION,
  type ExecutionResult,
  type Executor,
  type ExecutorFactory,
  type ExecutorMetadata,
} from './types.js';

/** One executor call as the runbook engine (or a command) asks for it. */
export interface ExecutorCall {
  /** `kubernetes.restart` */
  uses: string;
  input: Record<string, unknown>;
  dryRun: boolean;
  actor: string;
  /** The real person when the actor is impersonated (`os:alice`), for the audit records. */
  via?: string;
  surface: string;
  channel: string;
  ref: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** What asked for the call, for the audit record (`runbook restart-deployment step restart`). */
  origin?: string;
}

interface Registered {
  executor: Executor;
  metadata: ExecutorMetadata;
  validators: Map<string, ValidateFunction>;
}

const EXECUTOR_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export class ExecutorHost {
  readonly #executors = new Map<string, Registered>();
  // The JSON Schema compiler loads on first use: a shell that runs no executor never pays for it.
  #ajv: Promise<Ajv> | undefined;

  constructor(
    private readonly options: {
      audit: AuditLog;
      logger: Logger;
      clock: Clock;
      /** The process's secrets; plugins add theirs (`tools.declareSecrets`) so every output scrubs them. */
      secrets?: SecretSet;
    },
  ) {}

  /** Adds an executor after checking it keeps the contract; throws a message naming it otherwise. */
  register(executor: Executor, source = 'built-in'): void {
    const where = `executor from ${source}`;
    if (!executor || typeof executor.metadata !== 'function' || typeof executor.execute !== 'function') {
      throw contractError(where, 'must have metadata() and execute(ctx, request)');
    }
    let metadata: ExecutorMetadata;
    try {
      metadata = executor.metadata();
    } catch (error) {
      throw contractError(where, `metadata() threw: ${asMillwrightError(error).message}`);
    }
    if (!metadata || typeof metadata.name !== 'string' || !EXECUTOR_NAME.test(metadata.name)) {
      throw contractError(where, 'metadata().name must be a lowercase name like "pager"');
    }
    const named = `executor "${metadata.name}" (${source})`;
    if (metadata.protocolVersion !== EXECUTOR_PROTOCOL_VERSION) {
      throw contractError(
        named,
        `speaks executor protocol ${String(metadata.protocolVersion)}; this Millwright speaks ${EXECUTOR_PROTOCOL_VERSION}`,
      );
    }
    if (this.#executors.has(metadata.name)) throw contractError(named, 'is registered twice');
    if (
      !metadata.actions ||
      typeof metadata.actions !== 'object' ||
      Object.keys(metadata.actions).length === 0
    ) {
      throw contractError(named, 'offers no actions');
    }
    const validators = new Map<string, ValidateFunction>();
    for (const [action, spec] of Object.entries(metadata.actions)) {
      if (!EXECUTOR_NAME.test(action)) throw contractError(named, `action "${action}" is not a valid name`);
      if (spec.effect !== 'read' && spec.effect !== 'write') {
        throw contractError(named, `action ${action} must declare effect: read or write`);
      }
    }
    this.#executors.set(metadata.name, { executor, metadata, validators });
  }

  /** Compiles every input schema of an executor now, so a plugin with a broken schema stops start-up. */
  async checkSchemas(name: string): Promise<void> {
    const entry = this.#executors.get(name);
    if (!entry) return;
    for (const action of Object.keys(entry.metadata.actions)) await this.#validator(entry, action);
  }

  async #validator(entry: Registered, action: string): Promise<ValidateFunction> {
    const known = entry.validators.get(action);
    if (known) return known;
    const ajv = await this.#compiler();
    // Read here, not at registration: built-ins derive their schemas on first use (start-up stays fast);
    // plugins have checkSchemas run at load, so a bad one still stops start-up.
    const input = entry.metadata.actions[action]!.input;
    if (input?.type !== 'object') {
      throw contractError(
        `executor "${entry.metadata.name}"`,
        `action ${action} needs an object input schema`,
      );
    }
    try {
      const validate = ajv.compile(input);
      entry.validators.set(action, validate);
      return validate;
    } catch (error) {
      throw contractError(
        `executor "${entry.metadata.name}"`,
        `action ${action} has an invalid input schema: ${asMillwrightError(error).message}`,
      );
    }
  }

  /** Loads a third-party executor module (package name or path) and registers it. */
  async load(module: string, config: unknown, baseDir: string): Promise<void> {
    const specifier =
      module.startsWith('.') || path.isAbsolute(module)
        ? pathToFileURL(path.resolve(baseDir, module)).href
        : module;
    let factory: ExecutorFactory | undefined;
    try {
      factory = (await importExternal<{ default?: ExecutorFactory }>(specifier)).default;
    } catch (error) {
      throw contractError(
        `executor module ${module}`,
        `could not be loaded: ${asMillwrightError(error).message}`,
      );
    }
    if (typeof factory !== 'function') {
      throw contractError(
        `executor module ${module}`,
        'must export a default factory function (config, tools) => Executor',
      );
    }
    let executor: Executor;
    try {
      executor = await factory(config ?? {}, {
        logger: this.options.logger.child({ executor: module }),
        declareSecrets: (values) => this.options.secrets?.add(values),
      });
    } catch (error) {
      throw contractError(
        `executor module ${module}`,
        `failed to start: ${asMillwrightError(error).message}`,
      );
    }
    this.register(executor, module);
    await this.checkSchemas(executor.metadata().name);
    await this.#checkConfig(executor, module, config ?? {});
  }

  /** A plugin's config block must match the `configSchema` it declares, as its actions' inputs do. */
  async #checkConfig(executor: Executor, module: string, config: unknown): Promise<void> {
    const schema = executor.metadata().configSchema;
    if (schema === undefined) return;
    const ajv = await this.#compiler();
    let valid: boolean;
    try {
      valid = ajv.validate(schema, structuredClone(config)) as boolean;
    } catch (error) {
      throw contractError(
        `executor module ${module}`,
        `has an invalid configSchema: ${asMillwrightError(error).message}`,
      );
    }
    if (valid) return;
    const first = ajv.errors?.[0];
    const where = first?.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'config';
    const what =
      first?.keyword === 'required'
        ? `needs ${String(first.params.missingProperty)}`
        : first?.keyword === 'additionalProperties'
          ? `does not take ${String(first.params.additionalProperty)}`
          : (first?.message ?? 'does not match');
    throw contractError(
      `executor module ${module}`,
      `config ${where === 'config' ? what : `${where} ${what}`} (its configSchema: ${JSON.stringify(schema).slice(0, 200)})`,
    );
  }

  #compiler(): Promise<Ajv> {
    this.#ajv ??= import('ajv').then((module) => {
      // ajv is CommonJS: bundled builds expose it on `default`, Node on the named export.
      const loaded = module as unknown as { Ajv?: typeof Ajv; default?: { Ajv?: typeof Ajv } & typeof Ajv };
      const Compiler = loaded.Ajv ?? loaded.default?.Ajv ?? loaded.default!;
      return new Compiler({ allErrors: false, strict: false, useDefaults: true });
    });
    return this.#ajv;
  }

  /** The action's metadata, or undefined when no executor offers it. */
  action(uses: string): ActionMetadata | undefined {
    const [name, action] = uses.split('.');
    return this.#executors.get(name ?? '')?.metadata.actions[action ?? ''];
  }

  list(): ExecutorMetadata[] {
    return [...this.#executors.values()].map((entry) => entry.metadata);
  }

  /**
   * Validates and runs one call under its deadline, with an audit record before (intent) and after
   * (outcome). Retrying transient failures is the executor's business: only it knows which are safe.
   */
  async invoke(call: ExecutorCall): Promise<ExecutionResult> {
    const [name = '', action = ''] = call.uses.split('.');
    const entry = this.#executors.get(name);
    const spec = entry?.metadata.actions[action];
    if (!entry || !spec) {
      throw new MillwrightError(ErrorCode.NotConfigured, `no executor offers ${call.uses}`, {
        hint: `configured executors: ${[...this.#executors.keys()].join(', ') || 'none'}; check the runbook's uses: and millwright.yml`,
      });
    }
    const input = structuredClone(call.input);
    const validate = await this.#validator(entry, action);
    if (!validate(input)) throw inputError(call.uses, validate.errors ?? []);

    const { audit, logger } = this.options;
    const record = (outcome: string, extra: Record<string, unknown> = {}) =>
      audit.append({
        actor: call.actor,
        ...viaOf(call),
        surface: call.surface,
        channel: call.channel,
        action: `executor.${call.uses}`,
        args: {
          ...input,
          ...(call.dryRun ? { dryRun: true } : {}),
          ...(call.origin ? { origin: call.origin } : {}),
          ...extra,
        },
        outcome,
        ref: call.ref,
      });
    const stop = stoppedBy(call.signal);
    // A run already stopping starts nothing new (an aborted signal would never fire 'abort' again).
    if (stop) throw abortedError(call.uses, stop);
    // The intent is on disk before anything touches the world.
    await record('started');
    // Wall time, like the timer below: executors hold it against Date.now() for their I/O, whatever
    // clock the run is recorded by (an injected one may be minutes off).
    const deadline = new Date(Date.now() + call.timeoutMs);
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException('deadline', 'TimeoutError')),
      call.timeoutMs,
    );
    const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
    try {
      const cutOff = new Promise<never>((_, reject) => {
        signal.addEventListener(
          'abort',
          () =>
            reject(
              timeout.signal.aborted
                ? new MillwrightError(
                    ErrorCode.Timeout,
                    `${call.uses} did not finish within ${formatDuration(call.timeoutMs)} and was cut off`,
                    {
                      hint: 'the system it talks to may be slow or hanging; check it, then check the outcome before running again',
                    },
                  )
                : stoppedBy(signal)
                  ? abortedError(call.uses, stoppedBy(signal)!)
                  : new MillwrightError(ErrorCode.Cancelled, `${call.uses} was cancelled`),
            ),
          { once: true },
        );
      });
      const result = await Promise.race([
        entry.executor.execute(
          {
            signal,
            deadline,
            dryRun: call.dryRun,
            actor: call.actor,
            ref: call.ref,
            logger: logger.child({ ref: call.ref, executor: call.uses }),
          },
          { action, input },
        ),
        cutOff,
      ]);
      await record(call.dryRun ? 'dry-run' : 'ok', { summary: result.summary });
      return result;
    } catch (error) {
      const failure = asMillwrightError(error);
      const outcome = failure.code === ErrorCode.Aborted ? 'aborted' : 'error';
      await record(outcome, { code: failure.code, error: failure.message });
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    for (const { executor, metadata } of this.#executors.values()) {
      try {
        await executor.close?.();
      } catch (error) {
        this.options.logger.warn({ err: error, executor: metadata.name }, 'executor close failed');
      }
    }
  }
}

/** The request may or may not have reached the system: say so, since nobody can know from here. */
function abortedError(uses: string, stop: StopRequested): MillwrightError {
  return new MillwrightError(ErrorCode.Aborted, `${uses} was aborted: ${stop.why}`, {
    hint: 'it may have reached the system already; check there before running it again',
  });
}

function contractError(where: string, problem: string): MillwrightError {
  return new MillwrightError(ErrorCode.ConfigInvalid, `${where} ${problem}`, {
    hint: 'fix or remove it under executors: in millwright.yml; see "Writing an executor" in the README',
  });
}

function inputError(uses: string, errors: ErrorObject[]): MillwrightError {
  const first = errors[0];
  const field =
    first?.instancePath.replace(/^\//, '').replace(/\//g, '.') ||
    String(first?.params?.missingProperty ?? '');
  const what =
    first?.keyword === 'additionalProperties'
      ? `does not take ${String(first.params.additionalProperty)}`
      : first?.keyword === 'required'
        ? `needs ${String(first.params.missingProperty)}`
        : `${field} ${first?.message ?? 'is invalid'}`;
  return badArgument(
    `${uses} ${what}`,
    'check the value against the runbook parameter it comes from',
    field || undefined,
  );
}
