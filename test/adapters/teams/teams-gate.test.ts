// What POST /api/messages refuses after (or before) the token: an activity from a tenant the bot
// does not serve (403, nothing stored), one whose serviceUrl the token does not vouch for (401),
// and one that is not a Bot Framework activity (400) — none of them reaches botbuilder or a command.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CARDS, CONVERSATIONS, type StoredConversation } from '../../../adapters/teams/index.js';
import { loadConfig } from '../../../src/app.js';
import { defineCommand, reply, text } from '../../../src/core/index.js';
import {
  type Activity,
  APP_ID,
  APP_PASSWORD,
  cardOf,
  cardText,
  startTeamsBot,
  TENANT,
  type TeamsBot,
} from './teams-harness.js';

const FOREIGN_TENANT = '1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b';
const PARTNER_TENANT = '9a8b7c6d-5e4f-4321-9fed-cba987654321';

/** The fixture as another tenant's Teams would send it: both places Teams names the tenant. */
function fromTenant(activity: Activity, tenant: string): Activity {
  const channelData = activity.channelData as Record<string, unknown>;
  const conversation = { ...activity.conversation, tenantId: tenant };
  return { ...activity, conversation, channelData: { ...channelData, tenant: { id: tenant } } };
}

/** A command whose reply has a button, so answering it would store a card. */
const ticketCommand = defineCommand({
  name: 'ticket',
  summary: 'Opens a ticket with a button',
  examples: ['ticket'],
  handler: () =>
    reply(text('ticket T-1 opened'), {
      type: 'actions',
      actions: [{ id: 'close', label: 'Close', command: 'whoami' }],
    }),
});

describe('Teams tenants (teams.tenantId set, so only that tenant is answered)', () => {
  let bot: TeamsBot;

  beforeEach(async () => {
    bot = await startTeamsBot({
      access: `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit, ticket] }
`,
    });
    bot.register(ticketCommand);
  });
  afterEach(async () => {
    await bot.close();
  });

  /** Nothing of the refused activity is kept: no conversation, no card, no command record, no reply. */
  async function expectNothingStored() {
    const { store, audit } = bot.running.runtime.services;
    expect(await store.list(CONVERSATIONS)).toEqual([]);
    expect(await store.list(CARDS)).toEqual([]);
    const records = await audit.recent({ limit: 20 });
    expect(records.filter((record) => record.action.startsWith('command.'))).toEqual([]);
    expect(bot.connector.calls).toEqual([]);
  }

  test('a validly signed message from another tenant gets 403 and nothing is stored or run', async () => {
    const activity = fromTenant(
      await bot.activity('channel-mention', { text: '<at>Millwright</at> ticket' }),
      FOREIGN_TENANT,
    );
    const response = await bot.send(activity);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: 'this bot does not answer activities from this tenant',
    });
    await expectNothingStored();
    // The refusal itself is on the audit trail, as a denial naming the tenant.
    const [refusal] = await bot.running.runtime.services.audit.recent({ limit: 1 });
    expect(refusal).toMatchObject({
      action: 'teams.tenant_refused',
      outcome: 'denied',
      code: 'millwright_permission_denied',
      surface: 'teams',
      args: { tenants: [FOREIGN_TENANT], type: 'message' },
    });
  });

  test('being added to a team in another tenant is refused: the conversation is not remembered', async () => {
    const response = await bot.send(fromTenant(await bot.activity('bot-added-to-team'), FOREIGN_TENANT));
    expect(response.status).toBe(403);
    await expectNothingStored();
  });

  test('an activity that names the allowed tenant in one place and another in the other is refused', async () => {
    const activity = await bot.activity('personal-message');
    const mixed = { ...activity, conversation: { ...activity.conversation, tenantId: FOREIGN_TENANT } };
    expect((await bot.send(mixed)).status).toBe(403);
    await expectNothingStored();
  });

  test('an activity that names no tenant is refused', async () => {
    const activity = await bot.activity('personal-message');
    const { tenantId: _tenant, ...conversation } = activity.conversation as Record<string, unknown>;
    const anonymous = { ...activity, conversation, channelData: {} } as unknown as Activity;
    expect((await bot.send(anonymous)).status).toBe(403);
    await expectNothingStored();
  });

  test('an activity from the bot’s own tenant is still answered (the tenant id compared without case)', async () => {
    const activity = fromTenant(
      await bot.activity('personal-message', { text: 'ticket' }),
      TENANT.toUpperCase(),
    );
    expect((await bot.send(activity)).status).toBe(200);
    const answer = await bot.connector.waitFor('the ticket reply', (call) => call.method === 'POST');
    expect(cardText(cardOf(answer))).toContain('ticket T-1 opened');
    expect(await bot.running.runtime.services.store.list(CONVERSATIONS)).toHaveLength(1);
  });
});

