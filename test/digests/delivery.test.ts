// Delivery through the real surfaces: the server's node-cron heartbeat posting to the Slack Web API
// double (with a retry after not_in_channel), a Teams conversation stored at install time, and the shell.
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { type Clock, replyToText, silentLogger } from '../../src/core/index.js';
import type { DigestRunRecord } from '../../src/digests/index.js';
import { main, type RunningServer, startServer } from '../../src/main.js';
import { cardOf, cardText, startTeamsBot, type TeamsBot } from '../adapters/teams/teams-harness.js';
import { SlackApiDouble } from '../doubles/slack-api.js';
import { accessWithImpersonator } from '../helpers/os-user.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const SIGNING_SECRET = 'e0c5d3a4b1f2968877aa55cc33dd11ff';

const digestYaml = (target: string, schedule = '* * * * *') => `
digests:
  - name: ops
    description: Ops digest
    schedule: "${schedule}"
    target: ${target}
    sections: [incidents, toil]
    retry: { attempts: 3, backoff: 3s }
`;

const OPERATORS = `
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: [help, whoami, 'digest.*'] }
`;

/**
 * Real time shifted so that the next whole minute (when a `* * * * *` digest is due) comes about
 * eight seconds from now, on a whole real second, when the every-second heartbeat fires: enough for
 * the server to start first even on a busy machine, so the slot is never already past.
 */
function minuteSoonClock(): Clock & { dueAt: Date } {
  const realDue = Math.ceil((Date.now() + 8_000) / 1000) * 1000;
  const dueAt = new Date(Math.ceil(realDue / 60_000) * 60_000);
  const offset = dueAt.getTime() - realDue;
  return { now: () => new Date(Date.now() + offset), dueAt };
}

