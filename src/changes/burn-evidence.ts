// The numbers behind a burn state and behind a verification verdict: the pair of windows a
// multiwindow rule compares, and each SLO's burn before and after a change.
import { parseDuration } from '../core/duration.js';
import type { BurnSnapshot, SloStatus } from './types.js';

type Rule = NonNullable<SloStatus['burnRules']>[number];

const rate = (value: number | undefined) => (value === undefined ? '?' : `${value.toFixed(1)}×`);

/** `1h 20.8× > 14.4 and 5m 40.0× > 14.4`: one rule's two windows with their rates and its factor. */
function pairOf(rule: Rule, rates: Record<string, number>): string {
  const side = (window: string) => {
    const value = rates[window];
    const above = value !== undefined && value > rule.factor;
    return `${window} ${rate(value)} ${above ? '>' : '≤'} ${rule.factor}`;
  };
  return `${side(rule.long)} and ${side(rule.short)}`;
}

function ratesOf(status: SloStatus): Record<string, number> {
  return (
    status.burnRates ?? {
      ...(status.burnRate5m !== undefined ? { '5m': status.burnRate5m } : {}),
      ...(status.burnRate1h !== undefined ? { '1h': status.burnRate1h } : {}),
    }
  );
}

/** The rule that decides the state: the one that fired for page or ticket, else the first page rule. */
function decidingRule(
  status: SloStatus,
  rates: Record<string, number>,
): { rule: Rule; fired: boolean } | undefined {
  const rules = status.burnRules ?? [];
  const both = (rule: Rule) =>
    [rule.long, rule.short].every((w) => rates[w] !== undefined && rates[w] > rule.factor);
  if (status.burnState === 'page' || status.burnState === 'ticket') {
    const fired = rules.find((rule) => rule.severity === status.burnState && both(rule));
    if (fired) return { rule: fired, fired: true };
  }
  const page = rules.find((rule) => rule.severity === 'page');
  return page ? { rule: page, fired: false } : undefined;
}

/**
 * The burn state with the pair of windows that decides it: the rule that fired for page or ticket,
 * else the first page rule, showing why it does not fire.
 *
 * @example
 * burnEvidence(status) // 'page: 1h 20.8× > 14.4 and 5m 40.0× > 14.4'
 */
export function burnEvidence(status: SloStatus): string {
  const rates = ratesOf(status);
  const deciding = decidingRule(status, rates);
  if (deciding?.fired) return `${status.burnState}: ${pairOf(deciding.rule, rates)}`;
  if (deciding) return `${status.burnState} (${pairOf(deciding.rule, rates)})`;
  return `${status.burnState}${status.burnRate1h === undefined ? '' : `, 1h burn ${rate(status.burnRate1h)}`}`;
}

/**
 * The numbers behind `burnEvidence`: each window's burn rate and the deciding rule's factor.
 *
 * @example
 * burnNumbers(status) // { burnRate1h: 20.8, burnRate5m: 40, factor: 14.4 }
 */
export function burnNumbers(status: SloStatus): Record<string, number> {
  const rates = ratesOf(status);
  const numbers: Record<string, number> = {};
  for (const [window, value] of Object.entries(rates)) numbers[`burnRate${window}`] = value;
  const deciding = decidingRule(status, rates);
  if (deciding) numbers.factor = deciding.rule.factor;
  return numbers;
}

export function snapshotOf(status: SloStatus): BurnSnapshot {
  return {
    slo: status.slo,
    burnState: status.burnState,
    burnRates: status.burnRates ?? (status.burnRate5m !== undefined ? { '5m': status.burnRate5m } : {}),
    ...(status.events5m !== undefined ? { events5m: status.events5m } : {}),
    ...(status.remainingPercent !== undefined ? { remainingPercent: status.remainingPercent } : {}),
  };
}

const RANK: Record<string, number> = { page: 2, ticket: 1 };

export interface BurnVerdict {
  regressed: boolean;
  /** Per SLO: the state and every window before → after, and what made it a regression. */
  lines: string[];
}

/**
 * Judges burn after a change against the same SLOs before it: worse means a state that was not
 * there before (ok → ticket → page), or the short window's burn above `tolerance` times its
 * baseline (and above 1×) on at least `minEvents` events (an unknown count is judged), or requests that
 * stopped (events measured before, none after). A page that was already firing is not the change's fault. An SLO with
 * no baseline is judged as if it had been fine, so an unknown "before" never excuses a page.
 *
 * @example
 * judgeBurn(before, after, 2, 100).regressed // false when page 20.8× stayed at 21×
 */
export function judgeBurn(
  before: readonly BurnSnapshot[],
  after: readonly BurnSnapshot[],
  tolerance: number,
  minEvents = 0,
): BurnVerdict {
  const shortWindow = '5m';
  let regressed = false;
  const lines = after.map((now) => {
    const was = before.find((b) => b.slo === now.slo) ?? { slo: now.slo, burnState: 'ok', burnRates: {} };
    const why: string[] = [];
    if ((RANK[now.burnState] ?? 0) > (RANK[was.burnState] ?? 0))
      why.push(`${now.burnState} was not firing before`);
    const limit = Math.max(1, (was.burnRates[shortWindow] ?? 0) * tolerance);
    const short = now.burnRates[shortWindow];
    // Traffic that stopped is the worst regression a change can cause, and reads as no burn at all:
    // a service that served requests before and has none measured after has not passed.
    const hadTraffic = was.events5m !== undefined && was.events5m >= Math.max(1, minEvents);
    const noTraffic = now.events5m === 0 || (now.events5m === undefined && short === undefined);
    if (hadTraffic && noTraffic)
      why.push(
        `no requests measured in ${shortWindow} after the change (${Math.round(was.events5m!)} before)`,
      );
    const tooFew = !noTraffic && now.events5m !== undefined && now.events5m < minEvents;
    if (short !== undefined && short > limit && !tooFew)
      why.push(
        `${shortWindow} ${rate(short)} > ${limit.toFixed(1)}× (${rate(was.burnRates[shortWindow] ?? 0)} before × ${tolerance})`,
      );
    const quiet = tooFew
      ? `; only ${Math.round(now.events5m!)} events in 5m, fewer than ${minEvents}: rates not judged`
      : '';
    if (why.length) regressed = true;
    const windows = [...new Set([...Object.keys(was.burnRates), ...Object.keys(now.burnRates)])].sort(
      (a, b) => parseDuration(a) - parseDuration(b),
    );
    const rates = windows.map((w) => `${w} ${rate(was.burnRates[w])} → ${rate(now.burnRates[w])}`).join(', ');
    return `${now.slo}: ${was.burnState} → ${now.burnState}${rates ? ` (${rates})` : ''}${quiet}${why.length ? `: worse, ${why.join('; ')}` : ''}`;
  });
  return { regressed, lines };
}
