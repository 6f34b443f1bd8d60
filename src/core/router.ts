// The router: one entry point for every surface. It parses, resolves, checks permission, runs
// the command under a deadline, turns every failure into a reply, and audits the outcome.
import { randomBytes } from 'node:crypto';
import { permissionDenied, type UnreadGroups, withUnreadGroups } from './access.js';
import { viaOf } from './audit.js';
import type { Clock } from './clock.js';
import type { Actor, Context, MessageHandle, ReplySink, Services, Surface } from './context.js';
import { formatDuration } from './duration.js';
import { asMillwrightError, ErrorCode, MillwrightError, stoppedBy } from './errors.js';
import type { Logger } from './logger.js';
import { type ParsedLine, parseLine } from './parser.js';
import type { Invocation } from './registry.js';
import type { Reply } from './reply.js';
import { findSecret, secretRefusal } from './secret-detection.js';

/** One command as an adapter hands it over. */
export interface CommandRequest {
  actor: { id: string; name?: string; groups?: readonly string[]; unreadGroups?: UnreadGroups };
  surface: Surface;
  channel: string;
  text: string;
  /** Where progress replies go; without one, progress is dropped and only the final reply is returned. */
  sink?: ReplySink;
  /** Aborted by the surface when the requester goes away. */
  signal?: AbortSignal;
  /**
   * The real person when `actor` is impersonated (`os:alice` for `millwright shell --as`). The
   * surface has already checked the `impersonate` permission; the router records it on every record.
   */
  via?: string;
}

export interface CommandObservation {
  verb: string;
  outcome: 'ok' | 'error' | 'denied' | 'aborted';
  seconds: number;
  code?: string;
}

export interface RouterOptions {
  services: Services;
  clock: Clock;
  logger: Logger;
  /** Deadline for one command; it is told to stop (AbortSignal) and the user is told why. */
  timeoutMs?: number;
  /** Metrics hook; must not throw. */
  observe?: (observation: CommandObservation) => void;
  /**
   * Aborted (with a `StopRequested` reason) when the process stops: every running command is told
   * through its signal, waits briefly for its own records, and is audited `aborted`.
   */
  stop?: AbortSignal;
  /** How long an aborted command's handler gets to record its own outcome. Default 2 s. */
  abortSettleMs?: number;
  /** Registers in-flight work so a graceful shutdown waits for it. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /**
   * Builds services on demand (a one-shot shell): access and the audit trail before each command,
   * then what the command declares in `services` (all of them when it declares nothing).
   */
  prepare?: (services: readonly string[] | 'all') => Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_ABORT_SETTLE_MS = 2_000;
const noProgress: MessageHandle = { update: async () => {} };

export function newRef(): string {
  return randomBytes(5).toString('hex');
}

/**
 * Runs command lines for every surface.
 *
 * @example
 * const answer = await router.handle({ actor: { id: 'ana' }, surface: 'shell', channel: 'shell', text: 'whoami' });
 */
export class Router {
  constructor(private readonly options: RouterOptions) {}

  handle(request: CommandRequest): Promise<Reply> {
    const work = this.#handle(request);
    return this.options.track ? this.options.track(work) : work;
  }

