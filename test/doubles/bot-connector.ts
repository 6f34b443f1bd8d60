// A local double of the Bot Connector service Teams bots reply to (the activity's serviceUrl):
// the v3 conversation routes botbuilder calls, answering with ResourceResponse ids and ErrorResponses.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dropConnection, json, readBody } from './http-body.js';

/** One call the bot made, as the connector saw it. */
export interface ConnectorCall {
  method: 'POST' | 'PUT' | 'GET';
  /** The conversation id as it appeared in the path (decoded; may carry `;messageid=`). */
  conversationId: string;
  /** The activity replied to (POST) or updated (PUT). */
  activityId?: string;
  /** The id the connector assigned (POST) or kept (PUT). */
  id?: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

export interface TeamsMember {
  id: string;
  name: string;
  aadObjectId: string;
  userPrincipalName?: string;
  email?: string;
  givenName?: string;
  surname?: string;
  tenantId?: string;
  userRole?: string;
}

/**
 * A fault the connector answers instead of taking a POST or PUT: an ErrorResponse with a status
 * (and Retry-After, as the service sends with 429), a dropped connection, or no answer at all.
 */
export type ConnectorFault =
  | { status: number; code?: string; message?: string; retryAfterSeconds?: number }
  | 'reset'
  | 'hang';

/** Every request the connector received, faults included (`calls` holds only those it took). */
export interface ConnectorRequest {
  method: string;
  path: string;
  /** The fault it was answered with; absent when the connector handled it. */
  fault?: ConnectorFault;
}

export interface BotConnectorDouble {
  /** With the trailing slash, like `https://smba.trafficmanager.net/amer/`. */
  serviceUrl: string;
  calls: ConnectorCall[];
  /** Adds a member the roster answers for (GET .../members/{id}). */
  addMember(member: TeamsMember): void;
  /** Answers the next POST or PUT with this Bot Connector ErrorResponse instead of taking it. */
  failNext(status: number, code: string, message: string): void;
  /** Answers the next `times` POSTs or PUTs (only `method` when given) with `fault`. */
  fail(fault: ConnectorFault, options?: { times?: number; method?: 'POST' | 'PUT' }): void;
  clearFaults(): void;
  /** Every request received, in order, with what it was answered. */
  requests: ConnectorRequest[];
  /** The activity as it stands now (after updates), by conversation and id. */
  activity(conversationId: string, id: string): Record<string, unknown> | undefined;
  /** Resolves with the first call (already made or to come) that matches; rejects after `timeoutMs`. */
  waitFor(what: string, match: (call: ConnectorCall) => boolean, timeoutMs?: number): Promise<ConnectorCall>;
  close(): Promise<void>;
}

/**
 * Starts the connector double on 127.0.0.1. Calls without a bearer token `acceptToken` approves get
 * 401, as the real service answers a bot whose token it cannot validate.
 *
 * @example
 * const connector = await startBotConnector({ acceptToken: (token) => auth.issued(token) });
 * const reply = await connector.waitFor('the reply', (call) => call.method === 'POST');
 */
export async function startBotConnector(
  options: { acceptToken?: (token: string) => boolean } = {},
): Promise<BotConnectorDouble> {
  const calls: ConnectorCall[] = [];
  const events = new EventEmitter();
  const activities = new Map<string, Record<string, unknown>>();
  const members = new Map<string, TeamsMember>();
  const faults: Array<{ fault: ConnectorFault; method?: 'POST' | 'PUT' }> = [];
  const requests: ConnectorRequest[] = [];
  const hung = new Set<ServerResponse>();
  let nextId = 1_700_000_000_000;
  const base = (conversationId: string) => conversationId.split(';messageid=')[0] ?? conversationId;
  const key = (conversationId: string, id: string) => `${base(conversationId)}|${id}`;

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      errorResponse(res, 500, 'ServiceError', String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://connector');
    const raw = await readBody(req);
    const authorization = req.headers.authorization;
    if (options.acceptToken) {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      if (!token || !options.acceptToken(token)) {
        return errorResponse(res, 401, 'Unauthorized', 'Authorization has been denied for this request.');
      }
    }
    const parts = url.pathname.split('/').map((part) => decodeURIComponent(part));
    // ['', 'v3', 'conversations', conversationId, 'activities' | 'members', id?]
    if (parts[1] !== 'v3' || parts[2] !== 'conversations' || !parts[3]) {
      return errorResponse(res, 404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
    }
    const conversationId = parts[3];
    const collection = parts[4];
    const id = parts[5];
    if (req.method === 'GET' && collection === 'members' && id) {
      const member = members.get(id);
      record({ method: 'GET', conversationId, activityId: id, body: {}, authorization });
      if (!member)
        return errorResponse(
          res,
          404,
          'MemberNotFoundInConversation',
          'The member was not found in the conversation.',
        );
      return json(res, 200, member);
    }
    if (collection !== 'activities' || (req.method !== 'POST' && req.method !== 'PUT')) {
      return errorResponse(res, 405, 'MethodNotAllowed', `${req.method} ${url.pathname} is not supported`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // The service answers a body it cannot parse with BadArgument; so does the double.
      return errorResponse(res, 400, 'BadArgument', 'The request body is not a valid activity.');
    }
    if (typeof body.type !== 'string')
      return errorResponse(res, 400, 'BadArgument', 'Activity type is required.');
    const faultAt = faults.findIndex((rule) => rule.method === undefined || rule.method === req.method);
    if (faultAt >= 0) {
      const [{ fault }] = faults.splice(faultAt, 1) as [{ fault: ConnectorFault }];
      requests.push({ method: req.method ?? '', path: url.pathname, fault });
      if (typeof fault !== 'object') return dropConnection(fault, req, res, hung);
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('retry-after', String(fault.retryAfterSeconds));
      return errorResponse(
        res,
        fault.status,
        fault.code ?? (fault.status === 429 ? 'TooManyRequests' : 'ServiceError'),
        fault.message ?? (fault.status === 429 ? 'Too many requests.' : 'The service is unavailable.'),
      );
    }
    requests.push({ method: req.method ?? '', path: url.pathname });
    if (req.method === 'POST') {
      const assigned = String(nextId++);
      activities.set(key(conversationId, assigned), { ...body, id: assigned });
      record({
        method: 'POST',
        conversationId,
        ...(id ? { activityId: id } : {}),
        id: assigned,
        body,
        authorization,
      });
      return json(res, 201, { id: assigned });
    }
    if (!id || !activities.has(key(conversationId, id))) {
      return errorResponse(
        res,
        404,
        'ActivityNotFoundInConversation',
        'The activity to update was not found.',
      );
    }
    activities.set(key(conversationId, id), { ...body, id });
    record({ method: 'PUT', conversationId, activityId: id, id, body, authorization });
    return json(res, 200, { id });
  }

  function record(call: ConnectorCall): void {
    calls.push(call);
    events.emit('call', call);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('connector double did not bind');

  return {
    serviceUrl: `http://127.0.0.1:${address.port}/`,
    calls,
    requests,
    failNext: (status, code, message) => {
      faults.push({ fault: { status, code, message } });
    },
    fail: (fault, options = {}) => {
      for (let i = 0; i < (options.times ?? 1); i++) {
        faults.push({ fault, ...(options.method ? { method: options.method } : {}) });
      }
    },
    clearFaults: () => {
      faults.length = 0;
    },
    addMember: (member) => {
      members.set(member.id, member);
    },
    activity: (conversationId, id) => activities.get(key(conversationId, id)),
    waitFor: (what, match, timeoutMs = 10_000) =>
      new Promise<ConnectorCall>((resolve, reject) => {
        const found = calls.find(match);
        if (found) return resolve(found);
        const timer = setTimeout(() => {
          events.off('call', listener);
          reject(
            new Error(
              `the connector never received ${what}; it saw: ${calls.map(describe).join(', ') || 'nothing'}`,
            ),
          );
        }, timeoutMs);
        const listener = (call: ConnectorCall) => {
          if (!match(call)) return;
          clearTimeout(timer);
          events.off('call', listener);
          resolve(call);
        };
        events.on('call', listener);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function describe(call: ConnectorCall): string {
  return `${call.method} ${call.conversationId}${call.activityId ? `/${call.activityId}` : ''}`;
}

function errorResponse(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { error: { code, message } });
}
