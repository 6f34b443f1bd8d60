// Incident channels in Slack: create the channel, invite the people (user groups expanded), set the
// topic, and post and pin the brief. The incident rules stay in src/incidents.
import type { webApi } from '@slack/bolt';
import type { Logger, MessageHandle, Reply } from '../../src/core/index.js';
import type { IncidentRoom } from '../../src/incidents/index.js';
import { renderMessage } from './block-kit.js';
import { slackErrorOf, slackFailure } from './slack-errors.js';

export interface SlackIncidentRoomOptions {
  web: webApi.WebClient;
  logger: Logger;
  /** Signs the brief's buttons for the channel they are posted in. */
  signButton: (command: string, channel: string) => string;
}

/**
 * The Slack side of `incident declare`.
 *
 * @example
 * services.incidentRoom = new SlackIncidentRoom({ web, logger, signButton });
 */
export class SlackIncidentRoom implements IncidentRoom {
  constructor(private readonly options: SlackIncidentRoomOptions) {}

  async open(name: string, topic: string, invitees: readonly string[]): Promise<string> {
    const { web, logger } = this.options;
    let channel: string | undefined;
    // A taken name (a reused incident number after a store reset) gets a suffix, a bounded number of times.
    for (let attempt = 0; attempt < 5 && !channel; attempt++) {
      const candidate = (attempt === 0 ? name : `${name.slice(0, 75)}-${attempt + 1}`).slice(0, 80);
      try {
        channel = (await web.conversations.create({ name: candidate })).channel?.id;
      } catch (error) {
        if (slackErrorOf(error) !== 'name_taken') throw slackFailure(error, candidate);
      }
    }
    if (!channel) throw slackFailure(new Error('name_taken'), name);
    const users = await this.#expand(invitees);
    if (users.length > 0) {
      try {
        await web.conversations.invite({ channel, users: users.join(',') });
      } catch (error) {
        // The channel is there and usable; people can still join by hand.
        logger.warn({ err: error, channel, users }, 'could not invite everyone to the incident channel');
      }
    }
    try {
      await web.conversations.setTopic({ channel, topic: topic.slice(0, 250) });
    } catch (error) {
      logger.warn({ err: error, channel }, 'could not set the incident channel topic');
    }
    return channel;
  }

  async postPinned(channel: string, reply: Reply): Promise<MessageHandle> {
    const { web, signButton } = this.options;
    const render = (value: Reply) =>
      renderMessage(value, { signButton: (command) => signButton(command, channel), canUpload: false });
    const first = render(reply);
    const posted = await web.chat.postMessage({
      channel,
      text: first.text,
      blocks: first.blocks,
      unfurl_links: false,
    });
    const ts = posted.ts!;
    try {
      await web.pins.add({ channel, timestamp: ts });
    } catch (error) {
      this.options.logger.warn({ err: error, channel }, 'could not pin the incident brief');
    }
    return {
      update: async (next) => {
        const rendered = render(next);
        await web.chat.update({ channel, ts, text: rendered.text, blocks: rendered.blocks });
      },
    };
  }

  /** User ids as given; user group ids (S...) become their members. Anything else is skipped. */
  async #expand(invitees: readonly string[]): Promise<string[]> {
    const users = new Set<string>();
    for (const invitee of invitees) {
      if (/^[UW][A-Z0-9]+$/.test(invitee)) users.add(invitee);
      else if (/^S[A-Z0-9]+$/.test(invitee)) {
        try {
          for (const user of (await this.options.web.usergroups.users.list({ usergroup: invitee })).users ??
            [])
            users.add(user);
        } catch (error) {
          this.options.logger.warn(
            { err: error, usergroup: invitee },
            'could not expand a user group for the incident',
          );
        }
      }
    }
    return [...users];
  }
}
