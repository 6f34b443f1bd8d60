// PromQL for an SLO: the raw error ratio over a window, and the names and selectors of the
// recorded series that `millwright slo rules` writes (Sloth's names and labels).
import { renderQuery, type Slo } from './spec.js';

/** `slo:sli_error:ratio_rate5m`, the recorded error ratio over `window`. */
export function recordedMetric(window: string): string {
  return `slo:sli_error:ratio_rate${window}`;
}

/** Labels every recorded series of an SLO carries; Sloth's, so its Grafana dashboards work as they are. */
export function sloIdentityLabels(slo: Slo): Record<string, string> {
  return { sloth_id: slo.id, sloth_service: slo.service, sloth_slo: slo.name };
}

/** `{sloth_id="checkout-availability", sloth_service="checkout", sloth_slo="availability"}`. */
export function identitySelector(slo: Slo): string {
  const pairs = Object.entries(sloIdentityLabels(slo)).map(
    ([key, value]) => `${key}=${JSON.stringify(value)}`,
  );
  return `{${pairs.join(', ')}}`;
}

/** The recorded error ratio of one SLO over `window`. */
export function recordedQuery(slo: Slo, window: string): string {
  return `${recordedMetric(window)}${identitySelector(slo)}`;
}

/**
 * The error ratio over `window` from the raw SLI queries: bad events ÷ all events. Both sides are
 * summed to one series; 0/0 (no traffic) comes back as NaN and a missing series as no result.
 *
 * @example
 * errorRatioQuery(slo, '5m') // '(sum(sum(rate(http_requests_total{code=~"5.."}[5m])))) / (sum(sum(rate(http_requests_total[5m]))))'
 */
export function errorRatioQuery(slo: Slo, window: string): string {
  return `(sum(${renderQuery(slo.errorQuery, window)})) / (sum(${renderQuery(slo.totalQuery, window)}))`;
}
