// manifest.yml imports as a Slack app whose URLs, command, events and scopes match what the adapter does.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../../../adapters/slack/index.js';
import { millwrightConfigSchema } from '../../../src/app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Manifest {
  display_information: { name: string; description: string; long_description?: string };
  features: {
    bot_user: { display_name: string };
    slash_commands: Array<{ command: string; url: string; usage_hint: string; should_escape: boolean }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled: boolean;
  };
}

describe('manifest.yml', () => {
  const manifest = parse(readFileSync(path.join(ROOT, 'manifest.yml'), 'utf8')) as Manifest;

  it('sends slash commands, events and interactivity to the one Slack route', () => {
    const urls = [
      ...manifest.features.slash_commands.map((c) => c.url),
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
    ];
    for (const url of urls) expect(new URL(url).pathname).toBe(SLACK_EVENTS_PATH);
    expect(new Set(urls).size).toBe(1);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('declares the default slash command with a usage hint, unescaped as the adapter expects', () => {
    const defaults = millwrightConfigSchema().parse({ slack: { botToken: 'x', signingSecret: 'y' } });
    const [command] = manifest.features.slash_commands;
    expect(command).toMatchObject({ command: defaults.slack!.command, should_escape: false });
    expect(command!.usage_hint).toContain('help');
  });

  it('subscribes to mentions and direct messages, with only the scopes the adapter uses', () => {
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual(['app_mention', 'message.im']);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual([
      'app_mentions:read',
      'channels:manage',
      'chat:write',
      'commands',
      'files:write',
      'im:history',
      'pins:write',
      'usergroups:read',
      'users:read',
    ]);
  });

  it('grants a scope for every Slack Web API method the adapter can call', () => {
    // Slack's reference: the bot scopes each method accepts (any one of them will do); null: none needed.
    const SCOPES: Record<string, string[] | null> = {
      'auth.test': null,
      'chat.postMessage': ['chat:write'],
      'chat.postEphemeral': ['chat:write'],
      'chat.update': ['chat:write'],
      'views.open': null,
      'conversations.create': ['channels:manage', 'groups:write'],
      'conversations.invite': ['channels:manage', 'groups:write'],
      'conversations.setTopic': ['channels:manage', 'groups:write'],
      'pins.add': ['pins:write'],
      'usergroups.list': ['usergroups:read'],
      'usergroups.users.list': ['usergroups:read'],
      'users.info': ['users:read'],
      'files.getUploadURLExternal': ['files:write'],
      'files.completeUploadExternal': ['files:write'],
    };
    const dir = path.join(ROOT, 'adapters/slack');
    const called = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(path.join(dir, file), 'utf8');
      for (const match of source.matchAll(/\b(?:web|client)\.((?:[a-z]+\.)+[a-zA-Z]+)\(/g))
        called.add(match[1]!);
      // filesUploadV2 is the two-step external upload.
      if (/\.filesUploadV2\(/.test(source)) {
        called.add('files.getUploadURLExternal');
        called.add('files.completeUploadExternal');
      }
    }
    expect(called.size).toBeGreaterThan(8);
    const granted = new Set(manifest.oauth_config.scopes.bot);
    const missing = [...called].filter((method) => {
      if (!(method in SCOPES)) return true; // a new method: add it to the table above with its scopes
      const needs = SCOPES[method];
      return needs !== null && needs !== undefined && !needs.some((scope) => granted.has(scope));
    });
    expect(missing).toEqual([]);
  });

  it("stays within Slack's limits for the app listing", () => {
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    const long = manifest.display_information.long_description ?? '';
    expect(long.length === 0 || (long.length >= 175 && long.length <= 4000)).toBe(true);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
  });
});
