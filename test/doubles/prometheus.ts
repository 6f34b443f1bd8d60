// Not a double: runs the REAL Prometheus (Debian's `prometheus` package) on 127.0.0.1 with history
// backfilled from OpenMetrics by promtool, so SLO numbers are computed by the real query engine.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One series to backfill: a value per sample time (unix seconds), or undefined for no sample. */
export interface SeriesFixture {
  /** Metric family: `http_requests` (a counter's samples are written as `http_requests_total`). */
  family: string;
  type: 'counter' | 'gauge' | 'unknown';
  labels: Record<string, string>;
  value: (t: number) => number | undefined;
}

export interface PrometheusFixture {
  series: SeriesFixture[];
  /** First and last sample time, unix seconds; `end` is the evaluation time the tests use. */
  start: number;
  end: number;
  /** Seconds between samples; 60 by default. */
  stepSeconds?: number;
  /** Basic auth in front of the API: a `--web.config.file` body and the user the helper checks readiness as. */
  webConfig?: { body: string; username: string; password: string };
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  dataDir: string;
  /** The evaluation time: the last sample, on a whole minute. */
  end: Date;
  /** Stops the process (SIGTERM, then waits for it to exit). Safe to call twice. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it is ready. */
  start(): Promise<void>;
  /**
   * Evaluates recording rules over [start, end] with `promtool tsdb create-blocks-from rules`
   * against this Prometheus, then restarts it with the new blocks loaded.
   */
  backfillRules(rulesYaml: string, range: { start: number; end: number }): Promise<void>;
  /** Stops it and removes its data folder. */
  close(): Promise<void>;
}

/** Where the binaries are; fails with the fix when the Debian package is missing. */
export function prometheusBinaries(): { prometheus: string; promtool: string } {
  const find = (name: string) =>
    [
      `/usr/bin/${name}`,
      `/usr/local/bin/${name}`,
      ...(process.env.PATH ?? '').split(':').map((dir) => path.join(dir, name)),
    ].find((candidate) => candidate && existsSync(candidate));
  const prometheus = find('prometheus');
  const promtool = find('promtool');
  if (!prometheus || !promtool) {
    throw new Error(
      'the SLO tests run a real Prometheus, and prometheus/promtool are not installed: ' +
        'apt-get install -y --no-install-recommends prometheus (.ci/run does this)',
    );
  }
  return { prometheus, promtool };
}

/**
 * The evaluation time for a run: a whole minute, at least a minute before now, so no sample is in
 * the future (the TSDB would drop whole blocks for it) and "now" never drifts off the data.
 *
 * @example
 * const end = evaluationEnd(); // 1795700220
 */
export function evaluationEnd(nowMs = Date.now()): number {
  return Math.floor(nowMs / 60_000) * 60 - 60;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function sampleName(series: SeriesFixture): string {
  return series.type === 'counter' ? `${series.family}_total` : series.family;
}

function labelText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/**
 * Writes OpenMetrics text: each family once with its TYPE, each series' samples in rising time,
 * timestamps in seconds, and the closing `# EOF`.
 */
export async function writeOpenMetrics(file: string, fixture: PrometheusFixture): Promise<void> {
  const step = fixture.stepSeconds ?? 60;
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const families = new Map<string, SeriesFixture[]>();
  for (const series of fixture.series) {
    const list = families.get(series.family) ?? [];
    list.push(series);
    families.set(series.family, list);
  }
  for (const [family, members] of families) {
    await write(`# TYPE ${family} ${members[0]!.type}\n`);
    for (const series of members) {
      const prefix = `${sampleName(series)}${labelText(series.labels)} `;
      let chunk = '';
      for (let t = fixture.start; t <= fixture.end; t += step) {
        const value = series.value(t);
        if (value === undefined) continue;
        chunk += `${prefix}${value} ${t}\n`;
        if (chunk.length > 1 << 16) {
          await write(chunk);
          chunk = '';
        }
      }
      await write(chunk);
    }
  }
  await write('# EOF\n');
  out.end();
  await once(out, 'finish');
}

/**
 * Backfills `fixture` into a fresh data folder, starts Prometheus on a free port on 127.0.0.1 and
 * waits for `/-/ready`. Call `close()` in afterAll.
 *
 * @example
 * const prometheus = await startPrometheus({ series, start: end - 30 * 86400, end });
 * afterAll(() => prometheus.close());
 */
export async function startPrometheus(fixture: PrometheusFixture): Promise<RunningPrometheus> {
  const binaries = prometheusBinaries();
  const root = await mkdtemp(path.join(os.tmpdir(), 'millwright-prometheus-'));
  const dataDir = path.join(root, 'data');
  const input = path.join(root, 'fixture.om');
  const configFile = path.join(root, 'prometheus.yml');
  const logFile = path.join(root, 'prometheus.log');
  try {
    await writeOpenMetrics(input, fixture);
    await run(binaries.promtool, [
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      '--max-block-duration=744h',
      input,
      dataDir,
    ]);
    await rm(input);
    await writeFile(configFile, 'global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n');
    const webConfig = fixture.webConfig ? path.join(root, 'web.yml') : undefined;
    if (webConfig) await writeFile(webConfig, fixture.webConfig!.body);
    const readyHeaders: Record<string, string> = fixture.webConfig
      ? {
          authorization: `Basic ${Buffer.from(`${fixture.webConfig.username}:${fixture.webConfig.password}`).toString('base64')}`,
        }
      : {};
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let child: ChildProcess | undefined;

    const start = async () => {
      const log = createWriteStream(logFile, { flags: 'a' });
      await once(log, 'open');
      const args = [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=60d',
        ...(webConfig ? [`--web.config.file=${webConfig}`] : []),
      ];
      const started = spawn(binaries.prometheus, args, { stdio: ['ignore', log, log] });
      log.close();
      child = started;
      const exited = once(started, 'exit').then(([code]) => code as number | null);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ready = await fetch(`${url}/-/ready`, { headers: readyHeaders })
          .then((response) => response.ok)
          .catch(() => false);
        if (ready) return;
        const code = await Promise.race([
          exited,
          new Promise((resolve) => setTimeout(resolve, 50, 'waiting')),
        ]);
        if (code !== 'waiting' || Date.now() > deadline) {
          const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
          await stop();
          throw new Error(`prometheus did not become ready on ${url} (exit ${String(code)}):\n${tail}`);
        }
      }
    };

    const stop = async () => {
      const current = child;
      child = undefined;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = once(current, 'exit');
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    };

    await start();
    return {
      url,
      port,
      dataDir,
      end: new Date(fixture.end * 1000),
      stop,
      start,
      close: async () => {
        await stop();
        await rm(root, { recursive: true, force: true });
      },
      backfillRules: async (rulesYaml, range) => {
        const rulesFile = path.join(root, 'rules.yml');
        const outDir = path.join(root, 'rule-blocks');
        await writeFile(rulesFile, rulesYaml);
        await rm(outDir, { recursive: true, force: true });
        await mkdir(outDir);
        await run(binaries.promtool, [
          'tsdb',
          'create-blocks-from',
          'rules',
          `--start=${range.start}`,
          `--end=${range.end}`,
          `--url=${url}`,
          `--output-dir=${outDir}`,
          '--eval-interval=60s',
          '--quiet',
          rulesFile,
        ]);
        await stop();
        for (const block of await readdir(outDir)) {
          await rename(path.join(outDir, block), path.join(dataDir, block));
        }
        await start();
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
