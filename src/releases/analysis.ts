// The canary verdict: is the new version's share of bad events (errors, slow requests) worse than the
// stable version's beyond a margin, with enough requests to tell? Pure arithmetic on event counts read
// from Prometheus, explained with its numbers like the change gate's rules.
//
// The test is one-sided (only a worse canary matters) and picked by the counts:
// - a two-proportion z-test (Wald, unpooled, shifted by the margin) when every expected cell of the
//   2x2 table is at least 5 (Cochran's rule), where the normal approximation holds;
// - Fisher's exact test when any expected cell is under 5, the usual case for a small canary share and
//   a healthy service (a handful of errors), where the z-test's p-values are not trustworthy.
// A canary passes only when its observed excess stays within the margin and it is not significantly
// worse; an excess beyond the margin that the counts cannot yet confirm is "inconclusive" (wait for
// more traffic), never a pass.

/** Bad and total events of one track over the analysis interval. */
export interface EventCounts {
  bad: number;
  total: number;
}

/** One SLI of the service compared across the two tracks. */
export interface SliSample {
  /** The SLO it comes from (`checkout-availability`). */
  sli: string;
  /** The SLO's allowed bad ratio (0.001 for 99.9%): the canary's burn rate is its bad ratio over this. */
  errorBudget: number;
  canary: EventCounts;
  stable: EventCounts;
}

export interface AnalysisPolicy {
  /** How much higher (absolute, as a fraction of requests) the canary's bad ratio may be: 0.001 = 0.1 points. */
  margin: number;
  /** Fewer events than this on either track is not enough traffic to judge. */
  minRequests: number;
  /** One-sided significance level of the test (0.05). */
  alpha: number;
  /** A canary burning its error budget at least this fast aborts whatever the stable does (14.4). */
  maxBurnRate: number;
  /** How many intervals in a row may end "wait" before the release aborts for lack of traffic. */
  maxWaits: number;
}

export const DEFAULT_ANALYSIS: AnalysisPolicy = {
  margin: 0.001,
  minRequests: 500,
  alpha: 0.05,
  maxBurnRate: 14.4,
  maxWaits: 3,
};

export type SliOutcome = 'pass' | 'fail' | 'inconclusive' | 'insufficient';

export interface SliVerdict {
  sli: string;
  outcome: SliOutcome;
  /** Which test decided: `none` when the counts were too small to run one. */
  test: 'z' | 'fisher' | 'none';
  /** The counts judged. */
  canary: EventCounts;
  stable: EventCounts;
  canaryRatio: number;
  stableRatio: number;
  /** Canary ratio minus stable ratio. */
  difference: number;
  /** One-sided p-value that the canary is not worse (beyond the margin, for the z-test). */
  pValue?: number;
  /** The z statistic, for the z-test. */
  z?: number;
  canaryBurnRate: number;
  /** One line with the numbers: why this outcome. */
  reason: string;
}

export type StepDecision = 'promote' | 'abort' | 'wait';

export interface StepVerdict {
  decision: StepDecision;
  slis: SliVerdict[];
  reason: string;
}

/**
 * Judges one SLI of a canary step.
 *
 * @example
 * judgeSli({ sli: 'checkout-availability', errorBudget: 0.001,
 *   canary: { bad: 30, total: 1000 }, stable: { bad: 100, total: 10000 } }, DEFAULT_ANALYSIS);
 * // { outcome: 'fail', test: 'z', pValue: 0.000266..., ... }
 */
