// A block_actions payload for one click on a Millwright button, in the shape of Slack's published
// example (test/fixtures/slack/block-actions.json): who clicked, where, and the button's signed value.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './spawn.js';

const BLOCK_ACTIONS = JSON.parse(
  readFileSync(path.join(ROOT, 'test', 'fixtures', 'slack', 'block-actions.json'), 'utf8'),
) as Record<string, unknown>;

export interface ButtonClick {
  user: string;
  channel: string;
  responseUrl: string;
  triggerId: string;
  actionId: string;
  label: string;
  /** The button's value: the signed token. */
  token: string;
  /** Epoch seconds of the click. */
  at: number;
}

/**
 * @example
 * const payload = buttonClickPayload({ user: 'U0ANA', channel: 'C0OPS', responseUrl, triggerId,
 *   actionId: 'mw.0.0.approve', label: 'Approve', token, at: Math.floor(Date.now() / 1000) });
 */
export function buttonClickPayload(click: ButtonClick): Record<string, unknown> {
  const { user, channel } = click;
  return {
    ...BLOCK_ACTIONS,
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0001' },
    channel: { id: channel, name: 'ops' },
    container: { type: 'message', message_ts: '1548261231.000200', channel_id: channel, is_ephemeral: false },
    trigger_id: click.triggerId,
    response_url: click.responseUrl,
    actions: [
      {
        action_id: click.actionId,
        block_id: 'b1',
        text: { type: 'plain_text', text: click.label, emoji: true },
        value: click.token,
        type: 'button',
        action_ts: `${click.at}.000100`,
      },
    ],
  };
}
