import { connect, type Socket } from 'node:net';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import {
  createMetrics,
  HttpServer,
  type HttpServerOptions,
  type Readiness,
  sendJson,
} from '../../src/server/index.js';

const servers: HttpServer[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close({ graceMs: 1000 })));
  for (const timer of timers.splice(0)) clearTimeout(timer);
});

async function start(options: Partial<HttpServerOptions> = {}) {
  const metrics = options.metrics ?? createMetrics();
  const server = new HttpServer({ port: 0, host: '127.0.0.1', logger: silentLogger(), metrics, ...options });
  servers.push(server);
  const { port } = await server.listen();
  return { server, metrics, port, base: `http://127.0.0.1:${port}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => timers.push(setTimeout(resolve, ms)));
}

/** A promise plus the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server writes until it closes the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('probes and metrics', () => {
  test('GET /healthz says the process is alive', async () => {
    const { base } = await start();

    const res = await fetch(`${base}/healthz`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('GET /readyz is 200 with the checks when every dependency is ready', async () => {
    const readiness = async (): Promise<Readiness> => ({ ready: true, checks: { store: 'ok', audit: 'ok' } });
    const { base } = await start({ readiness });

    const res = await fetch(`${base}/readyz`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { store: 'ok', audit: 'ok' } });
  });

  test('GET /readyz is 503 and names the failing check when a dependency is down', async () => {
    const readiness = async (): Promise<Readiness> => ({
      ready: false,
      checks: { store: 'ok', audit: 'audit trail not writable' },
    });
    const { base } = await start({ readiness });

    const res = await fetch(`${base}/readyz`);

    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not ready',
      checks: { store: 'ok', audit: 'audit trail not writable' },
    });
  });

  test('GET /readyz is 503 when the readiness check itself throws', async () => {
    const { base } = await start({
      readiness: async () => {
        throw new Error('store lock held');
      },
    });

    const res = await fetch(`${base}/readyz`);

    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', checks: { readiness: 'check failed' } });
  });

  test('GET /metrics serves Prometheus text with command counts and histogram buckets', async () => {
    const { base, metrics } = await start();
    metrics.observeCommand({ verb: 'deploys', outcome: 'ok', seconds: 0.4 });

    const res = await fetch(`${base}/metrics`);
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('millwright_commands_total{verb="deploys",outcome="ok"} 1');
    expect(text).toContain('millwright_command_duration_seconds_bucket{le="0.5",verb="deploys"} 1');
    expect(text).toContain('millwright_command_duration_seconds_bucket{le="+Inf",verb="deploys"} 1');
  });

  test('requests are counted by route pattern, not by raw URL', async () => {
    const { base } = await start();

    await (await fetch(`${base}/healthz?probe=kubelet`)).text();
    await (await fetch(`${base}/healthz`)).text();
    await (await fetch(`${base}/wp-admin/123`)).text();
    const text = await (await fetch(`${base}/metrics`)).text();

    expect(text).toContain('millwright_http_requests_total{route="/healthz",status="200"} 2');
    expect(text).toContain('millwright_http_requests_total{route="unmatched",status="404"} 1');
    expect(text).not.toContain('wp-admin');
  });
});

describe('routing', () => {
  test('a :name segment matches one segment, an exact path wins, and metrics name the pattern', async () => {
    const { server, base } = await start();
    server.route('GET', '/api/v1/gates/:change', (_req, res, ctx) => sendJson(res, 200, ctx.params));
    server.route('GET', '/api/v1/gates/recent', (_req, res, ctx) => sendJson(res, 200, { exact: ctx.route }));

    expect(await (await fetch(`${base}/api/v1/gates/CR-12`)).json()).toEqual({ change: 'CR-12' });
    expect(await (await fetch(`${base}/api/v1/gates/CR%2012?x=1`)).json()).toEqual({ change: 'CR 12' });
    expect(await (await fetch(`${base}/api/v1/gates/recent`)).json()).toEqual({
      exact: '/api/v1/gates/recent',
    });
    // An empty segment, a deeper path or a malformed escape is no match.
    expect((await fetch(`${base}/api/v1/gates/`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/gates/CR-12/more`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/gates/%E0%A4%A`)).status).toBe(404);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('millwright_http_requests_total{route="/api/v1/gates/:change",status="200"} 2');
    expect(text).not.toContain('CR-12');
  });

  test('an unknown path is a JSON 404', async () => {
    const { base } = await start();

    const res = await fetch(`${base}/nope`);

    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
  });

  test('a known path with the wrong method is 405 with an Allow header', async () => {
    const { server, base } = await start();
    server.route('POST', '/hooks/alertmanager', (_req, res) => sendJson(res, 202, { status: 'accepted' }));

    const wrongOnMounted = await fetch(`${base}/hooks/alertmanager`);
    const wrongOnBuiltIn = await fetch(`${base}/healthz`, { method: 'POST' });

    expect(wrongOnMounted.status).toBe(405);
    expect(wrongOnMounted.headers.get('allow')).toBe('POST');
    expect(await wrongOnMounted.json()).toEqual({ error: 'method not allowed' });
    expect(wrongOnBuiltIn.status).toBe(405);
    expect(wrongOnBuiltIn.headers.get('allow')).toBe('GET, HEAD');
    await wrongOnBuiltIn.text();
  });

  test('a mounted route receives the body and its route pattern', async () => {
    const { server, base } = await start();
    server.route('POST', '/hooks/alertmanager', async (_req, res, { readBody, route }) => {
      const payload = JSON.parse((await readBody()).toString('utf8')) as { status: string };
      sendJson(res, 202, { route, status: payload.status });
    });

    const res = await fetch(`${base}/hooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: '4', status: 'firing', alerts: [] }),
    });

    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ route: '/hooks/alertmanager', status: 'firing' });
  });

  test('a body over the limit is refused with 413, declared or streamed', async () => {
    const { server, base } = await start({ bodyLimitBytes: 1024 });
    server.route('POST', '/api/messages', async (_req, res, { readBody }) => {
      sendJson(res, 200, { bytes: (await readBody()).length });
    });
    const big = 'x'.repeat(4096);

    const declared = await fetch(`${base}/api/messages`, { method: 'POST', body: big });
    const streamed = await fetch(`${base}/api/messages`, {
      method: 'POST',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);

    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: 'payload too large', limitBytes: 1024 });
    expect(streamed.status).toBe(413);
    await streamed.text();
  });

  test('mounting the same method and path twice throws', async () => {
    const { server } = await start();
    server.route('POST', '/slack/events', () => {});

    expect(() => server.route('post', '/slack/events', () => {})).toThrow(/already mounted/);
    expect(() => server.route('GET', '/healthz', () => {})).toThrow(/GET \/healthz is already mounted/);
  });

  test('a handler that throws gives 500 with a ref, no stack, and one log line with that ref', async () => {
    const { logger, records } = memoryLogger();
    const { server, base } = await start({ logger });
    server.route('POST', '/slack/events', () => {
      throw new Error('boom at the signature check');
    });

    const res = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-secret-token-value', cookie: 'session=hunter2' },
      body: '{"token":"body-secret"}',
    });
    const text = await res.text();
    const body = JSON.parse(text) as { error: string; ref: string };

    expect(res.status).toBe(500);
    expect(body).toEqual({ error: 'internal error', ref: expect.stringMatching(/^[0-9a-f]{10}$/) });
    expect(text).not.toMatch(/boom|at .*\.ts|Error/);
    const failures = records().filter((record) => record.msg === 'http handler failed');
    expect(failures).toEqual([expect.objectContaining({ ref: body.ref, route: '/slack/events', level: 50 })]);
    const allLogs = records()
      .map((record) => JSON.stringify(record))
      .join('\n');
    expect(allLogs).not.toMatch(/xoxb-secret|hunter2|body-secret/);
  });
});

