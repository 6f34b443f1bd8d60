// How a release moves: its steps as typed, the canary's pods for a share, and the next state and
// action for each thing that can happen — one action at a time, none after the release is over.
import type { StepVerdict } from '../../src/releases/analysis.js';
import { canaryReplicas, decide, parseSteps, type ReleasePlan, startPlan } from '../../src/releases/plan.js';

const verdict = (decision: StepVerdict['decision']): StepVerdict => ({
  decision,
  slis: [],
  reason: `judged ${decision}`,
});

describe('steps', () => {
  it('reads the shares as typed', () => {
    expect(parseSteps('5,25,50,100')).toEqual([5, 25, 50, 100]);
    expect(parseSteps(' 10, 100 ')).toEqual([10, 100]);
    expect(parseSteps('100')).toEqual([100]);
  });

  it('refuses what is not a rising list of whole percentages ending at 100, saying how to write it', () => {
    expect(() => parseSteps('5,x,100')).toThrow(
      'steps: "x" is not a whole percentage from 1 to 100; write them like steps=5,25,50,100',
    );
    expect(() => parseSteps('0,100')).toThrow('"0" is not a whole percentage');
    expect(() => parseSteps('5,,100')).toThrow('"" is not a whole percentage');
    expect(() => parseSteps('2.5,100')).toThrow('"2.5" is not a whole percentage');
    expect(() => parseSteps('50,25,100')).toThrow(
      'steps: each step must be larger than the one before (50 then 25)',
    );
    expect(() => parseSteps('5,25,50')).toThrow('steps: the last step must be 100');
  });
});

describe("the canary's pods", () => {
  it('gives about the share next to the stable pods, at least one, and says the share reached', () => {
    expect(canaryReplicas(10, 25)).toEqual({ canary: 3, share: 23.1 });
    expect(canaryReplicas(10, 50)).toEqual({ canary: 10, share: 50 });
    expect(canaryReplicas(3, 5)).toEqual({ canary: 1, share: 25 });
    expect(canaryReplicas(19, 5)).toEqual({ canary: 1, share: 5 });
  });

  it('refuses a stable without pods and a share that is not a canary share', () => {
    expect(() => canaryReplicas(0, 5)).toThrow('the stable Deployment has no replicas to share traffic with');
    expect(() => canaryReplicas(4, 100)).toThrow('a canary share is between 0 and 100%, not 100%');
  });
});

