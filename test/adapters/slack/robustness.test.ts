// When Slack or a command misbehaves: rate limits, channels the bot is not in, a command that hangs,
// a wrong token at start-up, and user groups Slack cannot list.
import { SlackAdapter } from '../../../adapters/slack/index.js';
import { loadConfig } from '../../../src/app.js';
import { createLogger, defineCommand, fields, reply, silentLogger, text } from '../../../src/core/index.js';
import type { Executor } from '../../../src/executors/types.js';
import { buildRuntime } from '../../../src/main.js';
import { SlackApiDouble } from '../../doubles/slack-api.js';
import { fixture, type SlackHarness, STATUS_COMMAND, startSlackHarness, visibleText } from './harness.js';

describe('Slack Web API failures', () => {
  let h: SlackHarness;

  beforeEach(async () => {
    h = await startSlackHarness();
    h.register(STATUS_COMMAND);
  });
  afterEach(async () => {
    await h.close();
  });

  it('waits for Retry-After when Slack answers 429, then posts', async () => {
    h.slack.rateLimitNext('chat.postMessage', 1);
    await h.sendSlash('status --public', { channel_id: 'C0OPS' });
    const posted = await h.slack.waitForCall('chat.postMessage');
    const attempts = h.slack.callsTo('chat.postMessage');
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect(attempts[0]!.response).toEqual({ ok: false, error: 'ratelimited' });
    expect(visibleText(posted.args.blocks)).toBe('all services healthy');
  });

  it('answers in the channel through response_url when Millwright is not a member', async () => {
    h.slack.setChannel('C0PRIVATE', 'not_member');
    const { responseUrl } = await h.sendSlash('status --public', { channel_id: 'C0PRIVATE' });
    const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(answer.body).toMatchObject({ response_type: 'in_channel' });
    expect(visibleText(answer.body.blocks)).toBe('all services healthy');
    expect(h.slack.callsTo('chat.postMessage')[0]!.response).toEqual({ ok: false, error: 'not_in_channel' });
  });

  it('tells the person in a direct message when their answer could not be posted', async () => {
    h.slack.setChannel('C0GONE', 'not_member');
    const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event = { ...event.event, channel: 'C0GONE', text: '<@U0BOT> status --public' };
    event.event_time = h.nowSeconds();
    await h.sendEvent(event);
    const dm = await h.slack.waitForCall('chat.postMessage', (call) => call.args.channel === 'U061F7AUR');
    expect(dm.args.text).toContain(
      'I could not answer you in <#C0GONE>: Millwright is not a member of channel C0GONE',
    );
    expect(dm.args.text).toContain('/invite @Millwright');
  });

  it('gives digests and alerts a useful error for a missing channel or one it is not in', async () => {
    h.slack.setChannel('C0MISSING', 'missing');
    await expect(h.adapter.post('C0MISSING', reply(text('digest')))).rejects.toMatchObject({
      code: 'millwright_slack_channel_not_found',
      message: 'Slack has no channel C0MISSING that Millwright can see',
    });
    h.slack.setChannel('C0OUTSIDE', 'not_member');
    await expect(h.adapter.post('C0OUTSIDE', reply(text('digest')))).rejects.toMatchObject({
      code: 'millwright_slack_not_in_channel',
      hint: expect.stringContaining('/invite @Millwright'),
    });
    h.slack.rateLimitNext('chat.postMessage', 0, 3);
    await expect(h.adapter.post('C0OPS', reply(text('digest')))).rejects.toMatchObject({
      code: 'millwright_slack_rate_limited',
    });
    const handle = await h.adapter.post('C0OPS', reply(text('digest: all green')));
    await handle.update(reply(text('digest: checkout degraded')));
    const [message] = h.slack.messages.filter((m) => m.channel === 'C0OPS');
    expect(visibleText(message!.blocks)).toBe('digest: checkout degraded');
  });

  it('uploads a chart given as a data: URL with the files.getUploadURLExternal flow', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    h.register(
      defineCommand({
        name: 'chart',
        summary: 'a chart',
        examples: ['chart'],
        handler: () =>
          reply(text('Error budget, 30 days'), {
            type: 'image',
            url: `data:image/png;base64,${png.toString('base64')}`,
            alt: 'checkout error budget',
          }),
      }),
    );
    await h.sendSlash('chart --public', { channel_id: 'C0OPS' });
    await h.slack.waitForCall('files.completeUploadExternal');
    expect(h.slack.callsTo('files.getUploadURLExternal')[0]!.args).toMatchObject({
      filename: 'checkout-error-budget.png',
      length: String(png.length),
    });
    expect(h.slack.uploads).toEqual([
      {
        fileId: expect.any(String),
        filename: 'checkout-error-budget.png',
        bytes: png.length,
        channel: 'C0OPS',
        title: 'checkout error budget',
      },
    ]);
    const message = h.slack.callsTo('chat.postMessage')[0]!;
    expect(visibleText(message.args.blocks)).toContain('checkout error budget (uploaded below)');

    const { responseUrl } = await h.sendSlash('chart');
    const privately = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(visibleText(privately.body.blocks)).toContain('charts are not shown in private replies');
    expect(h.slack.uploads).toHaveLength(1);
  });
});