describe('graceful shutdown', () => {
  test('close() refuses new connections but lets in-flight requests and tracked work finish', async () => {
    const { server, base, port } = await start();
    const events: string[] = [];
    const slowStarted = deferred();
    server.route('GET', '/slow', async (_req, res) => {
      slowStarted.resolve();
      await sleep(300);
      sendJson(res, 200, { status: 'done' });
    });
    const inFlight = fetch(`${base}/slow`).then(async (res) => ({
      status: res.status,
      body: await res.json(),
    }));
    await slowStarted.promise;
    server.track(sleep(300).then(() => events.push('runbook finished')));

    const closing = server.close({ graceMs: 5000 }).then((result) => {
      events.push('server closed');
      return result;
    });

    expect(server.draining).toBe(true);
    await expect(openSocket(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await inFlight).toEqual({ status: 200, body: { status: 'done' } });
    expect(await closing).toEqual({ drained: true, abandoned: 0 });
    expect(events).toEqual(['runbook finished', 'server closed']);
    expect(server.address).toBeUndefined();
  });

  test('a readiness probe arriving on an open connection while draining gets 503', async () => {
    const { server, base, port } = await start({
      readiness: async () => ({ ready: true, checks: { store: 'ok' } }),
    });
    const release = deferred();
    const slowStarted = deferred();
    server.route('GET', '/slow', async (_req, res) => {
      slowStarted.resolve();
      await release.promise;
      sendJson(res, 200, { status: 'done' });
    });
    const inFlight = fetch(`${base}/slow`).then((res) => res.text());
    await slowStarted.promise;
    // A connection with a half-sent request is busy, not idle, so close() leaves it open.
    const probe = await openSocket(port);
    const response = readUntilClosed(probe);
    probe.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await sleep(50);

    const closing = server.close({ graceMs: 5000 });
    probe.write('\r\n');

    const raw = await response;
    expect(raw).toMatch(/^HTTP\/1\.1 503 /);
    expect(raw).toMatch(/connection: close/i);
    expect(raw).toContain('{"status":"not ready","checks":{"server":"draining"}}');
    release.resolve();
    await inFlight;
    expect(await closing).toEqual({ drained: true, abandoned: 0 });
  });

  test('work that outlasts graceMs is abandoned without waiting for it', async () => {
    const { server } = await start();
    server.track(sleep(2000));
    const started = performance.now();

    const result = await server.close({ graceMs: 100 });

    expect(result).toEqual({ drained: false, abandoned: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('a request still running after graceMs is cut off and counted as abandoned', async () => {
    const { server, base } = await start();
    const slowStarted = deferred();
    server.route('GET', '/stuck', async () => {
      slowStarted.resolve();
      await sleep(2000);
    });
    const inFlight = fetch(`${base}/stuck`);
    await slowStarted.promise;

    const result = await server.close({ graceMs: 100 });

    expect(result).toEqual({ drained: false, abandoned: 1 });
    await expect(inFlight).rejects.toThrow();
  });

  test('drain() fails /readyz while every other route still serves', async () => {
    const { server, base } = await start({ readiness: async () => ({ ready: true, checks: {} }) });

    server.drain();

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(server.draining).toBe(true);
  });

  test('work still running after the grace period is told to stop and gets to record its outcome', async () => {
    const { server } = await start();
    const stop = new AbortController();
    const events: string[] = [];
    server.track(
      new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => {
          events.push('work recorded aborted');
          resolve();
        }),
      ),
    );

    const result = await server.close({ graceMs: 50, abort: () => stop.abort() });

    expect(events).toEqual(['work recorded aborted']);
    expect(result).toEqual({ drained: true, abandoned: 0 });
  });

  test('hurry ends the grace period early', async () => {
    const { server } = await start();
    const hurry = new AbortController();
    let aborted = false;
    server.track(sleep(60_000));

    const closing = server.close({
      graceMs: 60_000,
      hurry: hurry.signal,
      abort: () => (aborted = true),
      settleMs: 10,
    });
    hurry.abort();

    expect(await closing).toEqual({ drained: false, abandoned: 1 });
    expect(aborted).toBe(true);
  });

  test('close() is idempotent and works on a server that never listened', async () => {
    const { server } = await start();
    const never = new HttpServer({ port: 0, logger: silentLogger(), metrics: createMetrics() });

    const [first, second] = await Promise.all([server.close(), server.close()]);

    expect(first).toEqual({ drained: true, abandoned: 0 });
    expect(second).toBe(first);
    expect(await never.close()).toEqual({ drained: true, abandoned: 0 });
    await expect(server.listen()).rejects.toThrow(/closed/);
  });
});

/** Writes `pieces` one by one, a tick apart, until they run out or the server closes the socket. */
function drip(socket: Socket, pieces: string[], everyMs: number): Promise<'finished' | 'cut off'> {
  return new Promise((resolve) => {
    let next = 0;
    const closed = () => {
      clearInterval(timer);
      resolve('cut off');
    };
    socket.once('close', closed);
    const timer = setInterval(() => {
      if (socket.destroyed) return;
      if (next === pieces.length) {
        clearInterval(timer);
        socket.off('close', closed);
        return resolve('finished');
      }
      socket.write(pieces[next++]!);
    }, everyMs);
    timers.push(timer);
  });
}

describe('slow and greedy clients', () => {
  // The drip would take ~6 s to finish; each limit below is a few hundred ms.
  const slowHeaders = Array.from({ length: 300 }, (_, i) => `x-slow-${i}: y\r\n`);
  const slowBody = Array.from({ length: 300 }, () => 'x');

  /** Mounts routes the way the surfaces do: Slack and Teams read the body before checking its signature. */
  function mountSurfaceRoutes(server: HttpServer) {
    const reached: string[] = [];
    for (const path of ['/slack/events', '/api/messages']) {
      server.route('POST', path, async (_req, res, { readBody }) => {
        const body = await readBody();
        reached.push(path);
        sendJson(res, 401, { error: 'bad signature', bytes: body.length });
      });
    }
    server.route('POST', '/hooks/alertmanager', async (req, res, { readBody }) => {
      if (req.headers.authorization !== 'Bearer t0ken') return sendJson(res, 401, { error: 'unauthorized' });
      const body = await readBody();
      reached.push('/hooks/alertmanager');
      sendJson(res, 202, { bytes: body.length });
    });
    return reached;
  }

  test('a client sending its headers slowly gets 408 and is closed before it finishes', async () => {
    const { server, port } = await start({ limits: { headersTimeoutMs: 200 } });
    mountSurfaceRoutes(server);
    const socket = await openSocket(port);
    const answer = readUntilClosed(socket);
    socket.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    expect(await drip(socket, slowHeaders, 20)).toBe('cut off');
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  test.each(['/slack/events', '/api/messages'])(
    'an unauthenticated body sent slowly to %s is cut with 408 before the handler sees it',
    async (path) => {
      const { server, port, metrics } = await start({ limits: { bodyTimeoutMs: 200 } });
      const reached = mountSurfaceRoutes(server);
      const socket = await openSocket(port);
      const answer = readUntilClosed(socket);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 300\r\n\r\n`);

      expect(await drip(socket, slowBody, 20)).toBe('cut off');
      const raw = await answer;
      expect(raw).toMatch(/^HTTP\/1\.1 408 /);
      expect(raw).toMatch(/connection: close/i);
      expect(reached).toEqual([]);
      expect(await metrics.registry.metrics()).toContain(`route="${path}",status="408"`);
    },
  );

  test('an authenticated body sent slowly is cut the same way', async () => {
    const { server, port } = await start({ limits: { bodyTimeoutMs: 200 } });
    const reached = mountSurfaceRoutes(server);
    const socket = await openSocket(port);
    const answer = readUntilClosed(socket);
    socket.write(
      'POST /hooks/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: Bearer t0ken\r\ncontent-length: 300\r\n\r\n',
    );

    expect(await drip(socket, slowBody, 20)).toBe('cut off');
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(reached).toEqual([]);
  });

  test('a body that arrives in time is read whole', async () => {
    const { server, base } = await start({ limits: { bodyTimeoutMs: 5_000 } });
    const reached = mountSurfaceRoutes(server);

    const res = await fetch(`${base}/hooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0ken' },
      body: 'x'.repeat(300),
    });

    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ bytes: 300 });
    expect(reached).toEqual(['/hooks/alertmanager']);
  });

  test('bodies read at once are capped: past the cap a request gets 503 with Retry-After', async () => {
    const { server, port, base } = await start({ limits: { maxBodyReads: 1, bodyTimeoutMs: 5_000 } });
    mountSurfaceRoutes(server);
    const slow = await openSocket(port);
    const slowAnswer = readUntilClosed(slow);
    slow.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 2\r\n\r\nx');
    await sleep(50);

    const refused = await fetch(`${base}/api/messages`, { method: 'POST', body: '{}' });

    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: 'busy, try again' });
    slow.end('x');
    expect(await slowAnswer).toMatch(/^HTTP\/1\.1 401 /);
    const after = await fetch(`${base}/api/messages`, { method: 'POST', body: '{}' });
    expect(after.status).toBe(401);
  });

  test('connections past the cap are dropped as they arrive', async () => {
    const { port, base } = await start({ limits: { maxConnections: 2 } });
    const held = [await openSocket(port), await openSocket(port)];
    await sleep(50);

    const third = await openSocket(port);

    expect(await readUntilClosed(third)).toBe('');
    for (const socket of held) socket.destroy();
    await sleep(50);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test('an idle keep-alive connection is closed by the server', async () => {
    const { port } = await start({ limits: { keepAliveTimeoutMs: 100 } });
    const socket = await openSocket(port);
    const answer = readUntilClosed(socket);

    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: keep-alive\r\n\r\n');

    const raw = await answer;
    // readUntilClosed resolving at all is the point: the server ended the idle connection.
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('a scrape storm', () => {
  test('2,000 concurrent GET /metrics all get 200 and no connection is reset', async () => {
    const { base, metrics } = await start();
    metrics.observeCommand({ verb: 'help', outcome: 'ok', seconds: 0.01 });

    const outcomes = await Promise.all(
      Array.from({ length: 2_000 }, () =>
        fetch(`${base}/metrics`).then(
          async (res) => ((await res.text()).includes('process_cpu_seconds_total') ? res.status : 'no body'),
          (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
        ),
      ),
    );

    const counts: Record<string, number> = {};
    for (const outcome of outcomes) counts[String(outcome)] = (counts[String(outcome)] ?? 0) + 1;
    expect(counts).toEqual({ 200: 2_000 });
  }, 180_000);
});
