// A plain HTTP service on 127.0.0.1 for the http executor: routes answer what a test sets, can echo
// the request back, fail a number of times, hang or reset; every request is recorded.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TargetRequest {
  method: string;
  /** Raw request target as sent on the wire (path and query, not normalised). */
  rawUrl: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TargetAnswer {
  status?: number;
  /** An object is sent as JSON; a string as text/plain unless `headers` says otherwise. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer: hold the connection until the client gives up or the double closes. */
  hang?: boolean;
  /** Drop the connection without an answer (ECONNRESET on the client). */
  reset?: boolean;
}

export interface HttpTargetDouble {
  url: string;
  requests: TargetRequest[];
  /**
   * Answers `method path` (path without query) with `answer`, the next `times` times (default: always).
   * Later rules for the same route win while they last, so a fault can sit on top of a normal answer.
   */
  on(
    method: string,
    path: string,
    answer: TargetAnswer | ((request: TargetRequest) => TargetAnswer),
    times?: number,
  ): void;
  /** Forgets every route set with `on`, so the next test starts from 404s. */
  clearRules(): void;
  close(): Promise<void>;
}

/**
 * Starts the target on a random port. Unrouted requests get 404 `{"error":"not found"}`.
 *
 * @example
 * const cdn = await startHttpTarget();
 * cdn.on('POST', '/api/purge', { status: 202, body: { purged: 1 } });
 * cdn.on('GET', '/api/echo', (request) => ({ body: { headers: request.headers } }));
 */
export async function startHttpTarget(): Promise<HttpTargetDouble> {
  const requests: TargetRequest[] = [];
  const rules: Array<{
    method: string;
    path: string;
    answer: TargetAnswer | ((request: TargetRequest) => TargetAnswer);
    left: number;
  }> = [];
  const hung = new Set<ServerResponse>();

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: TargetRequest = {
      method: req.method ?? 'GET',
      rawUrl: req.url ?? '/',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(request);
    const rule = [...rules]
      .reverse()
      .find(
        (candidate) =>
          candidate.left > 0 && candidate.method === request.method && candidate.path === request.path,
      );
    if (!rule) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    rule.left -= 1;
    const answer = typeof rule.answer === 'function' ? rule.answer(request) : rule.answer;
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    if (answer.hang) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    const isText = typeof answer.body === 'string';
    const headers = {
      ...(answer.body === undefined
        ? {}
        : { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json' }),
      ...answer.headers,
    };
    res.writeHead(answer.status ?? 200, headers);
    if (request.method === 'HEAD' || answer.body === undefined) res.end();
    else res.end(isText ? (answer.body as string) : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    on: (method, path, answer, times = Infinity) => {
      rules.push({ method: method.toUpperCase(), path, answer, left: times });
    },
    clearRules: () => {
      rules.length = 0;
    },
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