describe('a command that hangs', () => {
  let h: SlackHarness;
  let calls = 0;
  const hanging: Executor = {
    metadata: () => ({
      name: 'hang',
      version: '1.0.0',
      protocolVersion: 1,
      description: 'never answers',
      actions: {
        wait: { description: 'waits', input: { type: 'object' }, effect: 'read', dryRun: 'describe' },
      },
    }),
    execute: (ctx) =>
      new Promise((_, reject) => {
        calls++;
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      }),
  };

  beforeEach(async () => {
    h = await startSlackHarness({ routerTimeoutMs: 2_000, slackConfig: 'stillWorkingAfter: 300ms' });
    h.register(
      defineCommand({
        name: 'drain',
        summary: 'drains a node through an executor that hangs',
        examples: ['drain'],
        handler: async (ctx) => {
          await hanging.execute(
            {
              signal: ctx.signal,
              deadline: new Date(),
              dryRun: false,
              actor: ctx.actor.id,
              ref: ctx.ref,
              logger: ctx.logger,
            },
            { action: 'wait', input: {} },
          );
          return reply(text('drained'));
        },
      }),
    );
  });
  afterEach(async () => {
    await h.close();
  });

  it('acknowledges every slash command while the executor hangs, then tells each person it timed out', async () => {
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.sendSlash('drain', { user_id: `U0SRE${i}` })),
    );
    // Every acknowledgement is back while all eight commands are still stuck in the executor.
    expect(sent.map((s) => s.response.status)).toEqual(Array(8).fill(200));
    const timedOutSoFar = h.slack.responsePosts.filter((post) =>
      visibleText(post.body.blocks).includes('stopped'),
    );
    expect(timedOutSoFar).toEqual([]);

    for (const { responseUrl } of sent) {
      const note = await h.slack.waitForResponse(
        (post) => post.url === responseUrl && String(post.body.text).includes('Still working'),
      );
      expect(note.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      const timeout = await h.slack.waitForResponse(
        (post) => post.url === responseUrl && visibleText(post.body.blocks).includes('stopped'),
      );
      expect(visibleText(timeout.body.blocks)).toContain('drain was still running after 2s and was stopped');
      // The answer replaces the "still working" note instead of piling up under it.
      expect(timeout.body.replace_original).toBe(true);
    }
    expect(calls).toBe(8);
  });
});

