// The canary verdict against hand-computed statistics: each expected p-value below was computed
// independently with exact arithmetic (binomial coefficients summed for Fisher's test, the
// complementary error function for the z-test), and the outcome each count pair must get.
import {
  type AnalysisPolicy,
  DEFAULT_ANALYSIS,
  erfc,
  fisherTest,
  judgeSli,
  judgeStep,
  type SliSample,
  upperNormalTail,
  zTest,
} from '../../src/releases/analysis.js';

const policy: AnalysisPolicy = { ...DEFAULT_ANALYSIS, minRequests: 10 };

function sample(canary: [number, number], stable: [number, number], errorBudget = 0.01): SliSample {
  return {
    sli: 'checkout-availability',
    errorBudget,
    canary: { bad: canary[0], total: canary[1] },
    stable: { bad: stable[0], total: stable[1] },
  };
}

describe('the statistics', () => {
  it('erfc matches the exact function across its range', () => {
    const exact: [number, number][] = [
      [-1.5, 1.9661051464753108],
      [0.3, 0.6713732405408726],
      [1, 0.15729920705028513],
      [2.5, 0.0004069520174449589],
      [4.5, 1.9661604415428873e-10],
      [8, 1.1224297172982928e-29],
    ];
    for (const [x, value] of exact) expect(erfc(x) / value).toBeCloseTo(1, 13);
    expect(upperNormalTail(0)).toBe(0.5);
    expect(upperNormalTail(1.959963984540054)).toBeCloseTo(0.025, 12);
  });

  it('z-test: 3.0% of 1,000 against 1.0% of 10,000 with a 0.1-point margin', () => {
    const tested = zTest({ bad: 30, total: 1000 }, { bad: 100, total: 10000 }, 0.001);
    expect(tested.z).toBeCloseTo(3.4637178449471193, 12);
    expect(tested.pValue).toBeCloseTo(0.0002663825072308595, 15);
  });

  it("Fisher's exact test on small counts, to ten significant digits", () => {
    const exact: [[number, number], [number, number], number][] = [
      [[3, 20], [0, 40], 0.03331385154880187],
      [[2, 600], [1, 10000], 0.00923584084633007],
      [[1, 600], [2, 10000], 0.1603949768419739],
      [[4, 200], [1, 2000], 0.00030853634064559413],
      // No bad event on the canary: it could not have done better, so p = 1.
      [[0, 600], [2, 10000], 1],
    ];
    for (const [canary, stable, value] of exact) {
      const { pValue } = fisherTest(
        { bad: canary[0], total: canary[1] },
        { bad: stable[0], total: stable[1] },
      );
      expect(pValue / value).toBeCloseTo(1, 10);
    }
  });
});