  async #handle(request: CommandRequest): Promise<Reply> {
    const { services, clock, logger } = this.options;
    const ref = newRef();
    // hrtime, not performance.now(): the first read of `performance` loads perf_hooks, a cost every start paid.
    const started = process.hrtime.bigint();
    if (this.options.prepare) {
      try {
        await this.options.prepare(['access', 'audit']);
      } catch (error) {
        logger.error({ ref, err: error }, 'services could not be built');
        return errorReply(asMillwrightError(error), ref);
      }
    }
    const roles = services.access.rolesFor(request.actor);
    const actor: Actor = { ...request.actor, roles, ...(request.via ? { via: request.via } : {}) };
    let invocation: Invocation | undefined;
    let verb = 'unknown';
    let result: Reply;
    // Typed text that holds a secret is refused before it is parsed, stored, run or echoed; the
    // trail records the refusal and what kind of secret it was, never the line.
    let refusedSecret: string | undefined;
    try {
      const secret = await findSecret(request.text, services.secrets);
      if (secret) {
        refusedSecret = secret.kind;
        const typed = /^\s*(\S+)/.exec(request.text)?.[1]?.toLowerCase();
        if (typed && services.registry.get(typed)) verb = typed;
        throw secretRefusal(secret, 'command');
      }
      const parsed = withHelpFlag(parseLine(request.text));
      const typed = parsed.words[0]?.toLowerCase();
      if (typed && services.registry.get(typed)) verb = typed;
      invocation = services.registry.resolve(parsed, request.text, clock.now());
      const decision = services.access.check(actor, invocation.permission, request.channel);
      if (!decision.allowed) {
        // Said only when the groups that could not be read are what stood in the way.
        const hoped = withUnreadGroups(actor);
        const unreadMattered =
          hoped && services.access.check(hoped, invocation.permission, request.channel).allowed;
        throw permissionDenied(
          decision.reason,
          `ask an admin for a role that allows ${invocation.permission} (access.subjects in the config)`,
          unreadMattered ? actor.unreadGroups : undefined,
        );
      }
      await this.options.prepare?.(invocation.spec.services ?? 'all');
      result = await this.#run(invocation, request, actor, ref);
      if (invocation.args.flags.has('public')) result.visibility = 'public';
      result.visibility ??= 'private';
    } catch (error) {
      const failure = asMillwrightError(error);
      if (failure.code === ErrorCode.Internal) {
        logger.error(
          { ref, err: failure.cause ?? failure, command: invocation?.id },
          'command failed unexpectedly',
        );
      } else {
        logger.info({ ref, code: failure.code, command: invocation?.id }, failure.message);
      }
      result = errorReply(failure, ref);
    }
    result.ref = ref;
    // A handler that returns an error reply failed as surely as one that throws.
    const outcome = outcomeOf(result);

    try {
      await services.audit.append({
        actor: actor.id,
        ...viaOf(actor),
        surface: request.surface,
        channel: request.channel,
        action: invocation
          ? `command.${invocation.id}`
          : verb === 'unknown'
            ? 'command.invalid'
            : `command.${verb}`,
        args: invocation
          ? auditArgs(invocation)
          : refusedSecret
            ? { detected: refusedSecret }
            : { line: request.text.slice(0, 500) },
        outcome,
        ref,
        ...(result.error ? { code: result.error.code } : {}),
        // A refusal keeps its why: the line a person was told and its hint (groups that could not be
        // read are named in the line, the role that was missing in the hint).
        ...(outcome === 'denied' && result.error
          ? {
              reason: result.error.hint
                ? `${result.error.message} (${result.error.hint})`
                : result.error.message,
            }
          : {}),
      });
    } catch (error) {
      // The person must not be told something happened that the trail cannot show.
      logger.error({ ref, err: error }, 'audit append failed');
      result = errorReply(
        new MillwrightError(
          ErrorCode.AuditUnavailable,
          'the audit trail could not be written; the outcome is unrecorded',
          {
            hint: 'check the disk under store.path and run millwright audit verify',
            cause: error,
          },
        ),
        ref,
      );
    }

