// Times in the viewer's terms: relative and absolute, with the time zone named.
import { formatDuration, isDuration, parseDuration } from './duration.js';
import { badArgument } from './errors.js';

/**
 * `12m ago (2026-11-26 13:04 UTC)`; future times read `in 3h (...)`.
 *
 * @example
 * formatWhen(new Date('2026-11-26T13:00:00Z'), new Date('2026-11-26T13:12:00Z')) // '12m ago (2026-11-26 13:00 UTC)'
 */
export function formatWhen(at: Date, now: Date, timeZone = 'UTC'): string {
  const delta = now.getTime() - at.getTime();
  const relative =
    Math.abs(delta) < 60_000
      ? 'just now'
      : delta > 0
        ? `${formatDuration(delta)} ago`
        : `in ${formatDuration(-delta)}`;
  return `${relative} (${formatAbsolute(at, timeZone)})`;
}

// Building an Intl.DateTimeFormat is costly; a table of 200 rows would build 200 of them.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2026-11-26 14:04 CET` in the given IANA time zone. */
export function formatAbsolute(at: Date, timeZone = 'UTC'): string {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/**
 * An end time as people type it: a duration from now (`4h`) or an ISO time; a bad value is the
 * caller's one-line error on `option`.
 *
 * @example
 * untilFrom('4h', new Date('2026-11-26T10:00:00Z')) // 2026-11-26T14:00:00.000Z
 */
export function untilFrom(raw: string, now: Date, option = 'until'): Date {
  if (isDuration(raw)) return new Date(now.getTime() + parseDuration(raw));
  const at = new Date(raw);
  if (Number.isNaN(at.getTime()))
    throw badArgument(`${option} must be an ISO time or a duration like 4h, got "${raw}"`, undefined, option);
  return at;
}
