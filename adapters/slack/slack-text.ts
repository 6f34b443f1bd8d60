// What people type in Slack, back into plain command text: Slack's escapes and link markup undone,
// the bot's own mention taken off the front.
import { parseLine } from '../../src/core/index.js';

/**
 * Undoes Slack's formatting of typed text: `&lt;` `&gt;` `&amp;`, `<https://x|x>` links, `<#C123|ops>`
 * channels (to their id, which channel bindings use) and `<@U123>` users (to their id).
 *
 * @example
 * decodeSlackText('deploys checkout note="see &lt;1%"') // 'deploys checkout note="see <1%"'
 */
export function decodeSlackText(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>/g, (_, url: string) => url.replace(/^mailto:/, ''))
    .replace(/<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<@([UWB][A-Z0-9]+)(?:\|[^>]*)?>/g, '$1')
    .replace(
      /<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>/g,
      (_, name: string, label?: string) => label ?? `@${name}`,
    )
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * The command in a message that mentions the bot: everything after the bot's first mention
 * (`<@U0BOT> budget checkout`, or `hey <@U0BOT>: budget checkout`).
 *
 * @example
 * commandFromMention('<@U0LAN0Z89> budget checkout', 'U0LAN0Z89') // 'budget checkout'
 */
export function commandFromMention(text: string, botUserId: string | undefined): string {
  const mention = botUserId ? new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`) : /<@[UW][A-Z0-9]+(?:\|[^>]*)?>/;
  const match = mention.exec(text);
  const rest = match ? text.slice(match.index + match[0].length) : text;
  return decodeSlackText(rest.replace(/^[\s:,]+/, '')).trim();
}

/** Whether the line asks for `--public` (so progress goes to the channel too); false when it does not parse. */
export function asksForPublic(line: string): boolean {
  try {
    return parseLine(line).flags.has('public');
  } catch {
    // A line that does not parse fails in the router with a clear message; its progress stays private.
    return false;
  }
}
