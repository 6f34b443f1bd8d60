// What a signed body must look like before Bolt gets it: Bolt answers an event_callback whose
// `event` is missing or not an object with a 500 or a 404, which says "our fault" to the sender.

/**
 * Why a signed Events API body is malformed, or undefined when it is fine (or not JSON at all:
 * slash commands and interactivity are form-encoded, and Bolt parses those itself).
 *
 * @example
 * malformedEvent('application/json', Buffer.from('{"type":"event_callback","event":null}')) // '"event" must be an object with a "type"'
 */
export function malformedEvent(contentType: string | undefined, body: Buffer): string | undefined {
  if (!(contentType ?? '').toLowerCase().startsWith('application/json')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // JSON.parse's message would echo part of the body; the fact is enough.
    return 'the body is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'the body must be a JSON object';
  const { type, event } = parsed as { type?: unknown; event?: unknown };
  if (typeof type !== 'string') return '"type" must be a string';
  if (type !== 'event_callback') return undefined;
  const ok =
    typeof event === 'object' &&
    event !== null &&
    !Array.isArray(event) &&
    typeof (event as { type?: unknown }).type === 'string';
  return ok ? undefined : '"event" must be an object with a "type"';
}
