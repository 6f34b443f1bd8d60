// The command line a person typed to the bot in Teams, with the mention of the bot taken out.
import type { Activity } from 'botbuilder';

/**
 * The command line in a message: mentions of the bot removed, other mentions kept as names; an
 * empty message (just the mention) asks for help.
 *
 * @example
 * commandText({ text: '<at>Millwright</at> deploys checkout', recipient: { id: '28:bot', name: 'Millwright' } }) // 'deploys checkout'
 */
export function commandText(activity: Partial<Activity>): string {
  let line = activity.text ?? '';
  const botId = activity.recipient?.id;
  for (const entity of activity.entities ?? []) {
    const mention = entity as { type?: string; text?: string; mentioned?: { id?: string } };
    if (mention.type === 'mention' && mention.text && mention.mentioned?.id === botId) {
      line = line.split(mention.text).join(' ');
    }
  }
  line = line
    .replace(/<at>([^<]*)<\/at>/g, '$1')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();
  return line === '' ? 'help' : line;
}
