// `millwright serve` with a slack section: the adapter on the real server (HTTP), or connected over
// Socket Mode, started and stopped by startServer like in production.

import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/core/index.js';
import { type RunningServer, startServer } from '../../../src/main.js';
import { SlackApiDouble } from '../../doubles/slack-api.js';
import { fixture, SIGNING_SECRET, slackSignature, visibleText } from './harness.js';

describe('millwright serve with Slack', () => {
  let dir: string;
  let slack: SlackApiDouble;
  let running: RunningServer | undefined;
  const signals = new EventEmitter();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slack-serve-'));
    slack = await SlackApiDouble.start();
  });
  afterEach(async () => {
    if (running) {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
      running = undefined;
    }
    await slack.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(
    slackSection: string,
    botToken = slack.botToken,
    appToken = slack.appToken,
    port?: number,
  ) {
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      [
        'server:\n  host: 127.0.0.1\n  port: 0',
        'store:\n  path: ./data',
        `slack:\n  botToken: \${SLACK_BOT_TOKEN}\n  signingSecret: \${SLACK_SIGNING_SECRET}\n  apiUrl: ${slack.apiUrl}\n${slackSection}`,
        'access:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [help, whoami] }\n  subjects: {}',
      ].join('\n'),
    );
    const env = {
      SLACK_BOT_TOKEN: botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_APP_TOKEN: appToken,
    };
    running = await startServer(await loadConfig(file, { env }), {
      logger: silentLogger(),
      signals,
      ...(port ? { port } : {}),
    });
    return running;
  }

  it('mounts Bolt on POST /slack/events of the one server and answers a signed slash command', async () => {
    const server = await serve('  command: /millwright');
    expect(server.adapters.slack?.name).toBe('slack');
    expect(server.runtime.services.notices.surfaceFor('C0123ABCD')).toBe(server.adapters.slack);
    const params = new URLSearchParams(fixture('slash-command.txt'));
    const responseUrl = slack.responseUrl();
    params.set('command', '/millwright');
    params.set('text', 'whoami');
    params.set('response_url', responseUrl);
    const body = params.toString();
    const response = await fetch(`http://127.0.0.1:${server.port}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...slackSignature(body, Math.floor(Date.now() / 1000)),
      },
      body,
    });
    expect(response.status).toBe(200);
    const answer = await slack.waitForResponse((post) => post.url === responseUrl);
    // users.info does not know this person, so the name the slash command gave, with the id after it.
    expect(visibleText(answer.body.blocks)).toContain('You are Steve (U2147483697)');
    // The other routes still answer on the same server.
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });

  it('connects over Socket Mode instead when slack.socketMode is set', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${ENV} reference in the config file, not a template
    const server = await serve('  socketMode: true\n  appToken: ${SLACK_APP_TOKEN}');
    await slack.waitForSocketClient();
    expect(slack.callsTo('apps.connections.open')[0]?.token).toBe(slack.appToken);
    const command = Object.fromEntries(new URLSearchParams(fixture('slash-command.txt')));
    const responseUrl = slack.responseUrl();
    const ack = await slack.sendEnvelope('slash_commands', {
      ...command,
      command: '/sre',
      text: 'whoami',
      response_url: responseUrl,
    });
    expect(ack.envelope_id).toEqual(expect.any(String));
    const answer = await slack.waitForResponse((post) => post.url === responseUrl);
    expect(visibleText(answer.body.blocks)).toContain('You are Steve (U2147483697)');
    // No HTTP route for Slack in Socket Mode.
    expect((await fetch(`http://127.0.0.1:${server.port}/slack/events`, { method: 'POST' })).status).toBe(
      404,
    );
  });

  it('refuses to start with a bot token Slack rejects, saying which setting to fix', async () => {
    await expect(serve('', 'xoxb-revoked-last-week')).rejects.toMatchObject({
      code: 'millwright_slack_auth_failed',
      hint: expect.stringContaining('slack.botToken'),
    });
    running = undefined;
  });

  it('refuses to start with an app-level token Slack rejects, naming that token, not the bot token', async () => {
    const starting = serve(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${ENV} reference in the config file, not a template
      '  socketMode: true\n  appToken: ${SLACK_APP_TOKEN}',
      slack.botToken,
      'xapp-1-revoked',
    );
    await expect(starting).rejects.toMatchObject({
      code: 'millwright_slack_auth_failed',
      message: expect.stringContaining('Slack rejected the app-level token (invalid_auth)'),
      hint: expect.stringContaining('slack.appToken'),
    });
    running = undefined;
  });

  it('fails start-up with a clear message when Slack keeps refusing the Socket Mode connection, serving /healthz meanwhile', async () => {
    slack.failNext('apps.connections.open', { error: 'internal_error', status: 500 }, 1_000);
    const port = await freePort();
    const starting = serve(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${ENV} reference in the config file, not a template
      '  socketMode: true\n  appToken: ${SLACK_APP_TOKEN}\n  startTimeout: 1500ms',
      slack.botToken,
      slack.appToken,
      port,
    );
    const probes = (async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (health?.status === 200) {
          const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
          return { health: health.status, ready: ready.status, checks: (await ready.json()).checks };
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return undefined;
    })();
    expect(await probes).toEqual({
      health: 200,
      ready: 503,
      checks: expect.objectContaining({ surfaces: 'starting' }),
    });
    await expect(starting).rejects.toMatchObject({
      code: 'millwright_slack_unreachable',
      // Whichever ends it first: Slack's client giving up, or slack.startTimeout.
      message: expect.stringMatching(
        /did not accept the Socket Mode connection within \d+(ms|s) \(slack\.startTimeout\)|cannot reach Slack/,
      ),
    });
    running = undefined;
  });
});

/** A port nothing listens on right now, so the test can probe the server before startServer resolves. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
