// Small helpers the HTTP doubles share: read a request body, answer JSON, drop or hold a connection.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.once('end', () => resolve(body));
    req.once('error', reject);
  });
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Answers with no answer: `reset` drops the connection at once (ECONNRESET on the client), `hang`
 * holds it open in `hung` until the client gives up or the double closes (`for (res of hung) res.destroy()`).
 */
export function dropConnection(
  fault: 'reset' | 'hang',
  req: IncomingMessage,
  res: ServerResponse,
  hung: Set<ServerResponse>,
): void {
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  hung.add(res);
  res.once('close', () => hung.delete(res));
}
