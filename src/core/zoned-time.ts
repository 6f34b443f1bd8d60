// Wall-clock time in an IANA time zone, both ways, so freeze windows and schedules mean what the
// person who wrote them meant on both sides of a daylight-saving change.

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether `timeZone` is an IANA zone this runtime knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    // Intl throws RangeError for an unknown zone; that is the answer.
    return false;
  }
}

/**
 * The wall-clock time at `at` in `timeZone`.
 *
 * @example
 * wallTime(new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin') // { hour: 3, minute: 30, ... } (after the spring change)
 */
export function wallTime(at: Date, timeZone: string): WallTime {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
  };
}

function offsetMs(at: Date, timeZone: string): number {
  const w = wallTime(at, timeZone);
  const asUtc = Date.UTC(
    w.year,
    w.month - 1,
    w.day,
    w.hour,
    w.minute,
    at.getUTCSeconds(),
    at.getUTCMilliseconds(),
  );
  return asUtc - at.getTime();
}

/**
 * The instant a wall-clock time in `timeZone` names. A time that does not exist (skipped by a
 * spring change) moves forward by the gap; an ambiguous one (autumn) takes the first occurrence.
 *
 * @example
 * zonedToInstant({ year: 2026, month: 11, day: 30, hour: 18, minute: 0 }, 'Europe/Berlin') // 2026-11-30T17:00:00Z
 */
export function zonedToInstant(
  wall: { year: number; month: number; day: number; hour: number; minute: number },
  timeZone: string,
): Date {
  const guess = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  // The zone's offsets a day either side cover any transition near this time.
  const before = offsetMs(new Date(guess - 86_400_000), timeZone);
  const after = offsetMs(new Date(guess + 86_400_000), timeZone);
  const matches = (instant: number) => {
    const w = wallTime(new Date(instant), timeZone);
    return (
      w.year === wall.year &&
      w.month === wall.month &&
      w.day === wall.day &&
      w.hour === wall.hour &&
      w.minute === wall.minute
    );
  };
  const valid = [guess - before, guess - after].filter(matches).sort((a, b) => a - b);
  // A skipped time (spring forward) has no match: the pre-change offset lands just after the gap.
  return new Date(valid[0] ?? guess - before);
}

/** Parses `2026-11-30T18:00` (or with seconds) as wall-clock time in `timeZone`; a trailing Z or offset wins. */
export function parseZoned(text: string, timeZone: string): Date | undefined {
  if (/(Z|[+-]\d\d:?\d\d)$/.test(text)) {
    const absolute = new Date(text);
    return Number.isNaN(absolute.getTime()) ? undefined : absolute;
  }
  const match = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::\d\d)?)?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0'] = match;
  return zonedToInstant(
    { year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi) },
    timeZone,
  );
}
