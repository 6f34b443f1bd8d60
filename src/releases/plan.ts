// A release's plan and how it moves: the traffic steps, the canary's replica count for a step's share,
// and one pure function that takes what just happened (a verdict, the gate, the canary's rollout, a
// person's promote or abort) and says the release's next state and the one action to take. The
// controller records the action before it acts, so a restart resumes without repeating it.
import type { StepVerdict } from './analysis.js';

/** `release start ... steps=5,25,50,100`: the canary's traffic share at each step, in percent. */
export function parseSteps(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const steps = parts.map(Number);
  const bad = parts.find(
    (part, i) => part === '' || !Number.isInteger(steps[i]) || steps[i]! < 1 || steps[i]! > 100,
  );
  if (bad !== undefined) {
    throw new RangeError(
      `steps: "${bad}" is not a whole percentage from 1 to 100; write them like steps=5,25,50,100`,
    );
  }
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) {
      throw new RangeError(
        `steps: each step must be larger than the one before (${steps[i - 1]} then ${steps[i]})`,
      );
    }
  }
  if (steps.at(-1) !== 100) {
    throw new RangeError(
      `steps: the last step must be 100 (the canary takes all traffic before it becomes stable)`,
    );
  }
  return steps;
}

/**
 * How many canary pods give it about `share` percent of the traffic next to `stable` pods, which keep
 * their count until promotion (capacity never drops during a release). Traffic follows the pod count
 * when the Service selects both tracks and spreads requests evenly; the share actually reached is
 * returned, since whole pods rarely hit it exactly. 100% is promotion, not a replica count.
 *
 * @example
 * canaryReplicas(10, 25) // { canary: 3, share: 23.1 }
 */
export function canaryReplicas(stable: number, share: number): { canary: number; share: number } {
  if (!(Number.isInteger(stable) && stable >= 1))
    throw new RangeError('the stable Deployment has no replicas to share traffic with');
  if (!(share > 0 && share < 100))
    throw new RangeError(`a canary share is between 0 and 100%, not ${share}%`);
  const canary = Math.max(1, Math.round((stable * share) / (100 - share)));
  return { canary, share: Math.round((1000 * canary) / (stable + canary)) / 10 };
}

/**
 * running: the canary has a step's share and is judged each interval; paused: the gate is blocked
 * (a freeze, an open incident) or the stable changed under the release, nothing moves; promoting: the stable takes the canary's image;
 * promoted and aborted are final.
 */
export type ReleaseState = 'running' | 'paused' | 'promoting' | 'promoted' | 'aborted';

/** What the controller keeps of a release between intervals (and across restarts). */
export interface ReleasePlan {
  steps: readonly number[];
  /** Index into steps of the share the canary has now. */
  step: number;
  state: ReleaseState;
  /** Intervals in a row this step ended "wait". */
  waited: number;
  /** Why it is paused or aborted, for `release status`. */
  because?: string;
}

/** What just happened to a release. */
export type ReleaseEvent =
  | { kind: 'verdict'; verdict: StepVerdict }
  /** The change gate re-checked before the step: clear, or blocked (a freeze, an open incident). */
  | { kind: 'gate'; blocked?: string }
  /** The canary's pods failed their rollout (crash loop, image pull, deadline): abort without waiting. */
  | { kind: 'rollout-failed'; reason: string }
  /** The service's budget state reached `page`. */
  | { kind: 'budget-page'; reason: string }
  /**
   * The stable no longer runs the image the release started from (someone deployed during it): a
   * running release pauses (the canary would be judged against another baseline), a promotion aborts.
   */
  | { kind: 'stable-changed'; reason: string }
  | { kind: 'promote'; by: string }
  | { kind: 'abort'; by: string; reason?: string }
  /** The stable Deployment finished rolling out the canary's image. */
  | { kind: 'promoted' };

