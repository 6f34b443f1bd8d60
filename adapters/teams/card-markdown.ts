// Millwright's markdown subset in the dialect Adaptive Card TextBlocks render: **bold**, _italic_,
// [label](url), lists; code spans become plain text since cards have no inline code.

/** Splits text into prose and ``` preformatted ``` parts, in order. */
export function splitPreformatted(value: string): Array<{ code: boolean; text: string }> {
  const parts: Array<{ code: boolean; text: string }> = [];
  const pieces = value.split('```');
  pieces.forEach((piece, i) => {
    // An unclosed fence leaves the rest as prose rather than swallowing it.
    const code = i % 2 === 1 && i < pieces.length - 1;
    const text = code ? piece.replace(/^\n/, '').replace(/\n$/, '') : piece.trim();
    if (text.length > 0) parts.push({ code, text });
  });
  return parts;
}

/**
 * Converts one line-or-paragraph of Millwright markdown to Adaptive Card markdown.
 *
 * @example
 * toCardMarkdown('*checkout* is <https://grafana/d/1|burning> `fast`') // '**checkout** is [burning](https://grafana/d/1) fast'
 */
export function toCardMarkdown(value: string): string {
  return (
    value
      .replace(/<((?:https?|mailto):[^|>\s]+)\|([^>]+)>/g, '[$2]($1)')
      .replace(/<((?:https?|mailto):[^|>\s]+)>/g, '[$1]($1)')
      .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1**$2**')
      .replace(/`([^`\n]+)`/g, '$1')
      // A lone newline does not break a line in card markdown; a blank line does.
      .replace(/\n+/g, '\n\n')
  );
}