describe('Slack start-up', () => {
  it('stops with a clear error when Slack rejects the bot token', async () => {
    const slack = await SlackApiDouble.start({ botToken: 'xoxb-the-right-one' });
    const { dir, runtime, adapter } = await adapterFor(slack, 'xoxb-a-wrong-one');
    try {
      await expect(adapter.start()).rejects.toMatchObject({
        code: 'millwright_slack_auth_failed',
        message:
          'Slack start-up failed, checking the bot token (slack.botToken): Slack rejected the bot token (invalid_auth)',
        hint: expect.stringContaining('SLACK_BOT_TOKEN'),
      });
    } finally {
      await runtime.close();
      await slack.close();
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops with a clear error when Slack cannot be reached, after a bounded number of tries', async () => {
    const slack = await SlackApiDouble.start();
    const apiUrl = slack.apiUrl;
    await slack.close();
    const { dir, runtime, adapter } = await adapterFor({ apiUrl }, 'xoxb-any');
    try {
      await expect(adapter.start()).rejects.toMatchObject({ code: 'millwright_slack_unreachable' });
    } finally {
      await runtime.close();
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Slack user groups', () => {
  let h: SlackHarness;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(async () => {
    log = memoryLogger();
    h = await startSlackHarness({
      slackConfig: 'groupCacheTtl: 5m',
      logger: log.logger,
      access: `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami] }
    operator: { allow: [restart, help, whoami] }
  subjects:
    group:sre: [operator]
    group:S0DBA0001: [operator]
`,
    });
    h.slack.userGroups.push(
      { id: 'S0614TZR7', handle: 'sre', name: 'SRE', users: ['U0ANA', 'U0BEN'] },
      { id: 'S0DBA0001', handle: 'dba', name: 'DBAs', users: ['U0DBA'] },
    );
    h.register(
      defineCommand({
        name: 'restart',
        summary: 'restarts a thing',
        examples: ['restart'],
        handler: (ctx) => reply(fields({ by: ctx.actor.id, groups: (ctx.actor.groups ?? []).join(',') })),
      }),
    );
  });
  afterEach(async () => {
    await h.close();
  });

  async function run(user: string, line: string): Promise<string> {
    const { responseUrl } = await h.sendSlash(line, { user_id: user });
    return visibleText((await h.slack.waitForResponse((post) => post.url === responseUrl)).body.blocks);
  }

  it('gives the roles of a Slack user group (by handle or id) to its members, cached for the TTL', async () => {
    expect(await run('U0ANA', 'restart')).toContain('sre');
    expect(await run('U0DBA', 'restart')).toContain('S0DBA0001');
    expect(await run('U0EVE', 'restart')).toContain('permission denied');
    expect(h.slack.callsTo('usergroups.users.list')).toHaveLength(2);
    expect(
      h.slack
        .callsTo('usergroups.users.list')
        .map((c) => c.args.usergroup)
        .sort(),
    ).toEqual(['S0614TZR7', 'S0DBA0001']);

    h.slack.userGroups[0]!.users = ['U0BEN'];
    expect(await run('U0ANA', 'restart')).toContain('sre');
    h.clock.shift(6 * 60 * 1000);
    expect(await run('U0ANA', 'restart')).toContain('permission denied');
    expect(h.slack.callsTo('usergroups.users.list')).toHaveLength(4);
  });

  /** The text of the refusal a slash command got (an error answer is plain text, not blocks). */
  async function refusal(user: string, line: string): Promise<string> {
    const { responseUrl } = await h.sendSlash(line, { user_id: user });
    const post = await h.slack.waitForResponse((p) => p.url === responseUrl);
    return `${String(post.body.text)}\n${visibleText(post.body.blocks)}`;
  }

  async function lastRecord() {
    await h.runtime.services.audit.flush();
    const [record] = await h.runtime.services.audit.recent({ limit: 1 });
    return record!;
  }

  function groupWarnings(): Array<Record<string, unknown>> {
    return log.records().filter((r) => String(r.msg).startsWith('Slack user groups could not be read'));
  }

  it('withholds group roles when Slack lacks usergroups:read, says so in the refusal, and asks again after a short back-off', async () => {
    h.slack.failNext('usergroups.list', { error: 'missing_scope', needed: 'usergroups:read' }, 2);
    const told = await refusal('U0ANA', 'restart');
    expect(told).toContain(
      'permission denied: your roles from Slack user groups could not be read (usergroups.list: missing_scope; the app needs usergroups:read), so only roles given to you by name apply',
    );
    expect(told).not.toContain(h.slack.botToken);
    expect(await lastRecord()).toMatchObject({
      actor: 'U0ANA',
      action: 'command.restart',
      outcome: 'denied',
      code: 'millwright_permission_denied',
      reason: expect.stringContaining('usergroups.list: missing_scope; the app needs usergroups:read'),
    });

    // Within the back-off Slack is not asked again, and the failure is not logged again.
    h.clock.shift(10_000);
    expect(await refusal('U0BEN', 'restart')).toContain('could not be read (usergroups.list: missing_scope');
    expect(h.slack.callsTo('usergroups.list')).toHaveLength(1);
    expect(groupWarnings()).toHaveLength(1);
    expect(groupWarnings()[0]).toMatchObject({ slackError: 'missing_scope' });

    // After it, Slack is asked again; the same failure inside the TTL window is not logged twice.
    h.clock.shift(25_000);
    expect(await refusal('U0ANA', 'restart')).toContain('missing_scope');
    expect(h.slack.callsTo('usergroups.list')).toHaveLength(2);
    expect(groupWarnings()).toHaveLength(1);

    // Once the scope is granted, the next request after the back-off gets the group's roles.
    h.clock.shift(31_000);
    expect(await run('U0ANA', 'restart')).toContain('sre');
    expect(h.slack.callsTo('usergroups.list')).toHaveLength(3);
  });

  it('names an outage (HTTP 500 past retries) and lets members in as soon as Slack answers again', async () => {
    h.slack.outageNext('usergroups.list', 500, 3);
    const told = await refusal('U0ANA', 'restart');
    expect(told).toContain(
      'your roles from Slack user groups could not be read (usergroups.list: HTTP 500 from Slack; Millwright asks again in 30s)',
    );
    expect(h.slack.callsTo('usergroups.list').map((call) => call.status)).toEqual([500, 500, 500]);
    expect(await lastRecord()).toMatchObject({
      outcome: 'denied',
      reason: expect.stringContaining('HTTP 500'),
    });
    expect(groupWarnings()[0]).toMatchObject({ slackError: 'http_500' });

    h.clock.shift(31_000);
    expect(await run('U0ANA', 'restart')).toContain('sre');
  });

  it('names a token Slack will not list groups for', async () => {
    h.slack.failNext('usergroups.list', { error: 'not_allowed_token_type' });
    expect(await refusal('U0ANA', 'restart')).toContain(
      'could not be read (usergroups.list: not_allowed_token_type; slack.botToken must be the bot token (xoxb-...))',
    );
  });

  it('names a rate limit that outlasted the retries', async () => {
    h.slack.rateLimitNext('usergroups.list', 1, 3);
    expect(await refusal('U0ANA', 'restart')).toContain(
      'could not be read (usergroups.list: ratelimited (HTTP 429); Millwright asks again in 30s)',
    );
    h.clock.shift(31_000);
    expect(await run('U0ANA', 'restart')).toContain('sre');
  });

  it('refuses as before when the groups Slack could not read would not have allowed it either', async () => {
    h.register(
      defineCommand({
        name: 'purge',
        summary: 'purges a cache',
        examples: ['purge'],
        handler: () => reply(text('purged')),
      }),
    );
    h.slack.failNext('usergroups.list', { error: 'missing_scope', needed: 'usergroups:read' });
    const told = await refusal('U0ANA', 'purge');
    expect(told).toContain('permission denied: U0ANA (roles: viewer) may not run purge');
    expect(told).not.toContain('could not be read');
  });
});

describe('refusals without Slack user groups', () => {
  it('are unchanged when no group is configured: Slack is never asked', async () => {
    const h = await startSlackHarness({
      access: `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help] }
  subjects: {}
`,
    });
    try {
      h.register(STATUS_COMMAND);
      const { responseUrl } = await h.sendSlash('status', { user_id: 'U0EVE' });
      const post = await h.slack.waitForResponse((p) => p.url === responseUrl);
      expect(String(post.body.text)).toContain('permission denied: U0EVE (roles: viewer) may not run status');
      expect(h.slack.callsTo('usergroups.list')).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  return { logger, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function adapterFor(slack: Pick<SlackApiDouble, 'apiUrl'>, botToken: string) {
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slack-start-'));
  const file = path.join(dir, 'millwright.yml');
  await writeFile(
    file,
    `store:\n  path: ./data\nslack:\n  botToken: ${botToken}\n  signingSecret: s3cr3t\n  apiUrl: ${slack.apiUrl}\n`,
  );
  const loaded = await loadConfig(file, { env: {} });
  const runtime = await buildRuntime(loaded, { logger: silentLogger() });
  const adapter = new SlackAdapter({
    config: loaded.config.slack!,
    handle: async () => reply(text('unused')),
    services: runtime.services,
    clock: runtime.clock,
    logger: silentLogger(),
  });
  return { dir, runtime, adapter };
}
