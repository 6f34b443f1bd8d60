// The http executor against a local target: only allow-listed targets, never outside the base URL,
// secret headers nowhere in results, errors or logs, hung requests cut at the timeout, reads retried.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MillwrightError } from '../../../src/core/errors.js';
import { createLogger, type Logger } from '../../../src/core/logger.js';
import { createHttpExecutor, type HttpExecutorOptions } from '../../../src/executors/http/index.js';
import type { ExecutionContext, Executor } from '../../../src/executors/types.js';
import { type HttpTargetDouble, startHttpTarget } from '../../doubles/http-target.js';

const AUTH_TOKEN = 'sk_live_51HcoffeeCoffeeCoffee';
const API_KEY = 'k3y-7f3a9c2e-4b1d';
const SECRETS = [AUTH_TOKEN, API_KEY];

let target: HttpTargetDouble;
let http: Executor;
let logLines: string[];
let logger: Logger;

function build(overrides: Partial<HttpExecutorOptions> = {}): Executor {
  return createHttpExecutor({
    logger,
    targets: {
      cdn: {
        baseUrl: `${target.url}/api/`,
        headers: { Authorization: `Bearer ${AUTH_TOKEN}`, 'X-Api-Key': API_KEY, Accept: 'application/json' },
        timeout: '300ms',
      },
      'status-page': { baseUrl: `${target.url}/status` },
    },
    retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    ...overrides,
  });
}

beforeEach(async () => {
  target = await startHttpTarget();
  logLines = [];
  logger = createLogger({ level: 'trace', destination: { write: (line: string) => logLines.push(line) } });
  http = build();
});
afterEach(async () => {
  await target.close();
});

function context(overrides: Partial<ExecutionContext> = {}): ExecutionContext {
  return {
    signal: new AbortController().signal,
    deadline: new Date(Date.now() + 60_000),
    dryRun: false,
    actor: 'ana',
    ref: 'ref-http-1',
    logger,
    ...overrides,
  };
}

const request = (input: Record<string, unknown>, overrides: Partial<ExecutionContext> = {}) =>
  http.execute(context(overrides), { action: 'request', input });

async function failure(promise: Promise<unknown>): Promise<MillwrightError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    return error as MillwrightError;
  }
  throw new Error('expected the request to fail');
}

function expectNoSecrets(...things: unknown[]): void {
  const text = JSON.stringify(things, (_key, value) =>
    value instanceof Error
      ? { message: value.message, ...(value as unknown as Record<string, unknown>) }
      : value,
  );
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  for (const secret of SECRETS) expect(logLines.join('\n')).not.toContain(secret);
}

describe('requests to an allow-listed target', () => {
  it('POSTs JSON with the configured headers and returns the status and parsed body', async () => {
    target.on('POST', '/api/purge', { status: 202, body: { purged: ['/app.js'], id: 'p-1' } });
    const result = await request({
      target: 'cdn',
      method: 'POST',
      path: '/purge',
      body: { paths: ['/app.js'] },
    });
    expect(result.summary).toBe('http target cdn answered 202 to POST /api/purge');
    expect(result.output).toEqual({
      status: 202,
      url: `${target.url}/api/purge`,
      contentType: 'application/json',
      body: { purged: ['/app.js'], id: 'p-1' },
      truncated: false,
    });
    const [sent] = target.requests;
    expect(sent?.headers.authorization).toBe(`Bearer ${AUTH_TOKEN}`);
    expect(sent?.headers['x-api-key']).toBe(API_KEY);
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent?.body ?? '')).toEqual({ paths: ['/app.js'] });
  });

  it('encodes query values instead of letting them reshape the URL', async () => {
    target.on('GET', '/status/summary', { body: 'all good' });
    const result = await request({
      target: 'status-page',
      path: '/summary',
      query: { component: 'checkout&admin=1', verbose: true },
    });
    expect(result.output.body).toBe('all good');
    expect(target.requests[0]?.query).toEqual({ component: 'checkout&admin=1', verbose: 'true' });
  });

  it('answers a HEAD with its status and no body', async () => {
    target.on('HEAD', '/status/', { status: 200, body: 'ignored' });
    const result = await request({ target: 'status-page', method: 'HEAD', path: '/' });
    expect(result.output).toMatchObject({ status: 200, body: '', truncated: false });
  });

  it('keeps only the first maxResponseBytes of a large body and says it was cut', async () => {
    http = build({ maxResponseBytes: 1024 });
    // A target with the default timeout: the cut is about size, and a busy machine must not turn it into a timeout.
    target.on('GET', '/status/big', { body: 'x'.repeat(200_000) });
    const result = await request({ target: 'status-page', path: '/big' });
    expect(result.output.truncated).toBe(true);
    expect((result.output.body as string).length).toBe(1024);
  });

  it('in a dry run sends nothing and says what it would send', async () => {
    const result = await request(
      { target: 'cdn', method: 'DELETE', path: '/cache/app.js' },
      { dryRun: true },
    );
    expect(result.summary).toBe(`would DELETE ${target.url}/api/cache/app.js`);
    expect(target.requests).toHaveLength(0);
  });
});