describe('Slack: the server posts on schedule', () => {
  let slack: SlackApiDouble;
  let dir: string;
  let running: RunningServer | undefined;
  const signals = new EventEmitter();

  beforeAll(async () => {
    slack = await SlackApiDouble.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-digest-slack-'));
  });
  afterAll(async () => {
    if (running) {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
    }
    await slack.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a real node-cron tick posts the digest; not_in_channel is retried and digest list shows it', async () => {
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
log: { level: silent }
slack:
  botToken: ${slack.botToken}
  signingSecret: ${SIGNING_SECRET}
  apiUrl: ${slack.apiUrl}
${digestYaml('C0DIGEST')}${OPERATORS}`,
    );
    // The bot was not invited yet: the first attempt fails, someone invites it, the retry posts.
    slack.setChannel('C0DIGEST', 'not_member');
    const clock = minuteSoonClock();
    running = await startServer(await loadConfig(file, { env: {} }), {
      logger: silentLogger(),
      clock,
      signals,
      digests: { heartbeat: '* * * * * *' },
    });
    const { digests } = running.runtime.services;
    expect(digests.scheduling).toBe(true);
    // Nothing is due yet; the first attempt comes from a heartbeat at the minute, and is refused.
    expect(slack.callsTo('chat.postMessage')).toHaveLength(0);
    await waitUntil(() => slack.callsTo('chat.postMessage').length > 0, 20_000);
    const first = slack.callsTo('chat.postMessage')[0]!;
    expect(first.response).toMatchObject({ ok: false, error: 'not_in_channel' });
    await waitUntil(async () => JSON.stringify((await list(running!)).blocks).includes('retrying'), 5_000);
    const waiting = replyToText(await list(running));
    expect(waiting).toContain(
      'ops: retrying: attempt 1 of 3 failed (Millwright is not a member of channel C0DIGEST, so it cannot post there); next attempt',
    );
    slack.setChannel('C0DIGEST', 'member');

    const posted = await slack.waitForCall(
      'chat.postMessage',
      (call) => call.args.channel === 'C0DIGEST' && call.response.ok === true,
      10_000,
    );
    const blocks = JSON.stringify(posted.args.blocks);
    expect(blocks).toContain(`Ops digest: `);
    expect(blocks).toContain('No open incidents.');
    expect(blocks).toContain('No runbooks ran in this period.');
    expect(blocks).toContain('attempt 2');
    await digests.idle();
    const after = replyToText(await list(running));
    expect(after).toMatch(
      /ops\s+\* \* \* \* \* \(UTC\)\s+.+ \(\d{4}-.+ UTC\)\s+C0DIGEST\s+.+\s+posted after 2 attempts/,
    );
    expect(after).toContain(`This replica (${digests.instanceId}) posts them on schedule`);
    // Exactly one digest reached the channel for that minute.
    const delivered = slack.callsTo('chat.postMessage').filter((call) => call.response.ok === true);
    expect(delivered).toHaveLength(1);
    const record = await running.runtime.services.store.get<DigestRunRecord>('digest-runs', 'ops');
    expect(record?.handledSlot?.at).toBe(clock.dueAt.toISOString());
  }, 180_000);
});

function list(server: RunningServer) {
  return server.router.handle({
    actor: { id: 'ana' },
    surface: 'shell',
    channel: 'shell',
    text: 'digest list',
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Teams: a digest goes to the conversation stored when the app was installed', () => {
  let bot: TeamsBot;
  beforeAll(async () => {
    const installed = JSON.parse(
      await readFile(path.join(FIXTURES, 'teams', 'bot-added-to-team.activity.json'), 'utf8'),
    ) as { conversation: { id: string } };
    bot = await startTeamsBot({
      access: `${digestYaml(installed.conversation.id, '0 9 * * *')}${OPERATORS}`,
    });
  });
  afterAll(() => bot.close());

  test('digest run ops, typed in a channel, posts the digest card to the team; --here shows it in place', async () => {
    const added = await bot.activity('bot-added-to-team');
    expect((await bot.send(added)).status).toBe(200);
    await bot.connector.waitFor('the welcome', (call) => call.method === 'POST');

    const mention = await bot.activity('channel-mention', { text: '<at>Millwright</at> digest run ops' });
    expect((await bot.send(mention)).status).toBe(200);
    const digest = await bot.connector.waitFor(
      'the digest in the team channel',
      (call) =>
        call.method === 'POST' &&
        call.conversationId === added.conversation.id &&
        cardText(cardOf(call)).some((line) => line.startsWith('Ops digest: ')),
    );
    expect(cardText(cardOf(digest))).toEqual(
      expect.arrayContaining(['No open incidents.', 'No runbooks ran in this period.']),
    );
    const confirmation = await bot.connector.waitFor(
      'the confirmation',
      (call) =>
        call.method === 'POST' &&
        cardText(cardOf(call)).some((line) => line.includes('Posted the ops digest')),
    );
    expect(confirmation.conversationId).toBe(mention.conversation.id);

    const here = await bot.activity('channel-mention', { text: '<at>Millwright</at> digest run ops --here' });
    await bot.send(here);
    const preview = await bot.connector.waitFor(
      'the preview',
      (call) =>
        call.method === 'POST' &&
        call.conversationId === here.conversation.id &&
        cardText(cardOf(call)).some((line) =>
          line.includes(`preview: not posted to ${added.conversation.id}`),
        ),
    );
    expect(cardText(cardOf(preview)).some((line) => line.startsWith('Ops digest: '))).toBe(true);
  });
});

describe('the shell previews and does not schedule', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-digest-shell-'));
    await writeFile(
      path.join(dir, 'millwright.yml'),
      // The operators' roles, and the OS user may pick the actor with --as (impersonate).
      `store: { path: ./data }\n${digestYaml('C0DIGEST', '0 9 * * 1-5')}${accessWithImpersonator({ defaultRoles: ['operator'], roles: { operator: { allow: ['help', 'whoami', 'digest.*'] } } })}`,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const shell = async (line: string) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await main(
      ['shell', '--config', path.join(dir, 'millwright.yml'), '--as', 'ana', '-e', line],
      {
        stdin: new PassThrough(),
        stdout,
        stderr,
        env: {},
        cwd: dir,
      },
    );
    return { code, out };
  };

  test('digest run NAME --here prints the digest; digest run NAME says no chat platform is running', async () => {
    const preview = await shell('digest run ops --here');
    expect(preview.code).toBe(0);
    expect(preview.out).toMatch(/^Ops digest: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(preview.out).toContain('preview: not posted to C0DIGEST');
    const post = await shell('digest run ops');
    expect(post.code).toBe(1);
    expect(post.out).toContain('error: no chat platform is running here to post ops to C0DIGEST');
    expect(post.out).toContain('hint: digest run ops --here shows it in this channel');
    const listed = await shell('digest list');
    expect(listed.out).toContain('Nothing posts on schedule here: the server (millwright serve) does.');
  });
});
