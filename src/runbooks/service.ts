// Runbooks as a service: the loaded catalog, who may run which runbook where (with break-glass),
// parameter checks, and the run itself with progress, audit and the outcome.

import type { AuditLog } from '../audit/types.js';
import type { ConfigProblem } from '../config/index.js';
import { permissionDenied, withUnreadGroups } from '../core/access.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { AccessPolicy, Actor } from '../core/context.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { nearest } from '../core/suggest.js';
import type { ExecutorHost } from '../executors/host.js';
import { type LoadedRunbook, loadRunbooks } from './catalog.js';
import { type RunContext, type RunOptions, type RunOutcome, type RunProgress, runRunbook } from './engine.js';
import { type ParamValue, validateParams } from './params.js';

export interface RunbookDecision {
  allowed: boolean;
  breakGlass: boolean;
  reason: string;
}

/** The permission that lets a role run any runbook anywhere, loudly, with a reason. */
export const BREAK_GLASS_PERMISSION = 'runbook.break-glass';

export class RunbookService {
  #runbooks = new Map<string, LoadedRunbook>();
  #problems: ConfigProblem[] = [];

  constructor(
    private readonly options: {
      dir: string;
      host: ExecutorHost;
      access: AccessPolicy;
      audit: AuditLog;
      clock: Clock;
    },
  ) {}