describe('the allow-list and the base URL', () => {
  it('refuses a target that is not configured, suggesting the close one', async () => {
    const error = await failure(request({ target: 'cdm', path: '/purge' }));
    expect(error.code).toBe('millwright_permission_denied');
    expect(error.message).toBe('http target "cdm" is not in http.targets');
    expect(error.hint).toContain('did you mean "cdn"?');
    expect(target.requests).toHaveLength(0);
  });

  const escapes = [
    '../admin/secret',
    '/../admin/secret',
    '/purge/../../admin/secret',
    '/%2e%2e/admin/secret',
    '/%2E%2E%2Fadmin/secret',
    '/..%2fadmin',
    '/%252e%252e/admin',
    '/%5c..%5cadmin',
    '/a\\..\\admin',
    '//evil.example/x',
    'http://evil.example/x',
    'https://evil.example/',
    '@evil.example/x',
    '/x?admin=1',
    '/x#fragment',
    '/x\r\nHost: evil.example',
    '/x y',
    '/%00',
    '/%',
    '/.',
    '/a/./b',
    '/$(id)',
    '/`id`',
    '/x;rm -rf',
    '',
  ];
  it.each(escapes)('refuses the path %j before any request', async (path) => {
    target.on('GET', '/admin/secret', { body: 'you should never see this' });
    const error = await failure(request({ target: 'cdn', path }));
    expect(error.code).toBe('millwright_bad_argument');
    expect(error.message).toMatch(/^http\.request: path /);
    expect(error.message).not.toContain('\n');
    expect(target.requests).toHaveLength(0);
  });

  it('does not follow a redirect that would leave the base URL', async () => {
    target.on('GET', '/api/moved', { status: 302, headers: { location: `${target.url}/admin/secret` } });
    target.on('GET', '/admin/secret', { body: 'you should never see this' });
    const error = await failure(request({ target: 'cdn', path: '/moved' }));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.message).toBe(
      `http target cdn answered 302 to GET /api/moved (redirect to ${target.url}/admin/secret); redirects are not followed`,
    );
    expect(target.requests.map((r) => r.path)).toEqual(['/api/moved']);
  });

  it('refuses input it does not know, such as headers from the step', async () => {
    const error = await failure(request({ target: 'cdn', path: '/x', headers: { Host: 'evil.example' } }));
    expect(error.message).toBe('http.request: unknown input "headers"');
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a body on GET', async () => {
    const error = await failure(request({ target: 'cdn', path: '/x', body: { a: 1 } }));
    expect(error.message).toBe('http.request: a GET request carries no body');
  });
});

