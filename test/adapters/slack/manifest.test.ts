// manifest.yml imports as a Slack app whose URLs, command, events and scopes match what the adapter does.
import { readFileSync } from 'node:fs';
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
      'chat:write',
      'commands',
      'files:write',
      'im:history',
      'usergroups:read',
    ]);
  });

  it("stays within Slack's limits for the app listing", () => {
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    const long = manifest.display_information.long_description ?? '';
    expect(long.length === 0 || (long.length >= 175 && long.length <= 4000)).toBe(true);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
  });
});