    // Whatever a command answers, no known secret or token leaves in it (buttons keep their signed tokens).
    result = services.secrets.strings(result);
    // From the final reply: an audit trail that could not be written made the command an error.
    this.#observe({
      verb,
      outcome: outcomeOf(result),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      ...(result.error ? { code: result.error.code } : {}),
    });
    return result;
  }

  async #run(invocation: Invocation, request: CommandRequest, actor: Actor, ref: string): Promise<Reply> {
    const { services, clock, logger } = this.options;
    const timeoutMs = invocation.spec.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('deadline', 'TimeoutError')), timeoutMs);
    const signals = [request.signal, deadline.signal, this.options.stop].filter((s) => s !== undefined);
    const signal = AbortSignal.any(signals);
    const ctx: Context = {
      ref,
      actor,
      surface: request.surface,
      channel: request.channel,
      services,
      clock,
      logger: logger.child({ ref, command: invocation.id }),
      signal,
      reply: (progress) =>
        request.sink
          ? request.sink.send({ ...services.secrets.strings(progress), ref })
          : Promise.resolve(noProgress),
      can: (permission) => services.access.check(actor, permission, request.channel).allowed,
      audit: (action, args, outcome) =>
        services.audit.append({
          actor: actor.id,
          ...viaOf(actor),
          surface: request.surface,
          channel: request.channel,
          action,
          args,
          outcome,
          ref,
        }),
    };
    let handling: Promise<Reply> | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(abortError(signal, timeoutMs, invocation.id));
        signal.addEventListener('abort', () => reject(abortError(signal, timeoutMs, invocation.id)), {
          once: true,
        });
      });
      handling = Promise.resolve().then(() => invocation.spec.handler(ctx, invocation.args));
      return await Promise.race([handling, aborted]);
    } catch (error) {
      // On a stop, the handler's own records (executor and runbook outcomes) go before the command's.
      if (handling && stoppedBy(signal)) await this.#settle(handling);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for an aborted handler to finish recording, but never longer than the settle time. */
  async #settle(handling: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.abortSettleMs ?? DEFAULT_ABORT_SETTLE_MS);
    });
    // The handler's failure after an abort is expected; its reply is replaced by the abort's.
    await Promise.race([handling.then(noop, noop), waited]);
    clearTimeout(timer);
  }

  #observe(observation: CommandObservation): void {
    try {
      this.options.observe?.(observation);
    } catch (error) {
      // Metrics must never change what the user sees.
      this.options.logger.warn({ err: error }, 'metrics observer failed');
    }
  }
}

function noop(): void {}

function abortError(signal: AbortSignal, timeoutMs: number, id: string): MillwrightError {
  const stop = stoppedBy(signal);
  if (stop) {
    return new MillwrightError(ErrorCode.Aborted, `${id.replace('.', ' ')} was aborted: ${stop.why}`, {
      hint: 'check its audit records for what finished before running it again',
    });
  }
  const reason = signal.reason as { name?: string } | undefined;
  if (reason?.name === 'TimeoutError') {
    return new MillwrightError(
      ErrorCode.Timeout,
      `${id.replace('.', ' ')} was still running after ${formatDuration(timeoutMs)} and was stopped`,
      {
        hint: 'check its audit records for what finished; try again, or ask an admin to raise the command timeout',
      },
    );
  }
  return new MillwrightError(ErrorCode.Cancelled, `${id.replace('.', ' ')} was cancelled`);
}

const REFUSALS: readonly string[] = [ErrorCode.PermissionDenied, ErrorCode.SecretDetected];

/** What the trail and the metrics record for a reply: a refusal is denied, any other failure an error. */
function outcomeOf(result: Reply): CommandObservation['outcome'] {
  if (result.ok) return 'ok';
  if (result.error?.code === ErrorCode.Aborted) return 'aborted';
  return REFUSALS.includes(result.error?.code ?? '') ? 'denied' : 'error';
}

/** `VERB --help` is `help VERB`. */
function withHelpFlag(parsed: ParsedLine): ParsedLine {
  if (!parsed.flags.has('help')) return parsed;
  return { words: ['help', ...parsed.words.slice(0, 1)], options: {}, flags: new Set() };
}

function auditArgs(invocation: Invocation): Record<string, unknown> {
  const options = Object.fromEntries(
    Object.entries(invocation.args.options).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
  );
  const args: Record<string, unknown> = {
    ...invocation.args.positionals,
    ...options,
    ...invocation.args.extra,
  };
  if (invocation.args.flags.size) args.flags = [...invocation.args.flags];
  return args;
}

/** The reply for any failure: one line, a hint, and a reference for unknown ones. */
export function errorReply(error: MillwrightError, ref: string): Reply {
  const internal = error.code === ErrorCode.Internal;
  return {
    ok: false,
    blocks: [],
    visibility: 'private',
    ref,
    error: {
      code: error.code,
      message: internal ? `something broke on our side (reference ${ref})` : error.message,
      ...(internal
        ? { hint: 'the log line with this reference has the detail; try again or tell the Millwright admins' }
        : error.hint
          ? { hint: error.hint }
          : {}),
      ...(typeof error.details?.field === 'string' ? { field: error.details.field } : {}),
    },
  };
}
