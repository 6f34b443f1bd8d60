// The Prometheus client against a real Prometheus behind basic auth: Prometheus stopped in the middle
// of a budget, bad queries, timeouts, credentials (basic, in the URL, and a bearer-token proxy).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger, fixedClock, silentLogger, UpstreamResilience } from '../../src/core/index.js';
import { evaluateSlos, loadSloFile, PrometheusClient, type Slo } from '../../src/slo/index.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { startTestBot, TEST_ACCESS } from '../helpers/runtime.js';
import { scenarioSeries } from './scenarios.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'slo');
const USER = 'budget-reader';
const PASSWORD = 'budget-reader-pw';
// bcrypt of PASSWORD (cost 4); Prometheus' web config only takes hashes.
const WEB_CONFIG = `basic_auth_users:\n  ${USER}: $2b$04$RWzhODV.IOv96p7w4W0m3.JUMEsIi6iu5harCg9jOJlen7dBuckIS\n`;

let prometheus: RunningPrometheus;
let slos: Slo[];
let at: Date;

beforeAll(async () => {
  const end = evaluationEnd();
  const { series, start } = scenarioSeries(end);
  // checkout and payments only: enough history to evaluate, quick to backfill.
  prometheus = await startPrometheus({
    series: series.filter(
      (item) =>
        ['checkout', 'payments'].includes(item.labels.service ?? '') && item.family === 'http_requests',
    ),
    start,
    end,
    webConfig: { body: WEB_CONFIG, username: USER, password: PASSWORD },
  });
  at = prometheus.end;
  const loaded = await loadSloFile(path.join(FIXTURES, 'scenarios', 'scenarios.yml'));
  slos = loaded.slos.filter((slo) => ['checkout-availability', 'payments-availability'].includes(slo.id));
}, 180_000);

afterAll(async () => {
  await prometheus?.close();
});

function client(options: Partial<ConstructorParameters<typeof PrometheusClient>[0]> = {}): PrometheusClient {
  return new PrometheusClient({
    url: prometheus.url,
    basicAuth: { username: USER, password: PASSWORD },
    baseDelayMs: 5,
    ...options,
  });
}