export function judgeSli(sample: SliSample, policy: AnalysisPolicy): SliVerdict {
  checkCounts(sample);
  const { canary, stable } = sample;
  const canaryRatio = ratio(canary);
  const stableRatio = ratio(stable);
  const difference = canaryRatio - stableRatio;
  const canaryBurnRate = canaryRatio / sample.errorBudget;
  const base = { sli: sample.sli, canary, stable, canaryRatio, stableRatio, difference, canaryBurnRate };
  const observed = `canary ${describe(canary)} vs stable ${describe(stable)}`;
  if (canary.total < policy.minRequests || stable.total < policy.minRequests) {
    return {
      ...base,
      outcome: 'insufficient',
      test: 'none',
      reason: `not enough traffic to judge: ${observed}; each track needs at least ${policy.minRequests} requests`,
    };
  }
  if (canaryBurnRate >= policy.maxBurnRate) {
    return {
      ...base,
      outcome: 'fail',
      test: 'none',
      reason: `the canary burns its error budget at ${formatRate(canaryBurnRate)}× (${observed}); the policy aborts at ${formatRate(policy.maxBurnRate)}×`,
    };
  }
  const tested =
    smallestExpectedCell(canary, stable) < 5
      ? fisherTest(canary, stable, policy.margin)
      : zTest(canary, stable, policy.margin);
  const significant = tested.pValue < policy.alpha;
  // A difference equal to the margin is within it: 11/1000 - 10/1000 is 0.0010000000000000009 in floats.
  const beyondMargin = difference > policy.margin + 1e-12;
  const numbers = `${observed}, difference ${formatPoints(difference)} (margin ${formatPoints(policy.margin)}), ${testName(tested)} p = ${formatP(tested.pValue)}`;
  if (significant && beyondMargin) {
    return {
      ...base,
      ...tested,
      outcome: 'fail',
      reason: `the canary is worse: ${numbers} < ${policy.alpha}`,
    };
  }
  if (beyondMargin) {
    return {
      ...base,
      ...tested,
      outcome: 'inconclusive',
      reason: `the canary looks worse but the counts cannot confirm it yet: ${numbers} ≥ ${policy.alpha}`,
    };
  }
  return { ...base, ...tested, outcome: 'pass', reason: `the canary is not worse: ${numbers}` };
}

/**
 * Judges a step from every SLI: any failure aborts; otherwise anything not yet judged waits (up to
 * `policy.maxWaits` intervals in a row, counting this one, then aborts); otherwise the step promotes.
 *
 * @example
 * judgeStep(samples, DEFAULT_ANALYSIS, { waited: 0 }).decision; // 'promote' | 'abort' | 'wait'
 */
export function judgeStep(
  samples: readonly SliSample[],
  policy: AnalysisPolicy,
  progress: { waited: number },
): StepVerdict {
  if (samples.length === 0) {
    return { decision: 'abort', slis: [], reason: 'the service has no SLI to judge the canary by' };
  }
  const slis = samples.map((sample) => judgeSli(sample, policy));
  const failed = slis.filter((verdict) => verdict.outcome === 'fail');
  if (failed.length > 0) {
    return {
      decision: 'abort',
      slis,
      reason: failed.map((verdict) => `${verdict.sli}: ${verdict.reason}`).join('; '),
    };
  }
  const pending = slis.filter(
    (verdict) => verdict.outcome === 'insufficient' || verdict.outcome === 'inconclusive',
  );
  if (pending.length > 0) {
    const why = pending.map((verdict) => `${verdict.sli}: ${verdict.reason}`).join('; ');
    const waits = progress.waited + 1;
    if (waits > policy.maxWaits) {
      return {
        decision: 'abort',
        slis,
        reason: `still not judged after ${policy.maxWaits} extra interval${policy.maxWaits === 1 ? '' : 's'}: ${why}`,
      };
    }
    return { decision: 'wait', slis, reason: `waiting (${waits} of ${policy.maxWaits}): ${why}` };
  }
  return {
    decision: 'promote',
    slis,
    reason: slis.map((verdict) => `${verdict.sli}: ${verdict.reason}`).join('; '),
  };
}

/**
 * One-sided two-proportion z-test of "the canary's ratio exceeds the stable's by more than `margin`",
 * with the unpooled (Wald) standard error, which stays right when the margin is not zero.
 */