describe('a release moving', () => {
  const started = () => startPlan([5, 50, 100]).plan;

  it('starts with the first share, promotes step by step, then hands the stable the image', () => {
    expect(startPlan([5, 50, 100]).action).toEqual({ kind: 'set-canary', share: 5 });
    let { plan, action } = decide(started(), { kind: 'verdict', verdict: verdict('promote') });
    expect([plan.step, plan.state, action]).toEqual([1, 'running', { kind: 'set-canary', share: 50 }]);
    ({ plan, action } = decide(plan, { kind: 'verdict', verdict: verdict('promote') }));
    expect([plan.step, plan.state, action]).toEqual([2, 'promoting', { kind: 'promote' }]);
    // While the stable rolls out, nothing else moves it; then it is over.
    expect(decide(plan, { kind: 'verdict', verdict: verdict('promote') })).toEqual({ plan });
    expect(decide(plan, { kind: 'promote', by: 'ana' })).toEqual({ plan });
    ({ plan, action } = decide(plan, { kind: 'promoted' }));
    expect([plan.state, action]).toEqual(['promoted', undefined]);
    expect(decide(plan, { kind: 'abort', by: 'ana' })).toEqual({ plan });
  });

  it('a straight-to-100 release promotes at once', () => {
    expect(startPlan([100])).toEqual({
      plan: { steps: [100], step: 0, state: 'promoting', waited: 0 },
      action: { kind: 'promote' },
    });
  });

  it('waits count up and reset on the next step', () => {
    let { plan } = decide(started(), { kind: 'verdict', verdict: verdict('wait') });
    ({ plan } = decide(plan, { kind: 'verdict', verdict: verdict('wait') }));
    expect([plan.step, plan.waited]).toEqual([0, 2]);
    ({ plan } = decide(plan, { kind: 'verdict', verdict: verdict('promote') }));
    expect([plan.step, plan.waited]).toEqual([1, 0]);
  });

  it('a failed verdict, a failed canary rollout, a paging budget or a person aborts: the canary goes', () => {
    const cases = [
      [{ kind: 'verdict', verdict: verdict('abort') }, 'judged abort'],
      [
        { kind: 'rollout-failed', reason: 'checkout-canary-7d9 CrashLoopBackOff' },
        "the canary's rollout failed: checkout-canary-7d9 CrashLoopBackOff",
      ],
      [
        { kind: 'budget-page', reason: 'burning 20.8×' },
        'the error budget is burning at page level: burning 20.8×',
      ],
      [{ kind: 'abort', by: 'ana', reason: 'wrong tag' }, 'aborted by ana: wrong tag'],
    ] as const;
    for (const [event, because] of cases) {
      const { plan, action } = decide(started(), event);
      expect([plan.state, plan.because, action]).toEqual(['aborted', because, { kind: 'remove-canary' }]);
    }
  });

  it('a failure while promoting puts the stable back', () => {
    const promoting: ReleasePlan = { steps: [5, 100], step: 1, state: 'promoting', waited: 0 };
    expect(decide(promoting, { kind: 'rollout-failed', reason: 'deadline exceeded' }).action).toEqual({
      kind: 'restore-stable',
    });
  });

  it('a blocked gate pauses: no verdict or promote moves it until the gate clears; an abort still does', () => {
    let { plan } = decide(started(), { kind: 'gate', blocked: 'incident INC-7 is open on checkout' });
    expect([plan.state, plan.because]).toEqual(['paused', 'incident INC-7 is open on checkout']);
    expect(decide(plan, { kind: 'verdict', verdict: verdict('promote') })).toEqual({ plan });
    expect(decide(plan, { kind: 'promote', by: 'ana' })).toEqual({ plan });
    expect(decide(plan, { kind: 'rollout-failed', reason: 'OOMKilled' }).plan.state).toBe('aborted');
    ({ plan } = decide(plan, { kind: 'gate' }));
    expect(plan).toEqual({ steps: [5, 50, 100], step: 0, state: 'running', waited: 0 });
  });

  it('a person promotes a running release to its next step without waiting for the verdict', () => {
    expect(decide(started(), { kind: 'promote', by: 'ana' }).action).toEqual({
      kind: 'set-canary',
      share: 50,
    });
  });
});

describe('the stable changed under the release', () => {
  const why = 'the stable checkout now runs 1.9.9-hotfix, not 1.4.2 as when REL-3 started';
  const running: ReleasePlan = { steps: [5, 25, 100], step: 1, state: 'running', waited: 0 };

  it('pauses a running release with the reason and no action, once', () => {
    const { plan, action } = decide(running, { kind: 'stable-changed', reason: why });
    expect(plan).toEqual({ ...running, state: 'paused', because: why });
    expect(action).toBeUndefined();
    expect(decide(plan, { kind: 'stable-changed', reason: why }).plan).toBe(plan);
    // The stable back on its image, the gate's clear resumes it.
    expect(decide(plan, { kind: 'gate' }).plan.state).toBe('running');
  });

  it('aborts a promotion, and the action puts back only what the release wrote', () => {
    const promoting: ReleasePlan = { ...running, step: 2, state: 'promoting' };
    expect(decide(promoting, { kind: 'stable-changed', reason: why })).toEqual({
      plan: { ...promoting, state: 'aborted', because: why },
      action: { kind: 'restore-stable' },
    });
  });
});