  /** (Re)reads the folder. Runbooks with problems are left out and reported by `problems`. */
  async load(): Promise<void> {
    // A role the config does not define only means nobody holds it; lint reports it, loading does not.
    const { runbooks, problems } = await loadRunbooks(this.options.dir, {
      action: (uses) => this.options.host.action(uses),
    });
    this.#runbooks = runbooks;
    this.#problems = problems;
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  list(filter: { service?: string; tag?: string } = {}): LoadedRunbook[] {
    return [...this.#runbooks.values()]
      .filter(({ spec }) => !filter.service || spec.metadata.services.includes(filter.service))
      .filter(({ spec }) => !filter.tag || spec.metadata.tags.includes(filter.tag))
      .sort((a, b) => a.spec.metadata.name.localeCompare(b.spec.metadata.name));
  }

  /** The runbook, or a not-found error that suggests the nearest name. */
  get(name: string): LoadedRunbook {
    const found = this.#runbooks.get(name);
    if (found) return found;
    const broken = this.#problems.find(
      (p) => p.file.endsWith(`${name}.yml`) || p.file.endsWith(`${name}.yaml`),
    );
    if (broken) {
      throw new MillwrightError(ErrorCode.NotFound, `runbook ${name} did not load: ${broken.message}`, {
        hint: `run millwright runbooks lint to see every problem (${broken.file}:${broken.line})`,
      });
    }
    const guess = nearest(name, this.#runbooks.keys());
    throw new MillwrightError(ErrorCode.NotFound, `there is no runbook ${name}`, {
      hint: guess ? `did you mean ${guess}?` : 'runbook list shows the runbooks you can run',
    });
  }

  /**
   * Who may run this runbook here: one of its roles, in one of its channels. Without
   * `permissions` nobody may. Break-glass lets a role holding runbook.break-glass through anyway.
   */
  authorize(
    actor: Actor,
    runbook: LoadedRunbook,
    channel: string,
    breakGlassReason?: string,
  ): RunbookDecision {
    const { permissions } = runbook.spec.spec;
    const name = runbook.spec.metadata.name;
    let reason: string;
    if (!permissions) {
      reason = `${name} declares no permissions, so nobody may run it`;
    } else {
      const role = permissions.roles.find((r) => actor.roles.includes(r));
      const channels = permissions.channels;
      if (!role) {
        reason = `${name} may be run by roles ${permissions.roles.join(', ')}; ${actor.id} has ${actor.roles.join(', ') || 'none'}`;
      } else if (channels && !channels.includes('*') && !channels.includes(channel)) {
        reason = `${name} may only be run in ${channels.join(', ')}, not in ${channel}`;
      } else {
        return { allowed: true, breakGlass: false, reason: `role ${role} may run ${name}` };
      }
    }
    if (breakGlassReason !== undefined) {
      if (!this.options.access.check(actor, BREAK_GLASS_PERMISSION, channel).allowed) {
        return {
          allowed: false,
          breakGlass: false,
          reason: `${reason}, and ${actor.id} holds no break-glass role`,
        };
      }
      if (breakGlassReason.trim().length < 10) {
        return {
          allowed: false,
          breakGlass: false,
          reason: 'break-glass needs a reason of at least 10 characters',
        };
      }
      return { allowed: true, breakGlass: true, reason: `break-glass by ${actor.id}: ${breakGlassReason}` };
    }
    return { allowed: false, breakGlass: false, reason };
  }

  /**
   * The refusal for a run `authorize` denied. When groups the surface could not read (Slack user
   * groups Slack would not list) hold a role that would have allowed it, the line says so and why.
   *
   * @example
   * const decision = runbooks.authorize(ctx.actor, runbook, ctx.channel);
   * if (!decision.allowed) throw runbooks.refusal(ctx.actor, runbook, ctx.channel, decision, 'ask for a role the runbook allows');
   */
  refusal(
    actor: Actor,
    runbook: LoadedRunbook,
    channel: string,
    decision: RunbookDecision,
    hint: string,
    breakGlassReason?: string,
  ): MillwrightError {
    const hoped = withUnreadGroups(actor);
    const unreadMattered =
      hoped !== undefined &&
      this.authorize(
        { ...hoped, roles: this.options.access.rolesFor(hoped) },
        runbook,
        channel,
        breakGlassReason,
      ).allowed;
    return permissionDenied(decision.reason, hint, unreadMattered ? actor.unreadGroups : undefined);
  }

  params(runbook: LoadedRunbook, raw: Record<string, string>): Record<string, ParamValue> {
    return validateParams(runbook.spec, raw);
  }

  /**
   * Whether a step calling `uses` may run again when nobody knows if its first call landed: a read,
   * or a write its executor declares idempotent.
   */
  repeatable(uses: string): boolean {
    const action = this.options.host.action(uses);
    return action !== undefined && (action.effect === 'read' || action.idempotent === true);
  }

  /** Runs (or dry-runs) the runbook, auditing its start and its outcome around the steps. */
  async run(
    runbook: LoadedRunbook,
    params: Record<string, ParamValue>,
    context: RunContext,
    options: {
      dryRun: boolean;
      breakGlass?: string;
      onStep?: RunOptions['onStep'];
      onStepStart?: RunOptions['onStepStart'];
      /** Carries on a run a replica that stopped had started (its done steps are not repeated). */
      resume?: RunProgress;
    },
  ): Promise<RunOutcome> {
    const { audit, host } = this.options;
    const base = {
      actor: context.actor,
      ...viaOf(context),
      surface: context.surface,
      channel: context.channel,
      ref: context.ref,
    };
    const action = `runbook.${options.dryRun ? 'dry-run' : 'run'}`;
    const args = {
      runbook: runbook.spec.metadata.name,
      params,
      ...(options.breakGlass ? { breakGlass: options.breakGlass } : {}),
    };
    await audit.append({
      ...base,
      action,
      args: options.resume ? { ...args, resumedAfterStep: options.resume.done } : args,
      outcome: options.resume ? 'resumed' : 'started',
    });
    const outcome = await runRunbook(runbook.spec, params, {
      host,
      context,
      dryRun: options.dryRun,
      ...(options.onStep ? { onStep: options.onStep } : {}),
      ...(options.onStepStart ? { onStepStart: options.onStepStart } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
    });
    await audit.append({
      ...base,
      action,
      args: { ...args, durationMs: Math.round(outcome.durationMs) },
      outcome: outcome.status,
    });
    return outcome;
  }
}