describe('one SLI', () => {
  it('a canary with 3× the stable error ratio fails, by the z-test, with the numbers', () => {
    const verdict = judgeSli(sample([30, 1000], [100, 10000], 0.1), policy);
    expect(verdict).toMatchObject({ outcome: 'fail', test: 'z', canaryRatio: 0.03, stableRatio: 0.01 });
    expect(verdict.pValue).toBeCloseTo(0.0002663825072308595, 15);
    expect(verdict.reason).toBe(
      'the canary is worse: canary 30/1000 bad (3.00%) vs stable 100/10000 bad (1.00%), difference +2.00 points (margin +0.100 points), z-test p = 0.000266 < 0.05',
    );
  });

  it('a canary like the stable passes', () => {
    const verdict = judgeSli(sample([10, 1000], [100, 10000]), policy);
    expect(verdict).toMatchObject({ outcome: 'pass', test: 'z', difference: 0 });
    expect(verdict.pValue).toBeGreaterThan(0.5);
  });

  it('few errors on a small share are judged by Fisher beyond the margin: significant and beyond it fails', () => {
    // The margin (0.1 points) tolerates round(0.001 × 600) = 1 of the canary's bad events, so Fisher
    // tests 4/600 against 1/10000: hypergeometric P(X ≥ 4), N = 10600, K = 5, n = 600 (by hand, math.comb).
    const verdict = judgeSli(sample([5, 600], [1, 10000]), policy);
    expect(verdict).toMatchObject({ outcome: 'fail', test: 'fisher' });
    expect(verdict.pValue! / 4.8556817574556924e-5).toBeCloseTo(1, 10);
    // 2/600 is 1/600 beyond what the margin tolerates: P(X ≥ 1) = 1 - (10000/10600)(9999/10599), not
    // enough to abort a canary that may be only as much worse as the policy accepts.
    const unsure = judgeSli(sample([2, 600], [1, 10000]), policy);
    expect(unsure).toMatchObject({ outcome: 'inconclusive', test: 'fisher' });
    expect(unsure.pValue! / 0.11000859817675929).toBeCloseTo(1, 10);
  });

  it('a difference exactly at the margin is within it, whatever the floating point says', () => {
    expect(judgeSli(sample([11, 1000], [10, 1000]), policy).outcome).toBe('pass');
    expect(judgeSli(sample([10, 1000], [9, 1000]), policy).outcome).toBe('pass');
  });

  it('worse beyond the margin but not significant is inconclusive, never a pass', () => {
    const fisher = judgeSli(sample([2, 500], [2, 10000]), policy);
    expect(fisher).toMatchObject({ outcome: 'inconclusive', test: 'fisher' });
    // 2/500 less the round(0.5) = 1 tolerated: P(X ≥ 1), N = 10500, K = 3, n = 500.
    expect(fisher.pValue! / 0.13617474392560958).toBeCloseTo(1, 10);
    const z = judgeSli(sample([12, 1000], [100, 10000]), policy);
    expect(z).toMatchObject({ outcome: 'inconclusive', test: 'z' });
    expect(z.z).toBeCloseTo(0.27900760501393623, 12);
    expect(z.pValue).toBeCloseTo(0.3901194942386922, 12);
  });

  it('significant but within the margin passes: the margin is the tolerated excess', () => {
    // 1.05% against 1.00% on a million requests each is a real difference, and within 0.1 points.
    const verdict = judgeSli(sample([10500, 1_000_000], [10000, 1_000_000]), policy);
    expect(verdict.outcome).toBe('pass');
    expect(
      fisherTest({ bad: 10500, total: 1_000_000 }, { bad: 10000, total: 1_000_000 }).pValue,
    ).toBeLessThan(0.001);
  });

  it('too few requests on either track is not enough traffic to judge', () => {
    const small = judgeSli(sample([5, 100], [100, 10000]), { ...policy, minRequests: 500 });
    expect(small).toMatchObject({ outcome: 'insufficient', test: 'none' });
    expect(small.reason).toBe(
      'not enough traffic to judge: canary 5/100 bad (5.00%) vs stable 100/10000 bad (1.00%); each track needs at least 500 requests',
    );
  });

  it('a canary burning its budget at the abort rate fails even when the stable burns as fast', () => {
    const verdict = judgeSli(sample([20, 1000], [200, 10000], 0.001), policy);
    expect(verdict.canaryBurnRate).toBeCloseTo(20, 9);
    expect(verdict).toMatchObject({ outcome: 'fail', test: 'none' });
    expect(verdict.reason).toMatch(/burns its error budget at 20.0× .* aborts at 14.4×/);
  });

  it('counts that are not a proportion are refused, naming the SLI', () => {
    expect(() => judgeSli(sample([11, 10], [0, 10]), policy)).toThrow(
      'checkout-availability: the canary counts are not a proportion (bad 11 of 10)',
    );
    expect(() => judgeSli(sample([1, 10], [Number.NaN, 10]), policy)).toThrow(/stable counts/);
    expect(() => judgeSli(sample([1, 10], [1, 10], 1), policy)).toThrow(
      'checkout-availability: the error budget must be a ratio between 0 and 1, not 1',
    );
  });
});

describe('a step', () => {
  const good = sample([10, 1000], [100, 10000]);
  const bad = sample([30, 1000], [100, 10000], 0.1);
  const thin = { ...sample([1, 5], [100, 10000]), sli: 'checkout-latency' };

  it('promotes when every SLI passes, aborts when any fails', () => {
    expect(judgeStep([good, { ...good, sli: 'checkout-latency' }], policy, { waited: 0 }).decision).toBe(
      'promote',
    );
    const aborted = judgeStep([good, bad], policy, { waited: 0 });
    expect(aborted.decision).toBe('abort');
    expect(aborted.reason).toMatch(/^checkout-availability: the canary is worse/);
  });

  it('waits while an SLI lacks traffic, then aborts after the allowed intervals', () => {
    const limits = { ...policy, maxWaits: 2 };
    expect(judgeStep([good, thin], limits, { waited: 0 })).toMatchObject({ decision: 'wait' });
    expect(judgeStep([good, thin], limits, { waited: 1 }).reason).toMatch(
      /^waiting \(2 of 2\): checkout-latency: not enough traffic/,
    );
    const gaveUp = judgeStep([good, thin], limits, { waited: 2 });
    expect(gaveUp.decision).toBe('abort');
    expect(gaveUp.reason).toMatch(/^still not judged after 2 extra intervals: checkout-latency/);
  });

  it('a failure aborts at once, even while another SLI waits', () => {
    expect(judgeStep([thin, bad], policy, { waited: 0 }).decision).toBe('abort');
  });

  it('a service without SLIs cannot be judged: abort, never promote', () => {
    expect(judgeStep([], policy, { waited: 0 })).toMatchObject({
      decision: 'abort',
      reason: 'the service has no SLI to judge the canary by',
    });
  });
});
