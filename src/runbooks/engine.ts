// The step engine: runs a runbook's steps in order through the executor host, honours `when`,
// `onFailure` and the runbook's timeout, runs rollback steps when asked, and reports each step.
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { asMillwrightError, ErrorCode, stoppedBy } from '../core/errors.js';
import type { ExecutorHost } from '../executors/host.js';
import type { ParamValue } from './params.js';
import type { RunbookSpec, RunbookStep, StepCondition } from './schema.js';
import { render, type TemplateScope } from './template.js';

export interface RunContext {
  actor: string;
  /** The real person when the actor is impersonated (`os:alice`). */
  via?: string;
  surface: string;
  channel: string;
  ref: string;
  clock: Clock;
  signal?: AbortSignal;
}

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'dry-run' | 'not-run';

export interface StepOutcome {
  phase: 'main' | 'rollback';
  /** Position in its phase, from 1. */
  position: number;
  label: string;
  uses: string;
  status: StepStatus;
  durationMs: number;
  summary: string;
  error?: { code: string; message: string; hint?: string };
}

export type RunStatus =
  | 'succeeded'
  | 'succeeded-with-failures'
  | 'failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'dry-run'
  /** The process stopped (SIGTERM, Ctrl-C) mid-run: the rest did not run, and no rollback either. */
  | 'aborted';

export interface RunOutcome {
  runbook: string;
  status: RunStatus;
  steps: StepOutcome[];
  durationMs: number;
}

export interface RunOptions {
  host: ExecutorHost;
  context: RunContext;
  dryRun: boolean;
  /** Called after each step, for progress messages; `output` is a main step's, when it has an id. */
  onStep?: (
    outcome: StepOutcome,
    totalSteps: number,
    output?: { id: string; values: Record<string, unknown> },
  ) => Promise<void> | void;
  /** Called before a main step calls its executor: where a run records what it is about to do. */
  onStepStart?: (step: { position: number; label: string; uses: string }) => Promise<void> | void;
  /**
   * Carries on a run another process started: its first `done` main steps are not run again (they
   * are reported `ok` with what they said then) and their outputs are what later steps see.
   */
  resume?: RunProgress;
}

/** How far a run got: the main steps done, and the outputs of those with an id. */
export interface RunProgress {
  done: number;
  summaries: string[];
  outputs: Record<string, Record<string, unknown>>;
}

/**
 * Runs a validated runbook with validated parameters.
 *
 * @example
 * const outcome = await runRunbook(runbook, { deployment: 'checkout' }, { host, context, dryRun: false });
 */
