// A person types commands in Teams (personal chat, channel, group chat); the replies, progress
// updates and proactive posts arrive at the Bot Connector double as the cards they would see.

import { CONVERSATIONS, type StoredConversation } from '../../../adapters/teams/index.js';
import { context, defineCommand, reply, text } from '../../../src/core/index.js';
import {
  ANA,
  APP_ID,
  BEN,
  CHANNEL,
  cardOf,
  cardText,
  startTeamsBot,
  TENANT,
  type TeamsBot,
} from './teams-harness.js';

describe('Teams messages', () => {
  let bot: TeamsBot;

  beforeEach(async () => {
    bot = await startTeamsBot();
  });
  afterEach(async () => {
    await bot.close();
  });

  test('in a personal chat, "whoami" is answered with a card naming the AAD object id as the actor', async () => {
    const activity = await bot.activity('personal-message');
    const response = await bot.send(activity);
    expect(response.status).toBe(200);

    const answer = await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
    expect(answer.conversationId).toBe(activity.conversation.id);
    expect(answer.activityId).toBe(activity.id);
    expect(answer.body.replyToId).toBe(activity.id);
    expect(cardText(cardOf(answer)).join('\n')).toContain(ANA.aad);
    // The reply carries the bot's own token from Entra ID, for the bot's app, from its tenant.
    expect(bot.auth.issued(answer.authorization!.replace('Bearer ', ''))).toBe(true);
    expect(bot.auth.tokenRequests).toEqual([
      expect.objectContaining({
        tenant: TENANT,
        clientId: APP_ID,
        grantType: 'client_credentials',
        credential: 'secret',
      }),
    ]);
    expect(bot.auth.refusedHosts).toEqual([]);
  });

  test('the UPN from the roster names the actor once it is known', async () => {
    const activity = await bot.activity('personal-message');
    bot.connector.addMember({
      id: activity.from.id,
      name: ANA.name,
      aadObjectId: ANA.aad,
      userPrincipalName: ANA.upn,
    });
    await bot.send(activity);
    const answer = await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
    const shown = cardText(cardOf(answer)).join('\n');
    expect(shown).toContain(ANA.aad);
    expect(shown).toContain(ANA.upn);
  });

  test('in a channel the mention is stripped and the answer goes to the thread', async () => {
    const activity = await bot.activity('channel-mention');
    await bot.send(activity);
    const answer = await bot.connector.waitFor('the channel reply', (call) => call.method === 'POST');
    expect(answer.conversationId).toBe(`${CHANNEL};messageid=${activity.id}`);
    expect(answer.activityId).toBe(activity.id);
    const shown = cardText(cardOf(answer)).join('\n');
    expect(shown).toContain(ANA.aad);
    expect(shown).not.toContain('unknown command');
  });

  test('in a group chat the same grammar works ("help" lists the verbs)', async () => {
    const activity = await bot.activity('group-chat-message');
    await bot.send(activity);
    const answer = await bot.connector.waitFor('the help reply', (call) => call.method === 'POST');
    expect(answer.conversationId).toBe(activity.conversation.id);
    const shown = cardText(cardOf(answer)).join('\n');
    expect(shown).toMatch(/whoami/);
    expect(shown).toMatch(/audit/);
  });

  test('a typo gets a one-line error with a hint, not a stack trace', async () => {
    await bot.send(await bot.activity('personal-message', { text: 'whoamii' }));
    const answer = await bot.connector.waitFor('the error reply', (call) => call.method === 'POST');
    const shown = cardText(cardOf(answer));
    expect(shown[0]).toBe('**Error:** unknown command "whoamii"');
    expect(shown[1]).toMatch(/^Hint: did you mean "whoami"\?/);
    expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  test('progress is posted, then updated in place, then the answer follows', async () => {
    bot.register(
      defineCommand({
        name: 'slow',
        summary: 'reports progress',
        examples: ['slow'],
        handler: async (ctx) => {
          const progress = await ctx.reply(reply(text('restarting checkout: 0 of 3 pods')));
          await progress.update(reply(text('restarting checkout: 3 of 3 pods')));
          return reply(text('checkout restarted'), context('took 42s'));
        },
      }),
    );
    const activity = await bot.activity('channel-mention', { text: '<at>Millwright</at> slow' });
    await bot.send(activity);
    const update = await bot.connector.waitFor('the progress update', (call) => call.method === 'PUT');
    const progress = bot.connector.calls.find(
      (call) => call.method === 'POST' && call.id === update.activityId,
    )!;
    expect(cardText(cardOf(progress))).toEqual(['restarting checkout: 0 of 3 pods']);
    expect(cardText(cardOf(update))).toEqual(['restarting checkout: 3 of 3 pods']);
    const final = await bot.connector.waitFor(
      'the final answer',
      (call) => call.method === 'POST' && cardText(cardOf(call)).includes('checkout restarted'),
    );
    expect(final.conversationId).toBe(`${CHANNEL};messageid=${activity.id}`);
  });

  test('installing in a team stores the conversation and says hello; a digest can then be posted there unasked', async () => {
    const added = await bot.activity('bot-added-to-team');
    expect((await bot.send(added)).status).toBe(200);
    const hello = await bot.connector.waitFor('the welcome', (call) => call.method === 'POST');
    expect(cardText(cardOf(hello))[0]).toBe('Millwright is here');

    const stored = await bot.running.runtime.services.store.get<StoredConversation>(
      CONVERSATIONS,
      added.conversation.id,
    );
    expect(stored).toMatchObject({
      kind: 'channel',
      teamId: added.conversation.id,
      name: 'Site Reliability',
    });
    expect(stored?.reference).toMatchObject({
      serviceUrl: bot.connector.serviceUrl,
      conversation: { id: added.conversation.id },
    });

    const teams = bot.running.adapters.teams!;
    const handle = await teams.post(
      added.conversation.id,
      reply(text('Nightly digest: checkout 62% budget left')),
    );
    const digest = await bot.connector.waitFor(
      'the digest',
      (call) =>
        call.method === 'POST' && cardText(cardOf(call)).includes('Nightly digest: checkout 62% budget left'),
    );
    // A new post in the channel, not a reply to anything.
    expect(digest.conversationId).toBe(added.conversation.id);
    expect(digest.activityId).toBeUndefined();
    await handle.update(reply(text('Nightly digest: checkout 61% budget left')));
    const edited = await bot.connector.waitFor('the digest edit', (call) => call.method === 'PUT');
    expect(edited.activityId).toBe(digest.id);
    expect(bot.running.runtime.services.notices.surfaceFor('19:ops@thread.tacv2')).toBe(teams);
  });

  test('a personal chat is remembered on first message and reachable as user:<AAD object id>', async () => {
    await bot.send(await bot.activity('personal-message'));
    await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
    await bot.running.adapters.teams!.post(`user:${ANA.aad}`, reply(text('your change CR-12 was approved')));
    const direct = await bot.connector.waitFor(
      'the direct message',
      (call) => call.method === 'POST' && cardText(cardOf(call)).includes('your change CR-12 was approved'),
    );
    expect(direct.conversationId).toMatch(/^a:1Ana0Personal/);
  });

  test('when Teams refuses a proactive post, the caller gets a one-line error, not a silent success', async () => {
    await bot.send(await bot.activity('personal-message'));
    await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
    bot.connector.failNext(403, 'ConversationBlockedByUser', 'User blocked the conversation with the bot.');
    await expect(
      bot.running.adapters.teams!.post(`user:${ANA.aad}`, reply(text('digest'))),
    ).rejects.toMatchObject({
      code: 'millwright_dependency_unavailable',
      message: expect.stringMatching(
        /^the Bot Connector at http:\/\/127\.0\.0\.1:\d+\/ did not accept the message \(HTTP 403/,
      ),
      hint: expect.stringContaining('still installed'),
    });
  });

  test('posting to a conversation Millwright has never seen is a one-line error with a hint', async () => {
    await expect(
      bot.running.adapters.teams!.post(`user:${BEN.aad}`, reply(text('hi'))),
    ).rejects.toMatchObject({
      code: 'millwright_not_found',
      hint: expect.stringContaining('install the app'),
    });
  });
});