/** The one thing the controller does to the cluster next. */
export type ReleaseAction =
  | { kind: 'set-canary'; share: number }
  /** 100%: the stable Deployment takes the canary's image, then the canary goes. */
  | { kind: 'promote' }
  /** The canary scales to zero and goes; the stable keeps serving. */
  | { kind: 'remove-canary' }
  /**
   * Promotion failed: the stable goes back to the image it had (only while it still runs the release's
   * image, so a hotfix deployed meanwhile is never rolled back), and the canary goes.
   */
  | { kind: 'restore-stable' };

/**
 * A release's first plan, once the gate let it start: the canary takes the first step's share.
 *
 * @example
 * startPlan([5, 25, 50, 100]) // { plan: { step: 0, state: 'running', ... }, action: { kind: 'set-canary', share: 5 } }
 */
export function startPlan(steps: readonly number[]): { plan: ReleasePlan; action: ReleaseAction } {
  const plan: ReleasePlan = { steps, step: 0, state: steps[0] === 100 ? 'promoting' : 'running', waited: 0 };
  return { plan, action: steps[0] === 100 ? { kind: 'promote' } : { kind: 'set-canary', share: steps[0]! } };
}

/**
 * The release's next plan and action after `event`. Final releases (promoted, aborted) do not move.
 *
 * @example
 * const { plan: next, action } = decide(plan, { kind: 'verdict', verdict });
 * if (action) await controller.act(action); // recorded first, so it is never repeated
 */
export function decide(
  plan: ReleasePlan,
  event: ReleaseEvent,
): { plan: ReleasePlan; action?: ReleaseAction } {
  if (plan.state === 'promoted' || plan.state === 'aborted') return { plan };
  const abort = (because: string): { plan: ReleasePlan; action: ReleaseAction } => ({
    plan: { ...plan, state: 'aborted', because },
    action: plan.state === 'promoting' ? { kind: 'restore-stable' } : { kind: 'remove-canary' },
  });
  const forward = (): { plan: ReleasePlan; action?: ReleaseAction } => {
    if (plan.state === 'promoting') return { plan };
    const step = Math.min(plan.step + 1, plan.steps.length - 1);
    const share = plan.steps[step]!;
    const next: ReleasePlan = {
      steps: plan.steps,
      step,
      state: share >= 100 ? 'promoting' : 'running',
      waited: 0,
    };
    return { plan: next, action: share >= 100 ? { kind: 'promote' } : { kind: 'set-canary', share } };
  };
  switch (event.kind) {
    case 'rollout-failed':
      return abort(`the canary's rollout failed: ${event.reason}`);
    case 'budget-page':
      return abort(`the error budget is burning at page level: ${event.reason}`);
    case 'stable-changed':
      if (plan.state === 'promoting') return abort(event.reason);
      // Paused until the stable runs the release's stable image again, or a person aborts.
      if (plan.state === 'paused' && plan.because === event.reason) return { plan };
      return { plan: { ...plan, state: 'paused', because: event.reason } };
    case 'abort':
      return abort(`aborted by ${event.by}${event.reason ? `: ${event.reason}` : ''}`);
    case 'promote':
      // A person may hurry a release along, not past a freeze or an incident.
      return plan.state === 'paused' ? { plan } : forward();
    case 'promoted':
      return plan.state === 'promoting'
        ? { plan: { steps: plan.steps, step: plan.step, state: 'promoted', waited: 0 } }
        : { plan };
    case 'gate':
      // Promotion is under way: the stable rollout finishes on its own.
      if (plan.state === 'promoting') return { plan };
      if (event.blocked) {
        // Still blocked for the same reason: nothing new to record.
        if (plan.state === 'paused' && plan.because === event.blocked) return { plan };
        return { plan: { ...plan, state: 'paused', because: event.blocked } };
      }
      if (plan.state === 'paused') {
        const resumed = { ...plan, state: 'running' as const };
        delete resumed.because;
        return { plan: resumed };
      }
      return { plan };
    case 'verdict': {
      // A paused release is not judged (its interval starts again once the gate clears), nor one
      // already promoting.
      if (plan.state !== 'running') return { plan };
      const { verdict } = event;
      if (verdict.decision === 'abort') return abort(verdict.reason);
      if (verdict.decision === 'wait') return { plan: { ...plan, waited: plan.waited + 1 } };
      return forward();
    }
  }
}
