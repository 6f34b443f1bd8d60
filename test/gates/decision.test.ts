// What a pipeline is told about a change the gate could not decide: why it was refused comes from
// the change's own timeline, not from an assumption about policy.whenUnknown.
import type { ChangeRequest } from '../../src/changes/index.js';
import { decisionOf } from '../../src/gates/decision.js';

const unknownRule = {
  kind: 'error-budget',
  status: 'unknown',
  evidence: 'error budget orders: orders has no SLOs; add one under slos:',
};

function deniedBySystem(detail: string): ChangeRequest {
  return {
    id: 'CR-7',
    state: 'denied',
    approvals: [{ by: 'dee', at: '2026-12-04T10:00:00Z' }],
    evaluations: [{ decision: 'unknown', rules: [unknownRule, { ...unknownRule, kind: 'burn-state' }] }],
    timeline: [
      { at: '2026-12-04T09:00:00Z', event: 'requested', by: 'ana' },
      { at: '2026-12-04T10:00:01Z', event: 'denied', by: 'millwright', detail },
    ],
  } as unknown as ChangeRequest;
}

describe('the reason a pipeline reads for an undecidable change that was refused', () => {
  it('names policy.whenUnknown only when that is what refused it', () => {
    const refusedAtRequest = decisionOf(
      deniedBySystem('the gate could not decide and policy.whenUnknown is deny'),
    );
    expect(refusedAtRequest.decision).toBe('unknown');
    expect(refusedAtRequest.reason).toBe(
      'the gate could not decide (error budget orders: orders has no SLOs; add one under slos:); policy.whenUnknown is deny',
    );
  });

  it('says the change was stopped at execution when an approval met a gate that still could not read', () => {
    const stopped = decisionOf(deniedBySystem('stopped at execution: the gate now says unknown'));
    expect(stopped.decision).toBe('unknown');
    expect(stopped.reason).toContain('stopped at execution: the gate now says unknown');
    expect(stopped.reason).not.toContain('whenUnknown');
  });
});
