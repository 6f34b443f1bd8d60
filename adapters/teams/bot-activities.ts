// What goes back to the Bot Framework: a card as a message activity, an invoke's answer, and the
// express-like response CloudAdapter.process writes to.
import type { ServerResponse } from 'node:http';
import { type Activity, ActivityTypes, type Response as BotResponse, type TurnContext } from 'botbuilder';
import { type Reply, replyToText } from '../../src/core/index.js';
import { sendJson } from '../../src/server/index.js';
import { type AdaptiveCard, CARD_CONTENT_TYPE } from './adaptive-card.js';

/** A message activity carrying one Adaptive Card, summarised by the reply's first line (for notifications). */
export function cardActivity(card: AdaptiveCard, message: Reply): Partial<Activity> {
  const summary = replyToText(message).split('\n', 1)[0]?.slice(0, 200);
  return {
    type: ActivityTypes.Message,
    attachments: [{ contentType: CARD_CONTENT_TYPE, content: card }],
    ...(summary ? { summary } : {}),
  };
}

/** Answers an invoke activity (a card action) with a status and body. */
export async function invokeResponse(turn: TurnContext, status: number, body: unknown): Promise<void> {
  await turn.sendActivity({ type: 'invokeResponse', value: { status, body } });
}

/** An express-like response over node's, which is all CloudAdapter.process needs. */
export function responseFor(res: ServerResponse): BotResponse {
  let status = 200;
  let body: unknown;
  const response: BotResponse = {
    socket: res.socket,
    status: (code: number) => {
      status = code;
      return response;
    },
    header: (name: string, value: unknown) => {
      res.setHeader(name, String(value));
      return response;
    },
    send: (value: unknown) => {
      body = value;
      return response;
    },
    end: () => {
      if (res.headersSent) return response;
      if (body === undefined) {
        res.writeHead(status, { 'content-length': 0 });
        res.end();
      } else if (typeof body === 'string') {
        // botbuilder sends error text here; the detail is in the log, not for the caller.
        sendJson(res, status, { error: status >= 500 ? 'internal error' : body });
      } else sendJson(res, status, body);
      return response;
    },
  };
  return response;
}
