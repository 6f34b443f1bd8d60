// Backfilled HTTP traffic for one service and its availability SLO, as the end-to-end tests against a
// real Prometheus use them: counters of good and bad requests, and the SLO that reads them.
import type { SeriesFixture } from '../doubles/prometheus.js';

/**
 * Cumulative `http_requests_total` counters for one service from `start`: `perMinute` requests each
 * minute, `errorsPerMinute(t)` of them failing in the minute ending at t.
 *
 * @example
 * traffic('cart', start, (t) => (t > changeAt ? 600 : 3)) // 10% failing after the change
 * traffic('cart', start, () => 18, 600, { track: 'canary' }) // a release's canary pods, 3% failing
 */
export function traffic(
  name: string,
  start: number,
  errorsPerMinute: (t: number) => number,
  perMinute = 6000,
  labels: Record<string, string> = {},
): SeriesFixture[] {
  const total = (countPerMinute: (t: number) => number) => {
    let sum = 0;
    let last = start;
    return (t: number) => {
      for (; last < t; last += 60) sum += countPerMinute(last + 60);
      return sum;
    };
  };
  return [
    {
      family: 'http_requests',
      type: 'counter',
      labels: { service: name, ...labels, code: '200' },
      value: total((t) => perMinute - errorsPerMinute(t)),
    },
    {
      family: 'http_requests',
      type: 'counter',
      labels: { service: name, ...labels, code: '500' },
      value: total(errorsPerMinute),
    },
  ];
}

/** The 99.9% availability SLO over 30 days on those counters, as a `slos:` list entry. */
export const availabilitySlo = (name: string) => availabilitySloAt(name, 99.9);

/** The availability SLO with another objective (in percent) over 30 days on those counters. */
export const availabilitySloAt = (name: string, objective: number) => `
  - service: ${name}
    name: availability
    objective: ${objective}
    window: 30d
    sli:
      events:
        errorQuery: sum(rate(http_requests_total{service="${name}",code=~"5.."}[{{window}}]))
        totalQuery: sum(rate(http_requests_total{service="${name}"}[{{window}}]))`;