export function zTest(
  canary: EventCounts,
  stable: EventCounts,
  margin: number,
): { test: 'z'; z: number; pValue: number } {
  const pc = ratio(canary);
  const ps = ratio(stable);
  const se = Math.sqrt((pc * (1 - pc)) / canary.total + (ps * (1 - ps)) / stable.total);
  const excess = pc - ps - margin;
  // No variance at all (no bad events on either side, or all bad): the sign of the excess decides.
  const z = se === 0 ? (excess > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : excess / se;
  return { test: 'z', z, pValue: upperNormalTail(z) };
}

/**
 * One-sided Fisher's exact test of "the canary's ratio exceeds the stable's by more than `margin`":
 * the canary's bad events less those the margin tolerates (margin × its requests, rounded) are tested
 * against the stable's, the probability, with the table's margins fixed, of the canary having at least
 * as many bad events as it had. Without the shift, a canary exactly `margin` worse (which the policy
 * accepts) would be aborted far more often than alpha at small counts.
 */
export function fisherTest(
  canary: EventCounts,
  stable: EventCounts,
  margin = 0,
): { test: 'fisher'; pValue: number } {
  if (margin > 0) {
    const tolerated = Math.round(margin * canary.total);
    return fisherTest({ ...canary, bad: Math.max(0, canary.bad - tolerated) }, stable);
  }
  const bad = canary.bad + stable.bad;
  const total = canary.total + stable.total;
  const denominator = logChoose(total, canary.total);
  let pValue = 0;
  for (let x = canary.bad; x <= Math.min(bad, canary.total); x++) {
    pValue += Math.exp(logChoose(bad, x) + logChoose(total - bad, canary.total - x) - denominator);
  }
  return { test: 'fisher', pValue: Math.min(1, pValue) };
}

/** P(Z > z) for a standard normal Z. */
export function upperNormalTail(z: number): number {
  if (z === Number.POSITIVE_INFINITY) return 0;
  if (z === Number.NEGATIVE_INFINITY) return 1;
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * The complementary error function, from W. J. Cody's rational Chebyshev approximations (Mathematics
 * of Computation 23, 1969): relative error below 1e-15 over the whole real line.
 */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  let result: number;
  if (ax < 0.5) {
    const t = x * x;
    const top =
      (((0.18577770618460315 * t + 3.1611237438705655) * t + 113.86415415105016) * t + 377.485237685302) * t +
      3209.3775891384694;
    const bottom =
      (((t + 23.601290952344122) * t + 244.02463793444417) * t + 1282.6165260773723) * t + 2844.236833439171;
    return 1 - (x * top) / bottom;
  }
  if (ax < 4) {
    const top =
      ((((((0.5641884969886701 * ax + 8.883149794388377) * ax + 66.11919063714163) * ax + 298.6351381974001) *
        ax +
        881.952221241769) *
        ax +
        1712.0476126340707) *
        ax +
        2051.0783778260716) *
        ax +
      1230.3393547979972 +
      2.1531153547440383e-8 * ax ** 8;
    const bottom =
      (((((((ax + 15.744926110709835) * ax + 117.6939508913125) * ax + 537.1811018620099) * ax +
        1621.3895745666903) *
        ax +
        3290.7992357334597) *
        ax +
        4362.619090143247) *
        ax +
        3439.3676741437216) *
        ax +
      1230.3393548037495;
    result = Math.exp(-ax * ax) * (top / bottom);
  } else {
    const z = 1 / (ax * ax);
    const top =
      ((((0.016315387137302097 * z + 0.30532663496123236) * z + 0.36034489994980445) * z +
        0.12578172611122926) *
        z +
        0.016083785148742275) *
        z +
      0.0006587491615298378;
    const bottom =
      ((((z + 2.568520192289822) * z + 1.8729528499234673) * z + 0.5279051029514285) * z +
        0.06051834131244132) *
        z +
      0.0023352049762686918;
    result = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bottom);
  }
  return x < 0 ? 2 - result : result;
}

/** ln C(n, k), through ln Γ. */
function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

// Lanczos approximation (g = 7, nine coefficients): ln Γ to about 15 significant digits for x > 0.
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
  12.507343278686905, -0.13857109526572012, 0.000009984369578019572, 1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The smallest expected count of the 2x2 table (bad/good by canary/stable) if both tracks were alike. */
function smallestExpectedCell(canary: EventCounts, stable: EventCounts): number {
  const total = canary.total + stable.total;
  const bad = canary.bad + stable.bad;
  return (Math.min(canary.total, stable.total) * Math.min(bad, total - bad)) / total;
}

function checkCounts(sample: SliSample): void {
  for (const [track, counts] of [
    ['canary', sample.canary],
    ['stable', sample.stable],
  ] as const) {
    const { bad, total } = counts;
    if (!(Number.isFinite(bad) && Number.isFinite(total) && bad >= 0 && total >= 0 && bad <= total)) {
      throw new RangeError(
        `${sample.sli}: the ${track} counts are not a proportion (bad ${bad} of ${total})`,
      );
    }
  }
  if (!(sample.errorBudget > 0 && sample.errorBudget < 1)) {
    throw new RangeError(
      `${sample.sli}: the error budget must be a ratio between 0 and 1, not ${sample.errorBudget}`,
    );
  }
}

const ratio = (counts: EventCounts) => (counts.total === 0 ? 0 : counts.bad / counts.total);
const describe = (counts: EventCounts) =>
  `${counts.bad}/${counts.total} bad (${formatPercent(ratio(counts))})`;
const testName = (tested: { test: 'z' | 'fisher' }) => (tested.test === 'z' ? 'z-test' : "Fisher's exact");
const formatPercent = (value: number) => `${(value * 100).toPrecision(3)}%`;
const formatPoints = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toPrecision(3)} points`;
const formatRate = (value: number) => value.toPrecision(3);
const formatP = (value: number) => (value < 1e-4 ? value.toExponential(2) : value.toPrecision(3));
