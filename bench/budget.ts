// Does `budget` over 500 SLOs with recording rules cost about what its queries cost? Prints the ratio
// of the command's time to the minimal batched queries (one per window, raw fetch) in the same run.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { loadConfig } from '../src/app.js';
import { fixedClock, silentLogger } from '../src/core/index.js';
import { buildRuntime, createRouter } from '../src/main.js';
import { evaluationEnd, type SeriesFixture, startPrometheus } from '../test/doubles/prometheus.js';

const SLOS = 500;
const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'];
const ROUNDS = 10;
const TARGET = 2;

const end = evaluationEnd();
const start = end - 30 * 60;
// Recorded error ratios as `millwright slo rules` would have written them, for the last half hour.
const series: SeriesFixture[] = WINDOWS.flatMap((window) =>
  Array.from({ length: SLOS }, (_, i) => ({
    family: `slo:sli_error:ratio_rate${window}`,
    type: 'gauge' as const,
    labels: {
      sloth_id: `svc${i}-availability`,
      sloth_service: `svc${i}`,
      sloth_slo: 'availability',
      sloth_window: window,
    },
    value: () => ((i % 50) + 1) * 0.00002 * (window === '5m' ? 3 : 1),
  })),
);

const prometheus = await startPrometheus({ series, start, end });
const dir = await mkdtemp(path.join(tmpdir(), 'millwright-bench-budget-'));
try {
  const slos = Array.from({ length: SLOS }, (_, i) => ({
    service: `svc${i}`,
    name: 'availability',
    objective: 99.9,
    sli: {
      events: {
        errorQuery: `sum(rate(http_requests_total{service="svc${i}",code=~"5.."}[{{window}}]))`,
        totalQuery: `sum(rate(http_requests_total{service="svc${i}"}[{{window}}]))`,
      },
    },
  }));
  await mkdir(path.join(dir, 'slos'));
  await writeFile(path.join(dir, 'slos', 'services.yml'), stringify({ slos }));
  await writeFile(
    path.join(dir, 'millwright.yml'),
    `store:\n  path: ./data\nlog:\n  level: silent\nprometheus:\n  url: ${prometheus.url}\n  concurrency: 8\nslo:\n  dir: ./slos\n  useRecordingRules: true\naccess:\n  roles:\n    viewer: { allow: ['*'] }\n`,
  );
  const loaded = await loadConfig(path.join(dir, 'millwright.yml'), { env: {} });
  const runtime = await buildRuntime(loaded, { logger: silentLogger(), clock: fixedClock(prometheus.end) });
  const router = createRouter(runtime);
  const service = runtime.services.slo!;
  const budget = async () => {
    const answer = await router.handle({
      actor: { id: 'bench' },
      surface: 'shell',
      channel: 'bench',
      text: 'budget',
    });
    if (!answer.ok) throw new Error(`budget failed: ${answer.error?.message}`);
    return answer;
  };
  // The floor: the same eight queries, batched and concurrent, as bare HTTP calls.
  const minimalQueries = () =>
    Promise.all(
      WINDOWS.map(async (window) => {
        const response = await fetch(`${prometheus.url}/api/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ query: `slo:sli_error:ratio_rate${window}`, time: String(end) }),
        });
        const body = (await response.json()) as { data: { result: unknown[] } };
        if (body.data.result.length !== SLOS) throw new Error(`expected ${SLOS} series for ${window}`);
      }),
    );

  for (let i = 0; i < 3; i++) {
    await budget();
    await minimalQueries();
  }
  const before = service.prometheus.queryCount;
  const answer = await budget();
  const queries = service.prometheus.queryCount - before;
  const rows = answer.blocks.find((block) => block.type === 'table');
  if (rows?.type !== 'table' || rows.rows.length !== SLOS) throw new Error('budget did not list every SLO');

  // Alternating rounds keep drift in machine speed from landing on one side only.
  const budgetMs: number[] = [];
  const queryMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    await budget();
    budgetMs.push(performance.now() - t);
    t = performance.now();
    await minimalQueries();
    queryMs.push(performance.now() - t);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratio = median(budgetMs) / median(queryMs);
  console.log(
    `budget: ${SLOS} SLOs with recording rules / the minimal batched queries = ${ratio.toFixed(2)} (target <= ${TARGET}); ` +
      `${queries} queries per budget (${median(budgetMs).toFixed(1)} ms vs ${median(queryMs).toFixed(1)} ms; raw queries would need ${SLOS * WINDOWS.length})`,
  );
  await runtime.close();
} finally {
  await prometheus.close();
  await rm(dir, { recursive: true, force: true });
}
