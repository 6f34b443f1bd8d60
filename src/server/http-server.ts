// Millwright's one HTTP server (node:http): adapter routes, /healthz, /readyz, /metrics, and a
// graceful shutdown that lets in-flight requests and running commands finish before the process exits.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { RequestContext, RouteHandler } from '../core/module.js';
import type { Metrics } from './metrics.js';

/** What `/readyz` reports: each check is `'ok'` or a short reason (`'prometheus unreachable'`). */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface HttpServerOptions {
  port: number;
  /** Interface to bind; loopback by default. Pass `0.0.0.0` in a container so probes and Slack can reach it. */
  host?: string;
  logger: Logger;
  metrics: Metrics;
  /** Asked on every `GET /readyz`; without it the server is ready whenever it is not draining. */
  readiness?: () => Promise<Readiness>;
  /** Largest request body `readBody()` accepts; larger ones get 413. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Limits against slow and greedy clients; each has a production default (see `SERVER_LIMITS`). */
  limits?: Partial<ServerLimits>;
}

/** How long and how many: what a slow or greedy client may hold on to. */
export interface ServerLimits {
  /** A client must send its request line and headers within this; else 408 and closed. */
  headersTimeoutMs: number;
  /** A body must arrive whole within this once its handler starts reading it; else 408 and closed. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are dropped as they arrive. */
  maxConnections: number;
  /**
   * Bodies being read at once. Slack and Teams bodies must be read before their signature can be
   * checked, so this bounds what unauthenticated clients can hold; beyond it, 503 with Retry-After.
   */
  maxBodyReads: number;
}

/** The production defaults behind `server.limits` in millwright.yml. */
export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4_096,
  maxBodyReads: 64,
};

export type { RequestContext, RouteHandler };

export interface CloseResult {
  /** Every in-flight request and tracked unit of work finished within the grace period. */
  drained: boolean;
  /** How many were still running when the grace period ended. */
  abandoned: number;
}

export interface CloseOptions {
  /** How long in-flight requests and tracked work get to finish. Default 10 s. */
  graceMs?: number;
  /** Aborted to cut the grace period short (a second SIGTERM). */
  hurry?: AbortSignal;
  /** Called when the grace period ends with work still running, to tell that work to stop. */
  abort?: () => void;
  /** How long stopped work gets to record its outcome before its connections are closed. Default 2 s. */
  settleMs?: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const UNMATCHED_ROUTE = 'unmatched';

class PayloadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

class BodyTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(`request body not received within ${limitMs} ms`);
    this.name = 'BodyTimeoutError';
  }
}

class TooManyBodyReadsError extends Error {
  constructor(readonly limit: number) {
    super(`already reading ${limit} request bodies`);
    this.name = 'TooManyBodyReadsError';
  }
}

/**
 * The HTTP server every surface shares.
 *
 * @example
 * const server = new HttpServer({ port: 3000, logger, metrics, readiness: () => store.readiness() });
 * server.route('POST', '/hooks/alertmanager', async (req, res, { readBody, track }) => {
 *   const body = JSON.parse((await readBody()).toString('utf8'));
 *   sendJson(res, 202, { status: 'accepted' });
 *   void track(intake.receive(body));
 * });
 * const { port } = await server.listen();
 */
