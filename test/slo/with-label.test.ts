// Reading one slice of a service's traffic: the track label goes into every series selector of an SLO
// query, wherever the grammar puts one, and the result is still PromQL that Prometheus accepts.
import { checkPromql, withLabel } from '../../src/slo/promql.js';

const canary = (query: string) => withLabel(query, 'track', 'canary');

it('adds the matcher to every selector: with matchers, bare names, ranges, offsets, subqueries, joins', () => {
  const cases: [string, string][] = [
    [
      'sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))',
      'sum(rate(http_requests_total{track="canary", service="checkout",code=~"5.."}[{{window}}]))',
    ],
    [
      'sum(rate(http_requests_total[{{window}}]))',
      'sum(rate(http_requests_total{track="canary"}[{{window}}]))',
    ],
    ['up', 'up{track="canary"}'],
    ['rate(x{}[5m] offset 1h)', 'rate(x{track="canary"}[5m] offset 1h)'],
    ['{"my.metric", a="b"}', '{track="canary", "my.metric", a="b"}'],
    [
      'max_over_time(rate(errors[1m])[{{window}}:1m])',
      'max_over_time(rate(errors{track="canary"}[1m])[{{window}}:1m])',
    ],
    [
      'sum(rate(errors{job="api"}[{{window}}])) / sum(rate(requests{job="api"}[{{window}}]))',
      'sum(rate(errors{track="canary", job="api"}[{{window}}])) / sum(rate(requests{track="canary", job="api"}[{{window}}]))',
    ],
    [
      'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{service="a"}[{{window}}])))',
      'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{track="canary", service="a"}[{{window}}])))',
    ],
  ];
  for (const [query, expected] of cases) {
    const tracked = canary(query);
    expect(tracked).toBe(expected);
    expect(checkPromql(tracked)).toEqual([]);
  }
});

it('quotes the value as a PromQL string', () => {
  expect(withLabel('up', 'track', 'can"ary\\')).toBe('up{track="can\\"ary\\\\"}');
  expect(checkPromql(withLabel('up', 'track', 'can"ary\\'))).toEqual([]);
});

it('refuses a query that already selects on the label, an invalid label name, and a query that does not parse', () => {
  expect(() => canary('sum(rate(x{track="stable"}[5m]))')).toThrow(
    'the query already matches on the label "track" (track="stable"); remove it to compare tracks',
  );
  expect(() => canary('x{"track"=~"c.*"}')).toThrow(/already matches on the label "track"/);
  expect(() => withLabel('up', 'the track', 'canary')).toThrow('"the track" is not a Prometheus label name');
  expect(() => canary('sum(rtae(x[5m]))')).toThrow('the query does not parse: unknown function "rtae"');
});