describe('secret headers', () => {
  it('never appear in an output, even when the target echoes them back', async () => {
    target.on('GET', '/api/echo', (req) => ({
      body: { headers: req.headers, note: `you sent ${req.headers['x-api-key']}` },
    }));
    const result = await request({ target: 'cdn', path: '/echo' });
    const echoed = result.output.body as { headers: Record<string, string>; note: string };
    expect(echoed.headers['x-api-key']).toBe('[redacted]');
    expect(echoed.headers.authorization).toBe('[redacted]');
    expect(echoed.headers.accept).toBe('application/json');
    expect(echoed.note).toBe('you sent [redacted]');
    expectNoSecrets(result);
  });

  it('never appear in an error, its hint or details, nor in the logs', async () => {
    target.on('POST', '/api/purge', (req) => ({
      status: 401,
      body: `invalid credentials: ${req.headers.authorization} / ${req.headers['x-api-key']}`,
    }));
    target.on('POST', '/api/boom', (req) => ({
      status: 500,
      body: { error: 'boom', saw: req.headers['x-api-key'] },
    }));
    const unauthorized = await failure(request({ target: 'cdn', method: 'POST', path: '/purge', body: {} }));
    expect(unauthorized.code).toBe('millwright_upstream_error');
    expect(unauthorized.message).toBe(
      'http target cdn answered 401 Unauthorized to POST /api/purge: invalid credentials: [redacted] / [redacted]',
    );
    const boom = await failure(request({ target: 'cdn', method: 'POST', path: '/boom', body: {} }));
    expect(boom.message).toContain('[redacted]');
    expect(logLines.length).toBeGreaterThan(0);
    expectNoSecrets(
      { message: unauthorized.message, hint: unauthorized.hint, details: unauthorized.details },
      { message: boom.message, hint: boom.hint, details: boom.details },
    );
  });

  it('are not shown when a config value is refused', () => {
    let refused: unknown;
    try {
      build({
        targets: {
          cdn: { baseUrl: `${target.url}/api/`, headers: { 'X-Api-Key': `${API_KEY}\r\nX-Evil: 1` } },
        },
      });
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({
      code: 'millwright_config_invalid',
      message: 'http.targets.cdn: header X-Api-Key has a line break or NUL in its value',
    });
    expectNoSecrets((refused as Error).message);
  });

  it('refuses credentials in a base URL', () => {
    expect(() => build({ targets: { cdn: { baseUrl: 'https://user:pass@cdn.example/' } } })).toThrow(
      'http.targets.cdn: baseUrl must not carry a user or password; use headers',
    );
  });
});

describe('failures', () => {
  it('cuts a hung request at the target timeout with a clear message, and sends a write once', async () => {
    target.on('POST', '/api/slow', { hang: true });
    const error = await failure(request({ target: 'cdn', method: 'POST', path: '/slow', body: {} }));
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toBe('http target cdn did not answer POST /api/slow within 300ms');
    expect(error.hint).toBe(
      'it may or may not have acted; check before running again, or raise http.targets.cdn.timeout',
    );
    expect(target.requests).toHaveLength(1);
  });

  it('stops waiting at the step deadline', async () => {
    target.on('GET', '/status/slow', { hang: true });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('deadline', 'TimeoutError')), 50);
    try {
      const error = await failure(
        request(
          { target: 'status-page', path: '/slow' },
          { signal: controller.signal, deadline: new Date(Date.now() + 50) },
        ),
      );
      expect(error.code).toBe('millwright_timeout');
      expect(error.message).toBe(
        "http target status-page did not answer GET /status/slow before the step's deadline",
      );
    } finally {
      clearTimeout(timer);
    }
  });

  it('retries a read that answers 5xx and returns once it recovers', async () => {
    target.on('GET', '/api/flaky', { body: { ok: true } });
    target.on('GET', '/api/flaky', { status: 503, body: 'busy' }, 2);
    const result = await request({ target: 'cdn', path: '/flaky' });
    expect(result.output.body).toEqual({ ok: true });
    expect(target.requests).toHaveLength(3);
  });

  it('reports a read that keeps failing, after the bounded attempts, with the status', async () => {
    target.on('GET', '/api/down', { status: 500, body: 'database unavailable' });
    const error = await failure(request({ target: 'cdn', path: '/down' }));
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toBe(
      'http target cdn answered 500 Internal Server Error to GET /api/down (after 3 attempts): database unavailable',
    );
    expect(error.details).toEqual({ status: 500, target: 'cdn' });
    expect(target.requests).toHaveLength(3);
  });

  it('never repeats a write that failed', async () => {
    target.on('POST', '/api/purge', { status: 502, body: 'bad gateway' });
    const error = await failure(
      request({ target: 'cdn', method: 'POST', path: '/purge', body: { paths: ['/'] } }),
    );
    expect(error.message).toBe(
      'http target cdn answered 502 Bad Gateway to POST /api/purge; not repeated, since it may have acted: bad gateway',
    );
    expect(target.requests).toHaveLength(1);
  });

  it('turns a 4xx into an error carrying the status', async () => {
    const error = await failure(request({ target: 'cdn', method: 'PUT', path: '/nowhere', body: 'x' }));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.details).toEqual({ status: 404, target: 'cdn' });
    expect(error.message).toBe(
      'http target cdn answered 404 Not Found to PUT /api/nowhere: {"error":"not found"}',
    );
  });

  it('reports a target that is not listening', async () => {
    const closedUrl = target.url;
    await target.close();
    target = await startHttpTarget();
    http = build({ targets: { gone: { baseUrl: `${closedUrl}/api/` } } });
    const error = await failure(request({ target: 'gone', path: '/x' }));
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toBe(`cannot reach http target gone (${closedUrl}) for GET /api/x: ECONNREFUSED`);
  });
});
