import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../src/server/index.js';

describe('metrics', () => {
  test('a finished command shows up as a count, a duration and, when it failed, its error code', async () => {
    const metrics = createMetrics();

    metrics.observeCommand({ verb: 'deploys', outcome: 'ok', seconds: 0.2 });
    metrics.observeCommand({
      verb: 'budget',
      outcome: 'error',
      seconds: 3,
      code: 'millwright_prometheus_unavailable',
    });
    metrics.observeCommand({
      verb: 'change',
      outcome: 'denied',
      seconds: 0.01,
      code: 'millwright_permission_denied',
    });

    const text = await metrics.registry.metrics();
    expect(text).toContain('millwright_commands_total{verb="deploys",outcome="ok"} 1');
    expect(text).toContain('millwright_commands_total{verb="budget",outcome="error"} 1');
    expect(text).toContain('millwright_commands_total{verb="change",outcome="denied"} 1');
    expect(text).toContain('millwright_command_duration_seconds_bucket{le="0.25",verb="deploys"} 1');
    expect(text).toContain('millwright_command_duration_seconds_bucket{le="30",verb="budget"} 1');
    expect(text).toContain('millwright_errors_total{code="millwright_prometheus_unavailable"} 1');
    expect(text).toContain('millwright_errors_total{code="millwright_permission_denied"} 1');
  });

  test('verbs outside the grammar are recorded as unknown so a typo cannot add a time series', async () => {
    const metrics = createMetrics();

    metrics.observeCommand({
      verb: 'deplyos',
      outcome: 'error',
      seconds: 0.01,
      code: 'millwright_unknown_command',
    });
    metrics.observeCommand({ verb: 'drop table users', outcome: 'error', seconds: 0.01 });

    const text = await metrics.registry.metrics();
    expect(text).toContain('millwright_commands_total{verb="unknown",outcome="error"} 2');
    expect(text).not.toContain('deplyos');
    expect(text).toContain('millwright_errors_total{code="millwright_internal"} 1');
  });

  test('the verbs the registry knows can be passed in', async () => {
    const metrics = createMetrics({ verbs: ['rollback'] });

    metrics.observeCommand({ verb: 'rollback', outcome: 'ok', seconds: 1 });
    metrics.observeCommand({ verb: 'deploys', outcome: 'ok', seconds: 1 });

    const text = await metrics.registry.metrics();
    expect(text).toContain('millwright_commands_total{verb="rollback",outcome="ok"} 1');
    expect(text).toContain('millwright_commands_total{verb="unknown",outcome="ok"} 1');
  });

  test('a malformed observation is dropped without throwing, so metrics never change a reply', async () => {
    const metrics = createMetrics();
    const garbage = { verb: 42, outcome: 'exploded', seconds: Number.NaN, code: 'Error: at /srv/app.js:1' };

    expect(() => metrics.observeCommand(garbage as never)).not.toThrow();
    expect(() => metrics.observeCommand(undefined as never)).not.toThrow();

    const text = await metrics.registry.metrics();
    expect(text).toContain('millwright_commands_total{verb="unknown",outcome="error"} 1');
    expect(text).toContain('millwright_errors_total{code="other"} 1');
  });

  test('each instance has its own registry with process metrics, and the global one stays empty', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.observeCommand({ verb: 'help', outcome: 'ok', seconds: 0.01 });

    expect(await second.registry.metrics()).not.toContain('millwright_commands_total{');
    expect(await first.registry.metrics()).toContain('\nprocess_cpu_user_seconds_total');
    expect(globalRegistry.getSingleMetric('millwright_commands_total')).toBeUndefined();
  });

  test('process metrics have the standard names dashboards expect; our own stay under millwright_', async () => {
    const { text } = await createMetrics().render();
    const names = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]));

    for (const standard of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(names).toContain(standard);
    expect([...names].filter((name) => name?.startsWith('millwright_process'))).toEqual([]);
    expect(names).toContain('millwright_commands_total');
  });

  test('scrapes within the cache window share one rendering; after it, a fresh one', async () => {
    let now = 0;
    const metrics = createMetrics({ cacheMs: 1_000, now: () => now });
    const before = await metrics.render();
    metrics.observeCommand({ verb: 'help', outcome: 'ok', seconds: 0.01 });

    expect((await metrics.render()).text).toBe(before.text);
    now = 1_000;
    expect((await metrics.render()).text).toContain('millwright_commands_total{verb="help",outcome="ok"} 1');
  });
});
