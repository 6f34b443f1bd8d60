// A local double of the Bot Connector service Teams bots reply to (the activity's serviceUrl):
// the v3 conversation routes botbuilder calls, answering with ResourceResponse ids and ErrorResponses.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { json, readBody } from './http-body.js';

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

export interface BotConnectorDouble {
  /** With the trailing slash, like `https://smba.trafficmanager.net/amer/`. */
  serviceUrl: string;
  calls: ConnectorCall[];
  /** Adds a member the roster answers for (GET .../members/{id}). */
  addMember(member: TeamsMember): void;
  /** Answers the next POST or PUT with this Bot Connector ErrorResponse instead of taking it. */
  failNext(status: number, code: string, message: string): void;
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
  let failure: { status: number; code: string; message: string } | undefined;
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
    if (failure) {
      const { status, code, message } = failure;
      failure = undefined;
      return errorResponse(res, status, code, message);
    }
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
    failNext: (status, code, message) => {
      failure = { status, code, message };
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
