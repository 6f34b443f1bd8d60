// The delivery figures `change stats` and the digests print: the change failure rate counts only the
// deliveries verification judged, and a budget cost that is floating-point noise is no cost.
import {
  budgetCost,
  type ChangeRequest,
  deliveryStats,
  formatBudgetCost,
  formatFailureRate,
} from '../../src/changes/index.js';

const snapshot = (remainingPercent: number) => ({
  slo: 'ledger-availability',
  burnState: 'ok' as const,
  burnRates: {},
  remainingPercent,
});

/** A pipeline's delivery of ledger that ran, in `state`, with the budget left before and after it. */
const delivery = (id: string, state: ChangeRequest['state'], before = 62.4, after = 62.4): ChangeRequest =>
  ({
    id,
    kind: 'deployment',
    delivery: { pipeline: 'ci', version: id },
    service: 'ledger',
    services: ['ledger'],
    state,
    execution: { startedAt: '2026-12-04T10:00:00.000Z' },
    verification: {
      startedAt: '2026-12-04T10:00:00.000Z',
      until: '2026-12-04T10:15:00.000Z',
      nextSampleAt: '2026-12-04T10:01:00.000Z',
      samples: [],
      baseline: [snapshot(before)],
      after: [snapshot(after)],
    },
  }) as unknown as ChangeRequest;

describe('delivery figures', () => {
  it('leaves deliveries still in verification out of the change failure rate', () => {
    const [ledger] = deliveryStats([
      delivery('CR-1', 'failed'),
      delivery('CR-2', 'succeeded'),
      delivery('CR-3', 'verifying'),
      delivery('CR-4', 'verifying'),
    ]);
    expect(ledger).toMatchObject({ delivered: 4, verified: 2, failed: 1 });
    expect(formatFailureRate(ledger!)).toBe('50.0% (1 of 2), 2 in verification');
    const [fresh] = deliveryStats([delivery('CR-5', 'verifying')]);
    expect(formatFailureRate(fresh!)).toBe('none verified yet (1 in verification)');
  });

  it('reads a budget cost that is floating-point noise as 0, and keeps a small real one', () => {
    // 0.1 + 0.2 left after, 0.3 before: the same reading, off by 5.6e-17 in floating point.
    const noise = delivery('CR-6', 'succeeded', 0.3, 0.1 + 0.2);
    expect(budgetCost(noise)).toBe(0);
    const [figures] = deliveryStats([noise]);
    expect(formatBudgetCost(figures!)).toBe('0.00 pp of the budget');
    expect(budgetCost(delivery('CR-7', 'succeeded', 62.4, 62.399))).toBeCloseTo(0.001, 9);
  });
});
