// A message whose button was used: the block holding that button becomes one line saying who used it
// and when, so nobody is offered a decision that was already made.
import type { types } from '@slack/bolt';
import { escapeMrkdwn } from './block-kit.js';

type Block = types.KnownBlock;

/**
 * The message's blocks with the clicked button's block replaced by `✔ <command> by <user> at <time>`
 * (`✖ … failed` when its command failed). Without the original blocks (an ephemeral message), the
 * line alone.
 *
 * @example
 * spentBlocks(body.message?.blocks, { actionId: 'mw.0.0.approve', blockId: 'x1' }, { line, user: 'U1', at, ok: true })
 */
export function spentBlocks(
  original: readonly Block[] | undefined,
  clicked: { actionId: string; blockId?: string | undefined },
  use: { line: string; user: string; at: string; ok: boolean },
): Block[] {
  const command = use.line.length > 200 ? `${use.line.slice(0, 199)}…` : use.line;
  const text = `${use.ok ? '✔' : '✖'} \`${escapeMrkdwn(command)}\` by <@${use.user}> at ${use.at}${use.ok ? '' : ' (failed)'}`;
  const done: Block = { type: 'context', elements: [{ type: 'mrkdwn', text }] };
  const blocks = original ?? [];
  const index = blocks.findIndex((block) => holds(block, clicked.actionId));
  const at =
    index >= 0 ? index : blocks.findIndex((block) => clicked.blockId && block.block_id === clicked.blockId);
  if (at < 0) return [...blocks, done];
  return blocks.map((block, i) => (i === at ? done : block));
}

function holds(block: Block, actionId: string): boolean {
  const { elements, accessory } = block as { elements?: unknown; accessory?: { action_id?: unknown } };
  if (accessory?.action_id === actionId) return true;
  return (
    block.type === 'actions' &&
    Array.isArray(elements) &&
    elements.some((element) => (element as { action_id?: unknown }).action_id === actionId)
  );
}
