// The real server (startServer) with Teams configured against local doubles: the channel's keys
// and Entra ID (bot-framework-auth) and the Bot Connector (bot-connector), all on 127.0.0.1.
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CARD_CONTENT_TYPE } from '../../../adapters/teams/index.js';
import { loadConfig } from '../../../src/app.js';
import {
  type Clock,
  type CommandDefinition,
  type Logger,
  silentLogger,
  type UpstreamResilience,
} from '../../../src/core/index.js';
import { type RunningServer, startServer } from '../../../src/main.js';
import {
  type BotConnectorDouble,
  type ConnectorCall,
  startBotConnector,
} from '../../doubles/bot-connector.js';
import { type BotFrameworkAuthDouble, startBotFrameworkAuth } from '../../doubles/bot-framework-auth.js';
import { expectValidCard } from './card-schema.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/teams');

export const APP_ID = '00000000-0000-0000-0000-00000000a99b';
export const APP_PASSWORD = 'bot-client-secret-value';
export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const ANA = {
  aad: '6f1c8a52-0c35-4c1e-9a11-7a2b53c0d001',
  name: 'Ana Lopez',
  upn: 'ana@contoso.example',
};
export const BEN = {
  aad: '0b7e4d21-9f3a-4c55-8e2d-1c6a9b3f0002',
  name: 'Ben Kim',
  upn: 'ben@contoso.example',
};
export const CHANNEL = '19:5f0b2c7e8d9a4b1c9e3f2a1b0c9d8e7f@thread.tacv2';

/** Access: everyone may run the read-only verbs and ask for approvals; Ana is an approver. */
export const TEAMS_ACCESS = `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit, approval.request, slow, form-demo] }
    approver: { allow: ['approval.*'] }
  subjects:
    ${ANA.aad}: [approver]
`;

export type Activity = Record<string, unknown> & {
  conversation: { id: string };
  from: { id: string; name?: string; aadObjectId?: string };
};

export interface TeamsBot {
  running: RunningServer;
  auth: BotFrameworkAuthDouble;
  connector: BotConnectorDouble;
  dir: string;
  url: string;
  /** A fixture activity with this connector's serviceUrl and the changes given. */
  activity(fixture: string, changes?: Partial<Activity>): Promise<Activity>;
  /** POSTs an activity to /api/messages with a valid channel token (or the `authorization` given). */
  send(activity: Activity, options?: { authorization?: string | null }): Promise<Response>;
  register(command: CommandDefinition): void;
  close(): Promise<void>;
}

/** The Adaptive Card a connector call carries. */
export function cardOf(call: ConnectorCall): Record<string, unknown> {
  const attachments = call.body.attachments as Array<{
    contentType: string;
    content: Record<string, unknown>;
  }>;
  const card = attachments?.find((attachment) => attachment.contentType === CARD_CONTENT_TYPE)?.content;
  if (!card) throw new Error(`no Adaptive Card in ${call.method} ${call.conversationId}`);
  return card;
}

/** Every TextBlock text in a card, in order, nested ones included: what a person reads. */
export function cardText(card: unknown): string[] {
  const texts: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const element = node as Record<string, unknown>;
    if (element.type === 'TextBlock' && typeof element.text === 'string') texts.push(element.text);
    if (element.type === 'FactSet') {
      for (const fact of element.facts as Array<{ title: string; value: string }>)
        texts.push(`${fact.title}: ${fact.value}`);
    }
    for (const [key, value] of Object.entries(element)) if (key !== 'data') walk(value);
  };
  walk((card as { body?: unknown }).body);
  return texts;
}

/** The Action.Execute buttons on a card, by title. */
export function buttonsOf(card: unknown): Map<string, Record<string, unknown>> {
  const buttons = new Map<string, Record<string, unknown>>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const element = node as Record<string, unknown>;
    if (element.type === 'Action.Execute') buttons.set(String(element.title), element);
    for (const value of Object.values(element)) walk(value);
  };
  walk((card as { body?: unknown }).body);
  return buttons;
}

export async function startTeamsBot(
  options: {
    /** The `teams:` section, given the identity double (default: password auth against the doubles). */
    teams?: (auth: BotFrameworkAuthDouble) => string;
    access?: string;
    logger?: Logger;
    invokeWaitMs?: number;
    /** Whether the connector double insists on a token from the Entra ID double (default true). */
    connectorRequiresToken?: boolean;
    /** Millwright's clock (button expiry, card times); real time by default. */
    clock?: Clock;
    /** The upstream policies (small limits, a fixed clock for circuits); the server's own by default. */
    upstreams?: UpstreamResilience;
  } = {},
): Promise<TeamsBot> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-teams-'));
  const auth = await startBotFrameworkAuth();
  const connector = await startBotConnector(
    options.connectorRequiresToken === false ? {} : { acceptToken: (token) => auth.issued(token) },
  );
  auth.registerApp({ clientId: APP_ID, secret: APP_PASSWORD });
  const file = path.join(dir, 'millwright.yml');
  const teams =
    options.teams?.(auth) ??
    `teams:
  appId: ${APP_ID}
  appPassword: \${TEAMS_APP_PASSWORD}
  tenantId: ${TENANT}
  openIdMetadataUrl: ${auth.openIdMetadataUrl}
  loginAuthority: ${auth.authority(TENANT)}
`;
  await writeFile(
    file,
    `server:\n  host: 127.0.0.1\n  port: 0\nstore:\n  path: ./data\nlog:\n  level: silent\n${teams}${options.access ?? TEAMS_ACCESS}`,
  );
  const signals = new EventEmitter();
  let running: RunningServer;
  try {
    running = await startServer(await loadConfig(file, { env: { TEAMS_APP_PASSWORD: APP_PASSWORD } }), {
      logger: options.logger ?? silentLogger(),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.upstreams ? { upstreams: options.upstreams } : {}),
      signals,
      teams: {
        msalNetworkClient: auth.networkClient,
        ...(options.invokeWaitMs === undefined ? {} : { invokeWaitMs: options.invokeWaitMs }),
      },
    });
  } catch (error) {
    await Promise.all([auth.close(), connector.close(), rm(dir, { recursive: true, force: true })]);
    throw error;
  }
  const url = `http://127.0.0.1:${running.port}/api/messages`;
  let closed = false;
  return {
    running,
    auth,
    connector,
    dir,
    url,
    activity: async (fixture, changes = {}) => {
      const raw = JSON.parse(
        await readFile(path.join(FIXTURES, `${fixture}.activity.json`), 'utf8'),
      ) as Activity;
      return { ...raw, serviceUrl: connector.serviceUrl, ...changes } as Activity;
    },
    send: (activity, sendOptions = {}) => {
      const authorization =
        sendOptions.authorization === undefined
          ? auth.channelAuthorization({ appId: APP_ID, serviceUrl: String(activity.serviceUrl) })
          : sendOptions.authorization;
      return fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          ...(authorization === null ? {} : { authorization }),
        },
        body: JSON.stringify(activity),
      });
    },
    register: (command) => running.runtime.services.registry.register(command),
    close: async () => {
      if (closed) return;
      closed = true;
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
      await Promise.all([auth.close(), connector.close()]);
      await rm(dir, { recursive: true, force: true });
      // Every card Millwright sent or updated is checked against the Adaptive Card schema.
      for (const call of connector.calls) {
        if (call.method !== 'GET' && Array.isArray(call.body.attachments)) expectValidCard(cardOf(call));
      }
    },
  };
}