export async function runRunbook(
  runbook: RunbookSpec,
  params: Record<string, ParamValue>,
  options: RunOptions,
): Promise<RunOutcome> {
  const { context, host } = options;
  const started = context.clock.now().getTime();
  const deadline = started + parseDuration(runbook.spec.timeout);
  const scope: TemplateScope = { params, steps: {} };
  for (const [id, outputs] of Object.entries(options.resume?.outputs ?? {})) scope.steps[id] = { outputs };
  const outcomes: StepOutcome[] = [];
  const total = runbook.spec.steps.length;
  let status: RunStatus = options.dryRun ? 'dry-run' : 'succeeded';

  const runStep = async (
    step: RunbookStep,
    phase: StepOutcome['phase'],
    position: number,
  ): Promise<StepOutcome> => {
    const label = step.name ?? step.id ?? `step ${position}`;
    const base = { phase, position, label, uses: step.uses };
    if (step.when !== undefined && !conditionHolds(step.when, scope)) {
      return { ...base, status: 'skipped', durationMs: 0, summary: 'condition not met' };
    }
    const remaining = deadline - context.clock.now().getTime();
    if (remaining <= 0) {
      const message = `the runbook's timeout of ${runbook.spec.timeout} ran out before this step`;
      const hint = 'raise spec.timeout in the runbook if its steps legitimately take longer';
      return {
        ...base,
        status: 'failed',
        durationMs: 0,
        summary: message,
        error: { code: ErrorCode.Timeout, message, hint },
      };
    }
    if (phase === 'main') await options.onStepStart?.({ position, label, uses: step.uses });
    const stepStarted = performance.now();
    try {
      const timeoutMs = Math.min(remaining, step.timeout ? parseDuration(step.timeout) : remaining);
      const result = await host.invoke({
        uses: step.uses,
        input: render(step.with, scope) as Record<string, unknown>,
        dryRun: options.dryRun,
        actor: context.actor,
        ...(context.via ? { via: context.via } : {}),
        surface: context.surface,
        channel: context.channel,
        ref: context.ref,
        timeoutMs,
        ...(context.signal ? { signal: context.signal } : {}),
        origin: `runbook ${runbook.metadata.name} ${phase === 'rollback' ? 'rollback ' : ''}${label}`,
      });
      if (step.id) scope.steps[step.id] = { outputs: result.output };
      return {
        ...base,
        status: options.dryRun ? 'dry-run' : 'ok',
        durationMs: performance.now() - stepStarted,
        summary: result.summary,
      };
    } catch (error) {
      const failure = asMillwrightError(error);
      return {
        ...base,
        status: 'failed',
        durationMs: performance.now() - stepStarted,
        summary: failure.message,
        error: {
          code: failure.code,
          message: failure.message,
          ...(failure.hint ? { hint: failure.hint } : {}),
        },
      };
    }
  };

  let rollback = false;
  const resumed = options.resume?.done ?? 0;
  for (const [index, step] of runbook.spec.steps.entries()) {
    const outcome: StepOutcome =
      index < resumed
        ? {
            phase: 'main',
            position: index + 1,
            label: step.name ?? step.id ?? `step ${index + 1}`,
            uses: step.uses,
            status: 'ok',
            durationMs: 0,
            summary: options.resume?.summaries[index] ?? 'done before the hand-over',
          }
        : await runStep(step, 'main', index + 1);
    outcomes.push(outcome);
    const values = step.id === undefined ? undefined : scope.steps[step.id]?.outputs;
    await options.onStep?.(outcome, total, values && step.id ? { id: step.id, values } : undefined);
    if (outcome.status !== 'failed') continue;
    if (stoppedBy(context.signal)) {
      status = 'aborted';
      outcomes.push(...notRun(runbook.spec.steps, index + 1, 'not run: the run was aborted'));
      break;
    }
    if (step.onFailure === 'continue') {
      status = 'succeeded-with-failures';
      continue;
    }
    status = 'failed';
    rollback = step.onFailure === 'rollback';
    outcomes.push(...notRun(runbook.spec.steps, index + 1, 'not run: an earlier step failed'));
    break;
  }

  if (rollback) {
    status = 'rolled-back';
    for (const [index, step] of runbook.spec.rollback.entries()) {
      const outcome = await runStep(step, 'rollback', index + 1);
      outcomes.push(outcome);
      await options.onStep?.(outcome, total);
      if (outcome.status === 'failed') {
        status = 'rollback-failed';
        break;
      }
    }
  }
  return {
    runbook: runbook.metadata.name,
    status,
    steps: outcomes,
    durationMs: context.clock.now().getTime() - started,
  };
}

/** The main steps from `from` (0-based) on, reported as not run. */
function notRun(steps: readonly RunbookStep[], from: number, summary: string): StepOutcome[] {
  return steps.slice(from).map((step, rest) => ({
    phase: 'main',
    position: from + rest + 1,
    label: step.name ?? step.id ?? `step ${from + rest + 1}`,
    uses: step.uses,
    status: 'not-run',
    durationMs: 0,
    summary,
  }));
}

/** A `when` holds for true, a non-empty string other than "false", a non-zero number, or an (in)equality. */
export function conditionHolds(condition: StepCondition, scope: TemplateScope): boolean {
  if (typeof condition === 'string') return truthy(render(condition, scope));
  const value = render(condition.value, scope);
  if (condition.equals !== undefined) return String(value) === String(condition.equals);
  if (condition.notEquals !== undefined) return String(value) !== String(condition.notEquals);
  return truthy(value);
}

function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value !== '' && value.toLowerCase() !== 'false' && value !== '0';
  return value !== undefined && value !== null;
}
