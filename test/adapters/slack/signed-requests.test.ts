// Slack requests signed like Slack signs them, sent to the real Millwright server with Bolt mounted:
// what runs, what is refused with 401, and what a person then sees in Slack.
import { SlackAdapter } from '../../../adapters/slack/index.js';
import { defineCommand, reply, silentLogger, text } from '../../../src/core/index.js';
import { createMetrics, HttpServer } from '../../../src/server/index.js';
import type { Store } from '../../../src/store/store.js';
import { fixture, type SlackHarness, slackSignature, startSlackHarness, visibleText } from './harness.js';

/** A second Millwright replica on its own server, sharing the first one's store (or a given one). */
async function startReplica(h: SlackHarness, store: Store = h.runtime.services.store) {
  const server = new HttpServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger(),
    metrics: createMetrics(),
  });
  const adapter = new SlackAdapter({
    config: h.runtime.services.config.slack!,
    handle: (request) => h.router.handle(request),
    services: { ...h.runtime.services, store },
    clock: h.clock,
    logger: silentLogger(),
    track: (work) => server.track(work),
  });
  adapter.mount(server);
  await adapter.start();
  const { port } = await server.listen();
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    close: async () => {
      await server.close({ graceMs: 5_000 });
      await adapter.stop();
    },
  };
}

