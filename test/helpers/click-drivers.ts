// One way to click a signed Millwright button on every chat surface, so a story about buttons is told
// once and checked against each real adapter: the same people, the same channel, the same outcomes.
import { ACTION_PREFIX } from '../../adapters/slack/index.js';
import type { CommandDefinition } from '../../src/core/index.js';
import type { Runtime } from '../../src/main.js';
import {
  fixture,
  movableClock,
  type SlackHarness,
  startSlackHarness,
  visibleText,
} from '../adapters/slack/harness.js';
import {
  ANA,
  BEN,
  CHANNEL,
  cardText,
  startTeamsBot,
  type TeamsBot,
} from '../adapters/teams/teams-harness.js';

/** The two people of every story: one holds the role a guarded command needs, the other does not. */
export type Who = 'approver' | 'engineer';

export interface ClickDriver {
  readonly surface: 'slack' | 'teams';
  /** The actor ids the router sees for each person on this surface. */
  readonly people: Readonly<Record<Who, string>>;
  /** The channel the buttons are posted and clicked in. */
  readonly channel: string;
  readonly runtime: Runtime;
  register(command: CommandDefinition): void;
  /** A token the way a reply's button carries it (signed for `channel`, by default this driver's). */
  sign(command: string, channel?: string): string;
  /** A token signed two hours ago, past the one-hour lifetime. */
  signExpired(command: string): string;
  /** Clicks a button carrying `token` as `who`; resolves with what the clicker is shown. */
  click(token: string, who: Who): Promise<string>;
  close(): Promise<void>;
}

/**
 * Access for the stories: everyone may press `pressed`; only the approver may run `guarded`.
 *
 * @example
 * accessFor({ approver: 'U0APPROVER', engineer: 'U0ENGINEER' })
 */
export function accessFor(people: Readonly<Record<Who, string>>): string {
  return `
access:
  defaultRoles: [engineer]
  roles:
    engineer: { allow: [help, whoami, pressed] }
    approver: { allow: [guarded] }
  subjects:
    ${people.approver}: [approver]
`;
}

const TWO_HOURS = 2 * 60 * 60 * 1000;

/**
 * A block_actions payload as Slack sends it when `user` clicks a Millwright button carrying `token`
 * in `channel` (shaped like Slack's example, test/fixtures/slack/block-actions.json).
 *
 * @example
 * const payload = slackClickPayload({ token, user: 'U0ANA', channel: 'C0OPS', responseUrl, triggerId, nowSeconds });
 */
export function slackClickPayload(click: {
  token: string;
  user: string;
  channel: string;
  responseUrl: string;
  triggerId: string;
  nowSeconds: number;
}) {
  const { token, user, channel, responseUrl, triggerId, nowSeconds } = click;
  return {
    ...fixture('block-actions.json'),
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0001' },
    channel: { id: channel, name: 'ops' },
    container: {
      type: 'message',
      message_ts: '1548261231.000200',
      channel_id: channel,
      is_ephemeral: false,
    },
    trigger_id: triggerId,
    response_url: responseUrl,
    actions: [
      {
        action_id: `${ACTION_PREFIX}0.0`,
        block_id: 'b1',
        text: { type: 'plain_text', text: 'Press', emoji: true },
        value: token,
        type: 'button',
        action_ts: `${nowSeconds}.000100`,
      },
    ],
  };
}

/** The real Slack adapter behind signed HTTP requests, answering on response_url. */
export async function slackDriver(): Promise<ClickDriver> {
  const people = { approver: 'U0APPROVER', engineer: 'U0ENGINEER' } as const;
  const channel = 'C0OPS0001';
  const h: SlackHarness = await startSlackHarness({ access: accessFor(people) });
  const sign = (command: string, where = channel) =>
    h.runtime.services.actions.sign({ command, channel: where });
  return {
    surface: 'slack',
    people,
    channel,
    runtime: h.runtime,
    register: (command) => h.register(command),
    sign,
    signExpired: (command) => {
      h.clock.shift(-TWO_HOURS);
      try {
        return sign(command);
      } finally {
        h.clock.shift(TWO_HOURS);
      }
    },
    click: async (token, who) => {
      const user = people[who];
      const responseUrl = h.slack.responseUrl('actions');
      const payload = slackClickPayload({
        token,
        user,
        channel,
        responseUrl,
        triggerId: h.slack.triggerId(),
        nowSeconds: h.nowSeconds(),
      });
      const response = await h.sendInteraction(payload);
      if (response.status !== 200) throw new Error(`Slack click answered ${response.status}`);
      const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
      return [answer.body.text, visibleText(answer.body.blocks)].filter(Boolean).join('\n');
    },
    close: () => h.close(),
  };
}

/** The real Teams adapter behind the channel's signed activities, answering the invoke with a card. */
export async function teamsDriver(): Promise<ClickDriver> {
  const people = { approver: ANA.aad, engineer: BEN.aad } as const;
  const shown = { approver: ANA, engineer: BEN } as const;
  const clock = movableClock();
  const bot: TeamsBot = await startTeamsBot({ access: accessFor(people), clock });
  const runtime = bot.running.runtime;
  const channel = CHANNEL;
  const sign = (command: string, where = channel) =>
    runtime.services.actions.sign({ command, channel: where });
  return {
    surface: 'teams',
    people,
    channel,
    runtime,
    register: (command) => bot.register(command),
    sign,
    signExpired: (command) => {
      clock.shift(-TWO_HOURS);
      try {
        return sign(command);
      } finally {
        clock.shift(TWO_HOURS);
      }
    },
    click: async (token, who) => {
      const person = shown[who];
      const invoke = await bot.activity('card-action', {
        from: { id: `29:${person.aad}`, name: person.name, aadObjectId: person.aad },
        replyToId: '1764162611301',
        value: {
          action: {
            type: 'Action.Execute',
            title: 'Press',
            verb: 'millwright.action',
            data: { millwright: { kind: 'action', token, block: 0 } },
          },
          trigger: 'manual',
        },
      });
      const response = await bot.send(invoke);
      if (response.status !== 200) throw new Error(`Teams click answered ${response.status}`);
      const body = (await response.json()) as { value: unknown };
      return cardText(body.value).join('\n');
    },
    close: () => bot.close(),
  };
}