export class HttpServer {
  readonly #options: HttpServerOptions;
  readonly #server: Server;
  readonly #routes = new Map<string, Map<string, RouteHandler>>();
  /** In-flight requests and tracked work; each entry settles (never rejects) when its unit is done. */
  readonly #pending = new Set<Promise<void>>();
  readonly #openResponses = new Set<ServerResponse>();
  readonly #limits: ServerLimits;
  #bodyReads = 0;
  #draining = false;
  #closing: Promise<CloseResult> | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
    const limits = { ...SERVER_LIMITS, ...options.limits };
    this.#limits = limits;
    this.#server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        // Node's own backstop for the whole request; readBody's timer is the precise body limit.
        requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // Node checks the two timeouts above only this often (30 s by default, which let a slow
        // client keep its headers open for ~90 s).
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, limits.headersTimeoutMs / 4)),
      },
      (req, res) => {
        void this.#handle(req, res);
      },
    );
    this.#server.maxConnections = limits.maxConnections;
    this.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('GET', '/readyz', (_req, res) => this.#readyz(res));
    this.route('GET', '/metrics', async (_req, res) => {
      const { contentType, text } = await options.metrics.render();
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
    });
  }

  /**
   * Mounts a handler on a path. Mounting the same method and path twice throws. A segment written
   * `:name` matches any one segment (`/api/v1/gates/:change`), its value in `ctx.params`; an exact
   * path wins over a pattern, and metrics and logs name the pattern, never the value.
   *
   * @example
   * server.route('POST', '/api/messages', (req, res) => teamsAdapter.process(req, res, bot.run));
   */
  route(method: string, path: string, handler: RouteHandler): this {
    const verb = method.toUpperCase();
    if (!path.startsWith('/')) throw new Error(`route path must start with "/", got "${path}"`);
    const methods = this.#routes.get(path) ?? new Map<string, RouteHandler>();
    if (methods.has(verb)) {
      throw new Error(`route ${verb} ${path} is already mounted; mount each method and path once`);
    }
    methods.set(verb, handler);
    this.#routes.set(path, methods);
    return this;
  }

  /**
   * Starts listening; port 0 picks a free port, and the one actually bound is returned.
   *
   * @example
   * const { port } = await server.listen(); await fetch(`http://127.0.0.1:${port}/healthz`);
   */
  listen(): Promise<{ port: number }> {
    const { port, host = '127.0.0.1', logger } = this.#options;
    if (this.#closing)
      return Promise.reject(new Error('the server was closed; create a new HttpServer to listen again'));
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      // Node's default accept backlog (511) overflows under a burst such as a scrape storm, and the
      // kernel then resets connections; let it hold as many as the server will take.
      this.#server.listen(port, host, this.#limits.maxConnections, () => {
        this.#server.off('error', reject);
        const bound = this.address!;
        logger.info({ host: bound.host, port: bound.port }, 'http server listening');
        resolve({ port: bound.port });
      });
    });
  }

  /** Where the server listens, or undefined before `listen()` and after `close()`. */
  get address(): { host: string; port: number } | undefined {
    const address = this.#server.address();
    return address !== null && typeof address === 'object'
      ? { host: address.address, port: address.port }
      : undefined;
  }

  /** True once `drain()` or `close()` has begun: `/readyz` answers 503 and responses close their connections. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Starts failing `/readyz` so load balancers stop routing here, while every route still serves.
   * The first step of a shutdown; `close()` follows once the balancer has noticed.
   *
   * @example
   * server.drain(); await sleep(5_000); await server.close({ graceMs: 10_000 });
   */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#options.logger.info('draining: /readyz answers 503, every other route still serves');
  }

  /**
   * Registers an in-flight unit of work (a running command) so `close()` waits for it.
   * Returns the same promise; its rejection stays the caller's to handle.
   *
   * @example
   * const reply = await server.track(router.handle(request));
   */
  track<T>(work: Promise<T>): Promise<T> {
    const settled: Promise<void> = work.then(
      () => {
        this.#pending.delete(settled);
      },
      () => {
        // The caller handles the rejection; shutdown only needs to know the work is over.
        this.#pending.delete(settled);
      },
    );
    this.#pending.add(settled);
    return work;
  }

  /**
   * Shuts down gracefully: stops accepting connections, fails `/readyz`, closes idle keep-alive
   * connections, waits up to `graceMs` for in-flight requests and tracked work, then force-closes
   * what is left. Calling it again returns the same result.
   *
   * @example
   * const { drained, abandoned } = await server.close({ graceMs: 10_000 });
   * if (!drained) logger.warn({ abandoned }, 'shutdown abandoned work');
   */
  close(options: CloseOptions = {}): Promise<CloseResult> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: CloseOptions): Promise<CloseResult> {
    const { logger } = this.#options;
    const { graceMs = 10_000, hurry, abort, settleMs = 2_000 } = options;
    this.#draining = true;
    // Responses not yet started end their connection, so keep-alive clients reconnect elsewhere.
    for (const res of this.#openResponses) if (!res.headersSent) res.setHeader('connection', 'close');
    const stopped = new Promise<void>((resolve) => {
      // The callback's error only says the server was not listening, which is fine when closing.
      this.#server.close(() => resolve());
    });
    this.#server.closeIdleConnections();
    logger.info({ inFlight: this.#pending.size, graceMs }, 'http server draining');

    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number, signal?: AbortSignal) =>
      new Promise<true>((resolve) => {
        timers.push(setTimeout(() => resolve(true), ms));
        if (signal?.aborted) resolve(true);
        signal?.addEventListener('abort', () => resolve(true), { once: true });
      });
    const settled = async (deadline: Promise<true>) => {
      // Loop because a finishing request may register follow-up work.
      while (this.#pending.size > 0) {
        const expired = await Promise.race([Promise.all(this.#pending).then(() => false), deadline]);
        if (expired) return;
      }
    };
    const graceOver = after(graceMs, hurry);
    try {
      await settled(graceOver);
      if (this.#pending.size > 0 && abort) {
        // Work told to stop records its own outcome (aborted) before the connections go.
        logger.warn({ running: this.#pending.size }, 'aborting work still running after the grace period');
        abort();
        await settled(after(settleMs));
      }
      const abandoned = this.#pending.size;
      if (abandoned === 0) {
        this.#server.closeIdleConnections();
        await Promise.race([stopped, graceOver]);
      }
      // Whatever is still connected now is either abandoned or a client that never finished its request.
      this.#server.closeAllConnections();
      await stopped;
      const result = { drained: abandoned === 0, abandoned };
      if (result.drained) logger.info(result, 'http server closed');
      else logger.warn(result, 'http server closed before all work finished');
      return result;
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger, metrics } = this.#options;
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const matched = this.#match(path);
    const methods = matched ? this.#routes.get(matched.route) : undefined;
    const route = matched?.route ?? UNMATCHED_ROUTE;
    const started = performance.now();

    this.#openResponses.add(res);
    this.track(
      new Promise<void>((resolve) => {
        res.once('close', () => {
          this.#openResponses.delete(res);
          const status = res.headersSent ? res.statusCode : 'aborted';
          metrics.observeHttpRequest(route, status);
          logger.debug(
            { method, route, status, ms: Math.round(performance.now() - started) },
            'http request',
          );
          resolve();
        });
      }),
    );
    if (this.#draining) res.setHeader('connection', 'close');

    const handler = methods?.get(method) ?? (method === 'HEAD' ? methods?.get('GET') : undefined);
    if (!methods) return sendJson(res, 404, { error: 'not found' });
    if (!handler) {
      const allowed = [...methods.keys()];
      if (methods.has('GET') && !methods.has('HEAD')) allowed.push('HEAD');
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: allowed.join(', ') });
    }

    const limit = this.#options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
    if (Number(req.headers['content-length'] ?? 0) > limit) return refuseTooLarge(res, limit);
    const ctx: RequestContext = {
      route,
      params: matched?.params ?? {},
      readBody: () => this.#readBody(req),
      track: (work) => this.track(work),
    };
    try {
      await handler(req, res, ctx);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return refuseTooLarge(res, limit);
      if (error instanceof BodyTimeoutError) {
        logger.info(
          { method, route, limitMs: error.limitMs },
          'cut off a request body that arrived too slowly',
        );
        return refuseAndClose(res, 408, { error: 'request body not received in time' });
      }
      if (error instanceof TooManyBodyReadsError) {
        logger.warn({ method, route, limit: error.limit }, 'refused a request: too many bodies being read');
        return refuseAndClose(res, 503, { error: 'busy, try again' }, { 'retry-after': '1' });
      }
      const ref = randomBytes(5).toString('hex');
      logger.error({ ref, err: error, method, route }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', ref });
      // A half-sent response cannot be corrected; cutting it off tells the client it is incomplete.
      else res.destroy();
    }
  }

  /** The mounted path a request path falls under: itself, else the first pattern that fits. */
  #match(path: string): { route: string; params: Record<string, string> } | undefined {
    if (this.#routes.has(path)) return { route: path, params: {} };
    const segments = path.split('/');
    for (const route of this.#routes.keys()) {
      if (!route.includes('/:')) continue;
      const pattern = route.split('/');
      if (pattern.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const fits = pattern.every((part, i) => {
        const segment = segments[i]!;
        if (!part.startsWith(':')) return part === segment;
        if (!segment) return false;
        try {
          params[part.slice(1)] = decodeURIComponent(segment);
          return true;
        } catch {
          // A malformed %-escape is no value for any parameter: the path does not fit.
          return false;
        }
      });
      if (fits) return { route, params };
    }
    return undefined;
  }

  /** Reads a body under the size, time and concurrency limits. */
  async #readBody(req: IncomingMessage): Promise<Buffer> {
    const { maxBodyReads, bodyTimeoutMs } = this.#limits;
    if (this.#bodyReads >= maxBodyReads) throw new TooManyBodyReadsError(maxBodyReads);
    this.#bodyReads += 1;
    try {
      return await readBody(req, this.#options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT, bodyTimeoutMs);
    } finally {
      this.#bodyReads -= 1;
    }
  }

  async #readyz(res: ServerResponse): Promise<void> {
    if (this.#draining) return sendJson(res, 503, { status: 'not ready', checks: { server: 'draining' } });
    let readiness: Readiness;
    try {
      readiness = (await this.#options.readiness?.()) ?? { ready: true, checks: {} };
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'readiness check failed');
      readiness = { ready: false, checks: { readiness: 'check failed' } };
    }
    if (readiness.ready) sendJson(res, 200, { status: 'ready', checks: readiness.checks });
    else sendJson(res, 503, { status: 'not ready', checks: readiness.checks });
  }
}

/**
 * Writes a JSON response.
 *
 * @example
 * sendJson(res, 202, { status: 'accepted' });
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Reads a JSON body for a webhook or an API route: refuses another content type (415), a body over
 * `maxBodyBytes` (413, before reading when the length is declared) and text that is not JSON (400),
 * each with one line. Resolves `{ json }`, or undefined once the refusal has been sent.
 *
 * @example
 * const body = await readJsonBody(req, res, ctx, { maxBodyBytes: 16384, sender: 'Alertmanager webhook v4' });
 * if (!body) return;
 */
export async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Pick<RequestContext, 'readBody'>,
  options: { maxBodyBytes: number; sender?: string },
): Promise<{ json: unknown } | undefined> {
  const { maxBodyBytes, sender } = options;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    sendJson(
      res,
      415,
      { error: `unsupported content type: send application/json${sender ? ` (${sender})` : ''}` },
      { accept: 'application/json' },
    );
    return undefined;
  }
  const tooLarge = { error: 'payload too large', limitBytes: maxBodyBytes };
  if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
    sendJson(res, 413, tooLarge, { connection: 'close' });
    return undefined;
  }
  const body = await ctx.readBody();
  if (body.length > maxBodyBytes) {
    sendJson(res, 413, tooLarge);
    return undefined;
  }
  try {
    return { json: JSON.parse(body.toString('utf8')) };
  } catch {
    // A body that is not JSON is the sender's mistake, said plainly.
    sendJson(res, 400, { error: 'body is not valid JSON' });
    return undefined;
  }
}

function refuseTooLarge(res: ServerResponse, limitBytes: number): void {
  refuseAndClose(res, 413, { error: 'payload too large', limitBytes });
}

/** Answers and ends the connection: the rest of the body is not read, so it cannot carry another request. */
function refuseAndClose(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  res.once('finish', () => res.socket?.destroySoon());
  sendJson(res, status, body, { ...headers, connection: 'close' });
}

function readBody(req: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.pause();
      reject(error);
    };
    const timer = setTimeout(() => stop(new BodyTimeoutError(timeoutMs)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return stop(new PayloadTooLargeError(limitBytes));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
