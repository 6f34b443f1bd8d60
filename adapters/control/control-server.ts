// The holder's side of the control protocol: runs commands other local processes send, as the shell
// would (surface `shell`), streaming progress back. Only loopback, only with the token.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditLog } from '../../src/core/audit.js';
import type { CommandRequest, Logger, MessageHandle, Reply } from '../../src/core/index.js';
import {
  AUDIT_PATH,
  auditBody,
  COMMANDS_PATH,
  type ControlLine,
  commandBody,
  MAX_BODY_BYTES,
} from './protocol.js';

export interface ControlServerOptions {
  handle: (request: CommandRequest) => Promise<Reply>;
  /** Where a client's own records go (the holder's trail); absent, /v1/audit answers 404. */
  audit?: () => Promise<AuditLog>;
  token: string;
  logger: Logger;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function answer(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: message }));
}

/**
 * Listens on 127.0.0.1 (an ephemeral port) until `close`.
 *
 * @example
 * const control = await ControlServer.start({ handle: (r) => router.handle(r), token, logger });
 * await storeLock.advertise({ port: control.port, token });
 */
export class ControlServer {
  readonly #server: Server;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(options: ControlServerOptions): Promise<ControlServer> {
    const expected = Buffer.from(`Bearer ${options.token}`);
    const server = createServer((req, res) => {
      // One request per connection: a client never sends a command on a connection this process is
      // closing.
      res.shouldKeepAlive = false;
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        answer(res, 401, 'missing or wrong control token');
        return;
      }
      if (req.method !== 'POST' || (req.url !== COMMANDS_PATH && req.url !== AUDIT_PATH)) {
        answer(res, 404, `POST ${COMMANDS_PATH} or ${AUDIT_PATH}`);
        return;
      }
      const work = req.url === COMMANDS_PATH ? runCommand(req, res, options) : appendAudit(req, res, options);
      work.catch((error: unknown) => {
        options.logger.warn({ err: error }, 'control request failed');
        if (!res.headersSent) answer(res, 400, 'bad control request');
        else res.end();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new ControlServer(server, (server.address() as AddressInfo).port);
  }

  /** Stops taking commands and waits for the ones running to answer, then closes. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}

async function runCommand(req: IncomingMessage, res: ServerResponse, options: ControlServerOptions) {
  const parsed = commandBody.safeParse(await readJson(req));
  if (!parsed.success) {
    answer(res, 400, 'expected { actor: { id }, channel, text }');
    return;
  }
  const body = parsed.data;
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const send = (line: ControlLine) => {
    if (!res.writableEnded) res.write(`${JSON.stringify(line)}\n`);
  };
  // The answer's head reaches the sender before the command starts: a sender that never got it knows
  // the command never ran here, and may send it again to whoever holds the store next.
  await new Promise<void>((resolve, reject) =>
    res.write(`${JSON.stringify({ accepted: true } satisfies ControlLine)}\n`, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  let next = 0;
  const reply = await options.handle({
    actor: body.actor,
    ...(body.via ? { via: body.via } : {}),
    surface: 'shell',
    channel: body.channel,
    text: body.text,
    signal: gone.signal,
    sink: {
      send: async (progress): Promise<MessageHandle> => {
        const id = next++;
        send({ progress: { id, reply: progress } });
        return { update: async (updated) => send({ update: { id, reply: updated } }) };
      },
    },
  });
  send({ reply });
  res.end();
}

async function appendAudit(req: IncomingMessage, res: ServerResponse, options: ControlServerOptions) {
  const parsed = auditBody.safeParse(await readJson(req));
  if (!parsed.success || !options.audit) {
    answer(res, parsed.success ? 404 : 400, 'expected a shell audit record');
    return;
  }
  const audit = await options.audit();
  const { args, via, code, ...entry } = parsed.data;
  await audit.append({
    ...entry,
    ...(via ? { via } : {}),
    ...(code ? { code } : {}),
    args: args ?? {},
    surface: 'shell',
  });
  res.writeHead(204).end();
}