describe('teams.allowedTenants', () => {
  test('lists the tenants answered; another is refused', async () => {
    const bot = await startTeamsBot({
      teams: (auth) =>
        `teams:\n  appId: ${APP_ID}\n  appPassword: ${APP_PASSWORD}\n  tenantId: ${TENANT}\n  allowedTenants: [${TENANT}, ${PARTNER_TENANT}]\n  openIdMetadataUrl: ${auth.openIdMetadataUrl}\n  loginAuthority: ${auth.authority(TENANT)}\n`,
    });
    try {
      const partner = fromTenant(await bot.activity('personal-message'), PARTNER_TENANT);
      expect((await bot.send(partner)).status).toBe(200);
      await bot.connector.waitFor('the partner reply', (call) => call.method === 'POST');
      const foreign = fromTenant(await bot.activity('group-chat-message'), FOREIGN_TENANT);
      expect((await bot.send(foreign)).status).toBe(403);
      const stored = await bot.running.runtime.services.store.list<StoredConversation>(CONVERSATIONS);
      expect(stored.map((conversation) => conversation.tenantId)).toEqual([PARTNER_TENANT]);
    } finally {
      await bot.close();
    }
  });

  test('an empty list is refused at config load, not read as "no tenant at all"', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-teams-tenants-'));
    try {
      const file = path.join(dir, 'millwright.yml');
      await writeFile(
        file,
        `teams:\n  appId: a\n  appPassword: p\n  tenantId: ${TENANT}\n  allowedTenants: []\n`,
      );
      await expect(loadConfig(file, { env: {} })).rejects.toThrow(
        'teams.allowedTenants: list at least one tenant id, or leave it out',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a multi-tenant bot with neither tenantId nor allowedTenants answers any tenant, as before', async () => {
    const bot = await startTeamsBot({
      teams: (auth) =>
        `teams:\n  appId: ${APP_ID}\n  appPassword: ${APP_PASSWORD}\n  appType: MultiTenant\n  openIdMetadataUrl: ${auth.openIdMetadataUrl}\n  loginAuthority: ${auth.authority('botframework.com')}\n`,
    });
    try {
      const foreign = fromTenant(await bot.activity('personal-message'), FOREIGN_TENANT);
      expect((await bot.send(foreign)).status).toBe(200);
      await bot.connector.waitFor('the reply', (call) => call.method === 'POST');
    } finally {
      await bot.close();
    }
  });
});

describe('Teams serviceUrl and activity shape', () => {
  let bot: TeamsBot;

  beforeAll(async () => {
    bot = await startTeamsBot();
  });
  afterAll(async () => {
    await bot.close();
  });

  /** A valid channel token for the connector double's service URL. */
  const tokenForConnector = () =>
    bot.auth.channelAuthorization({ appId: APP_ID, serviceUrl: bot.connector.serviceUrl });

  async function expectRefused(activity: unknown, status: number, error: string) {
    const calls = bot.connector.calls.length;
    const response = await fetch(bot.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: tokenForConnector() },
      body: JSON.stringify(activity),
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error });
    const { store, audit } = bot.running.runtime.services;
    expect(await audit.recent({ limit: 10 })).toEqual([]);
    expect(await store.list(CONVERSATIONS)).toEqual([]);
    expect(bot.connector.calls.length).toBe(calls);
  }

  test('a signed activity without serviceUrl gets 401 (the claim check is not skipped)', async () => {
    const { serviceUrl: _url, ...activity } = await bot.activity('personal-message');
    await expectRefused(activity, 401, 'unauthorized');
  });

  test('an activity whose serviceUrl is not the token’s serviceurl claim gets 401', async () => {
    const activity = await bot.activity('personal-message', { serviceUrl: 'https://evil.example/' });
    await expectRefused(activity, 401, 'unauthorized');
  });

  test('an activity without a type gets 400 with a one-line error, not a 500', async () => {
    const { type: _type, ...activity } = await bot.activity('personal-message');
    await expectRefused(activity, 400, 'not a Bot Framework activity: type is required');
  });

  test('a type that is not a string, or a malformed from, conversation or recipient, gets 400', async () => {
    const activity = await bot.activity('personal-message');
    await expectRefused(
      { ...activity, type: 42 },
      400,
      'not a Bot Framework activity: type must be a string like "message"',
    );
    await expectRefused(
      { ...activity, from: 'Ana Lopez' },
      400,
      'not a Bot Framework activity: from must be an object with an id',
    );
    await expectRefused(
      { ...activity, from: { name: 'Ana Lopez' } },
      400,
      'not a Bot Framework activity: from.id is required',
    );
    await expectRefused(
      { ...activity, conversation: { id: 7 } },
      400,
      'not a Bot Framework activity: conversation.id must be a string',
    );
    await expectRefused(
      { ...activity, recipient: [] },
      400,
      'not a Bot Framework activity: recipient must be an object with an id',
    );
    await expectRefused(
      { ...activity, channelData: { tenant: 'contoso' } },
      400,
      'not a Bot Framework activity: channelData.tenant must be an object',
    );
  });

  test('a body that is JSON but not an object gets 400', async () => {
    await expectRefused([], 400, 'the body must be a JSON activity object');
    await expectRefused('message', 400, 'the body must be a JSON activity object');
  });

  test('a well-formed activity with a matching serviceUrl is still answered', async () => {
    const response = await bot.send(await bot.activity('personal-message'));
    expect(response.status).toBe(200);
    const answer = await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
    expect(cardText(cardOf(answer)).join('\n')).toContain('6f1c8a52-0c35-4c1e-9a11-7a2b53c0d001');
  });
});