describe('credentials', () => {
  it('reads with basic auth, or with the user and password in the URL (never shown back)', async () => {
    const [sample] = await client().query('vector(1)', at);
    expect(sample).toEqual({ labels: {}, value: 1 });
    const inUrl = new PrometheusClient({ url: `http://${USER}:${PASSWORD}@127.0.0.1:${prometheus.port}` });
    expect(await inUrl.query('vector(2)', at)).toEqual([{ labels: {}, value: 2 }]);
    expect(inUrl.url).toBe(prometheus.url);
  });

  it('a wrong password is a one-line error naming the URL and not the secret, without retrying', async () => {
    let calls = 0;
    const wrong = client({
      basicAuth: { username: USER, password: 'not-the-password' },
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    const reading = await wrong.reading('vector(1)', at);
    expect(reading).toEqual({
      kind: 'unknown',
      query: 'vector(1)',
      code: 'millwright_prometheus_unavailable',
      message: `Prometheus at ${prometheus.url} refused the credentials (HTTP 401)`,
    });
    expect(calls).toBe(1);
  });

  describe('behind a proxy that wants a bearer token', () => {
    let proxy: Server;
    let proxyUrl: string;
    let failNext = 0;
    beforeAll(async () => {
      proxy = createServer((request: IncomingMessage, response: ServerResponse) => {
        if (request.headers.authorization !== 'Bearer team-token-123') {
          response
            .writeHead(401, { 'content-type': 'application/json' })
            .end('{"status":"error","error":"unauthorized"}');
          return;
        }
        if (failNext > 0) {
          failNext--;
          response.writeHead(503, { 'content-type': 'text/plain' }).end('upstream restarting');
          return;
        }
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', async () => {
          const upstream = await fetch(`${prometheus.url}${request.url!.replace(/^\/prometheus/, '')}`, {
            method: request.method ?? 'GET',
            headers: {
              'content-type': request.headers['content-type'] ?? 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
            },
            ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
          });
          response
            .writeHead(upstream.status, { 'content-type': 'application/json' })
            .end(await upstream.text());
        });
      });
      proxy.listen(0, '127.0.0.1');
      await once(proxy, 'listening');
      proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/prometheus`;
    });
    afterAll(async () => {
      proxy.close();
      await once(proxy, 'close');
    });

    it('sends the bearer token, keeps the path prefix, and retries a 503 until it answers', async () => {
      failNext = 2;
      const bearer = new PrometheusClient({ url: proxyUrl, bearerToken: 'team-token-123', baseDelayMs: 5 });
      expect(await bearer.query('vector(3)', at)).toEqual([{ labels: {}, value: 3 }]);
      expect(failNext).toBe(0);
    });

    it('gives up after the bounded tries with the status, and without the token', async () => {
      failNext = 5;
      const bearer = new PrometheusClient({ url: proxyUrl, bearerToken: 'team-token-123', baseDelayMs: 5 });
      const reading = await bearer.reading('vector(3)', at);
      expect(reading).toMatchObject({
        kind: 'unknown',
        code: 'millwright_prometheus_unavailable',
        message: `Prometheus at ${proxyUrl} is unavailable: HTTP 503`,
      });
      expect(failNext).toBe(2);
      expect(JSON.stringify(reading)).not.toContain('team-token-123');
      failNext = 0;
    });
  });
});

describe('bad queries and timeouts', () => {
  it('a query Prometheus cannot parse is a query error with its reason, not retried', async () => {
    let calls = 0;
    const counting = client({
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    await expect(counting.query('sum(rate(http_requests_total[5m])', at)).rejects.toMatchObject({
      code: 'millwright_prometheus_query_error',
      message: expect.stringMatching(/^Prometheus rejected a query: .*unclosed left parenthesis/),
      hint: 'check the PromQL: sum(rate(http_requests_total[5m])',
    });
    expect(calls).toBe(1);
  });

  it('a Prometheus that accepts the connection but never answers times out, bounded', async () => {
    const silent = createServer(() => {
      // Never answers: the client's deadline must end the wait.
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const slow = new PrometheusClient({ url, timeoutMs: 100, attempts: 2, baseDelayMs: 5 });
      const reading = await slow.reading('vector(1)', at);
      expect(reading).toMatchObject({
        kind: 'unknown',
        code: 'millwright_prometheus_unavailable',
        message: `Prometheus at ${url} is unavailable: no answer within 0.1s`,
      });
    } finally {
      silent.closeAllConnections();
      silent.close();
      await once(silent, 'close');
    }
  });

  it('a URL that answers 200 with HTML (a UI or login page) is named as not the Prometheus API, not retried', async () => {
    let calls = 0;
    const page = createServer((_request, response) => {
      calls++;
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>Sign in</html>');
    });
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    const url = `http://127.0.0.1:${(page.address() as { port: number }).port}`;
    try {
      const reading = await new PrometheusClient({ url, baseDelayMs: 5 }).reading('vector(1)', at);
      expect(reading).toMatchObject({
        kind: 'unknown',
        code: 'millwright_prometheus_unavailable',
        message: `Prometheus at ${url} answered with text/html, not the Prometheus API`,
      });
      expect(calls).toBe(1);
    } finally {
      page.close();
      await once(page, 'close');
    }
  });
});

// Last: it stops this Prometheus and starts it again.
describe('Prometheus stopped in the middle of a budget', () => {
  it('finishes with unknown readings and a clear error, never a crash; the gate sees unknown', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    let answered = 0;
    const stopping = client({
      concurrency: 1,
      logger,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        // After three answers, Prometheus goes away before the rest of the queries are asked.
        if (++answered === 3) await prometheus.stop();
        return response;
      },
    });
    const evaluations = await evaluateSlos(slos, at, { prometheus: stopping });
    expect(evaluations.map((evaluation) => evaluation.state)).toEqual(['unknown', 'unknown']);
    const [checkout, payments] = evaluations;
    // The first three windows of checkout were answered before the stop.
    expect(checkout!.burnRates.slice(0, 3).map((burn) => burn.burnRate.kind)).toEqual([
      'value',
      'value',
      'value',
    ]);
    expect(checkout!.budgetRemaining).toMatchObject({
      kind: 'unknown',
      code: 'millwright_prometheus_unavailable',
      // Either the failure itself or, once enough failed in a row, the open circuit that stopped calling.
      message: expect.stringMatching(unavailable(prometheus.url)),
    });
    expect(payments!.budgetRemaining.kind).toBe('unknown');
    expect(payments!.exhaustion.map((exhaustion) => exhaustion.status)).toEqual(['unknown', 'unknown']);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).toContain('prometheus query failed; retrying');
    expect(lines.join('')).not.toContain(PASSWORD);

    // The circuit's own clock, moved past its next try once Prometheus is back.
    const circuitClock = fixedClock(at);
    const bot = await startTestBot({
      clock: fixedClock(at),
      upstreams: new UpstreamResilience({ clock: circuitClock }),
      config:
        `prometheus:\n  url: ${prometheus.url}\n  basicAuth: { username: ${USER}, password: ${PASSWORD} }\n` +
        `slo:\n  dir: ${path.join(FIXTURES, 'scenarios')}\n${TEST_ACCESS}`,
      logger: silentLogger(),
    });
    try {
      const down = await bot.run('budget');
      expect(down.ok).toBe(false);
      expect(down.error).toEqual({
        code: 'millwright_prometheus_unavailable',
        message: expect.stringMatching(unavailable(prometheus.url)),
        hint: 'no budget is known until Prometheus answers; check that it is up and prometheus.url is right',
      });
      const statuses = await bot.runtime.services.slo!.statusFor('payments', at);
      expect(statuses).toEqual([
        {
          slo: 'payments-availability',
          burnState: 'unknown',
          detail: expect.stringMatching(unavailable(prometheus.url)),
          burnRates: {},
          burnRules: expect.any(Array),
          // Not asked, rather than answered: the gate names the rule as unreadable.
          unreadable: {
            code: 'millwright_prometheus_unavailable',
            message: expect.stringMatching(unavailable(prometheus.url)),
          },
        },
      ]);

      // One service fails the same way as the list: exit 1, not a page of "unknown".
      const downOne = await bot.run('budget payments');
      expect(downOne.ok).toBe(false);
      expect(downOne.error?.code).toBe('millwright_prometheus_unavailable');

      await prometheus.start();
      circuitClock.set(new Date(at.getTime() + 60_000));
      const back = await bot.run('budget payments');
      expect(back.ok).toBe(true);
      expect(JSON.stringify(back.blocks)).toContain(
        'payments/availability: 36.1% of the 30-day error budget left',
      );
    } finally {
      await bot.close();
    }
  }, 180_000);
});

/** A stopped Prometheus: the refused connection, or the open circuit that stopped calling it. */
function unavailable(url: string): RegExp {
  return new RegExp(
    `^Prometheus at ${url} is unavailable: (connection refused|circuit open since .+, next try .+)$`,
  );
}