describe('Slack requests on POST /slack/events', () => {
  let h: SlackHarness;
  let pings: Array<{ actor: string; channel: string; surface: string }>;

  beforeEach(async () => {
    h = await startSlackHarness();
    pings = [];
    h.register(
      defineCommand({
        name: 'ping',
        summary: 'answers pong',
        examples: ['ping'],
        handler: (ctx) => {
          pings.push({ actor: ctx.actor.id, channel: ctx.channel, surface: ctx.surface });
          return reply(text(`pong for ${ctx.actor.id}`));
        },
      }),
    );
  });
  afterEach(async () => {
    await h.close();
  });

  it('acknowledges a slash command at once and answers privately through its response_url', async () => {
    const { response, responseUrl } = await h.sendSlash('ping');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(answer.body.response_type).toBe('ephemeral');
    expect(visibleText(answer.body.blocks)).toContain('pong for U2147483697');
    expect(pings).toEqual([{ actor: 'U2147483697', channel: 'C2147483705', surface: 'slack' }]);
    const [record] = await h.runtime.services.audit.recent({ limit: 1 });
    expect(record).toMatchObject({
      actor: 'U2147483697',
      surface: 'slack',
      channel: 'C2147483705',
      action: 'command.ping',
    });
  });

  it('posts in the channel with --public', async () => {
    await h.sendSlash('ping --public');
    const posted = await h.slack.waitForCall('chat.postMessage');
    expect(posted.args.channel).toBe('C2147483705');
    expect(visibleText(posted.args.blocks)).toContain('pong for U2147483697');
    expect(posted.token).toBe(h.slack.botToken);
  });

  it('answers an unknown command with a one-line error and a hint, never a stack trace', async () => {
    const { responseUrl } = await h.sendSlash('pnig');
    const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
    const seen = visibleText(answer.body.blocks);
    expect(seen).toContain('unknown command "pnig"');
    expect(seen).toContain('did you mean "ping"?');
    expect(seen).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('refuses a forged signature, an old or future timestamp, a changed body and a replay with 401, running nothing', async () => {
    const accepted = h.slashCommand('ping');
    const ts = h.nowSeconds();
    const first = await h.post(accepted.body, { timestamp: ts });
    expect(first.status).toBe(200);
    await h.slack.waitForResponse((post) => post.url === accepted.responseUrl);
    expect(pings).toHaveLength(1);

    const forged = h.slashCommand('ping');
    const refusals = {
      forged: await h.post(forged.body, {
        sign: false,
        headers: slackSignature(forged.body, h.nowSeconds(), 'not-the-signing-secret'),
      }),
      unsigned: await h.post(h.slashCommand('ping').body, { sign: false }),
      old: await h.post(h.slashCommand('ping').body, { timestamp: h.nowSeconds() - 6 * 60 }),
      future: await h.post(h.slashCommand('ping').body, { timestamp: h.nowSeconds() + 5 * 60 }),
      changed: await (() => {
        const signed = h.slashCommand('ping');
        const headers = slackSignature(signed.body, h.nowSeconds());
        return h.post(signed.body.replace('text=ping', 'text=ping+--public'), { sign: false, headers });
      })(),
      // The exact request Slack sent and Millwright accepted, sent again with its original headers.
      replay: await h.post(accepted.body, { timestamp: ts }),
    };
    for (const [name, response] of Object.entries(refusals)) {
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
    }
    // Let any work that was wrongly started finish before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pings).toHaveLength(1);
    const records = await h.runtime.services.audit.recent({ limit: 10 });
    expect(records.filter((r) => r.action === 'command.ping')).toHaveLength(1);
    expect(h.slack.responsePosts.filter((p) => p.url === accepted.responseUrl)).toHaveLength(1);
  });

  it('does not act on a replay sent to another replica that shares the store', async () => {
    const accepted = h.slashCommand('ping');
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      ...slackSignature(accepted.body, h.nowSeconds()),
    };
    expect((await fetch(h.eventsUrl, { method: 'POST', headers, body: accepted.body })).status).toBe(200);
    await h.slack.waitForResponse((post) => post.url === accepted.responseUrl);
    const replica = await startReplica(h);
    try {
      // The other replica has not seen it itself; the shared record stops it before anything runs.
      expect((await fetch(replica.url, { method: 'POST', headers, body: accepted.body })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 150));
    } finally {
      await replica.close();
    }
    expect(pings).toHaveLength(1);
    expect(h.slack.responsePosts.filter((p) => p.url === accepted.responseUrl)).toHaveLength(1);
  });

  it('runs nothing, and says so, when the store cannot record the request', async () => {
    const broken = Object.assign(Object.create(h.runtime.services.store) as Store, {
      insertNew: () => Promise.reject(new Error('disk full')),
    });
    const replica = await startReplica(h, broken);
    try {
      const { body, responseUrl } = h.slashCommand('ping');
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        ...slackSignature(body, h.nowSeconds()),
      };
      expect((await fetch(replica.url, { method: 'POST', headers, body })).status).toBe(200);
      const told = await h.slack.waitForResponse((post) => post.url === responseUrl);
      expect(told.body.text).toContain('could not record this request, so it did not run it');
    } finally {
      await replica.close();
    }
    expect(pings).toHaveLength(0);
  });

  it("verifies against the worked example in Slack's request-signing guide", async () => {
    const example = fixture<{ signingSecret: string; timestamp: string; body: string; signature: string }>(
      'signed-request.json',
    );
    expect(
      slackSignature(example.body, Number(example.timestamp), example.signingSecret)['x-slack-signature'],
    ).toBe(example.signature);
  });

  it('runs an app_mention once even when Slack retries it, and answers in its thread', async () => {
    const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event.text = '<@U0BOT> ping --public';
    event.event_time = h.nowSeconds();
    const first = await h.sendEvent(event);
    expect(first.status).toBe(200);
    const posted = await h.slack.waitForCall('chat.postMessage');
    expect(posted.args).toMatchObject({ channel: 'C123ABC456', thread_ts: '1515449522.000016' });
    expect(visibleText(posted.args.blocks)).toContain('pong for U061F7AUR');

    // Slack signs a retry afresh (another timestamp), so only the event id tells it apart.
    const retry = await h.post(JSON.stringify(event), {
      contentType: 'application/json',
      timestamp: h.nowSeconds() - 2,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pings).toEqual([{ actor: 'U061F7AUR', channel: 'C123ABC456', surface: 'slack' }]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it('answers a private mention reply to the asker only', async () => {
    const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event.text = 'hey <@U0BOT>: ping';
    event.event_id = 'Ev0PRIVATE1';
    event.event_time = h.nowSeconds();
    await h.sendEvent(event);
    const ephemeral = await h.slack.waitForCall('chat.postEphemeral');
    expect(ephemeral.args).toMatchObject({ channel: 'C123ABC456', user: 'U061F7AUR' });
    // A top-level mention has no thread yet, and Slack hides ephemeral replies in such threads.
    expect(ephemeral.args.thread_ts).toBeUndefined();
    expect(visibleText(ephemeral.args.blocks)).toContain('pong for U061F7AUR');
  });

  it('takes commands in a direct message with the app', async () => {
    const event = fixture('message-im.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event.text = 'ping';
    event.event_time = h.nowSeconds();
    await h.sendEvent(event);
    const posted = await h.slack.waitForCall('chat.postMessage');
    expect(posted.args.channel).toBe('D024BE91L');
    expect(visibleText(posted.args.blocks)).toContain('pong for U2147483697');
  });

  it("answers Slack's url_verification challenge when it is signed", async () => {
    const response = await h.post(
      JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aB', type: 'url_verification' }),
      {
        contentType: 'application/json',
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: '3eZbrw1aB' });
  });
});
