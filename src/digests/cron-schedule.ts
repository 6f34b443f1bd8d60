// Wall-clock slots of a cron schedule in an IANA time zone: node-cron reads the expression, and the
// slots are worked out here so a daylight-saving change never skips or repeats a digest.
import { parse as parseCron, validateDetailed } from 'node-cron';
import { type WallTime, wallTime, zonedToInstant } from '../core/zoned-time.js';

/** One time a schedule names: the wall-clock time as written (`key`) and the instant it runs at. */
export interface Slot {
  /** `2026-03-29T09:00`, local to the schedule's time zone; the same wall time always has the same key. */
  key: string;
  at: Date;
}

type Day = Pick<WallTime, 'year' | 'month' | 'day'>;

const DAY_MS = 86_400_000;
/** Far enough for `0 9 29 2 *` (29 February) across a century year that is not a leap year. */
const HORIZON_DAYS = 9 * 366;
const SPECIAL_TOKENS = 'L, W and # (last day, nearest weekday, nth weekday)';

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * Why `expression` cannot schedule a digest, or undefined when it can. Digests take five fields
 * (minute hour day-of-month month weekday) or a nickname like `@daily`; seconds are refused.
 *
 * @example
 * cronProblem('0 9 * * 1-5') // undefined
 * cronProblem('0 25 * * *')  // 'not a valid cron schedule: 25 is a invalid expression for hour; ...'
 */
export function cronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/);
  const example = 'like "0 9 * * 1-5" (minute hour day-of-month month weekday)';
  if (!trimmed.startsWith('@') && fields.length === 6) {
    return `digests run at most once a minute: give five fields without seconds, ${example}`;
  }
  if (!trimmed.startsWith('@') && fields.length !== 5) {
    return `expected five fields, ${example}; got ${fields.length}`;
  }
  const checked = validateDetailed(trimmed);
  if (!checked.valid) {
    const first = checked.errors[0];
    return `not a valid cron schedule: ${first?.message ?? 'unreadable'}; ${example}`;
  }
  const parsed = parseCron(trimmed);
  const special = [...parsed.dayOfMonth, ...parsed.dayOfWeek].some((value) => typeof value !== 'number');
  if (special) return `${SPECIAL_TOKENS} are not supported in digest schedules; list days instead`;
  return undefined;
}

/**
 * A cron schedule read in a time zone. Day-of-month and weekday must both match, as in node-cron.
 * Across a daylight-saving change every wall-clock time the schedule names runs once:
 * - a time skipped by the spring change (02:30 in Berlin on the last Sunday of March) runs at the
 *   instant it would have been, moved forward by the gap (03:30 CEST);
 * - a time repeated by the autumn change (02:30 on the last Sunday of October) runs at its first
 *   occurrence (02:30 CEST), never again at 02:30 CET.
 *
 * @example
 * const schedule = new CronSchedule('0 9 * * 1-5', 'Europe/Berlin');
 * schedule.next(new Date('2026-03-27T08:00:00Z')) // { key: '2026-03-30T09:00', at: 2026-03-30T07:00:00Z }
 */
export class CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
  readonly #minutes: number[];
  readonly #hours: number[];
  readonly #daysOfMonth: Set<number>;
  readonly #months: Set<number>;
  readonly #weekdays: Set<number>;

  constructor(expression: string, timeZone: string) {
    const problem = cronProblem(expression);
    if (problem) throw new Error(problem);
    const parsed = parseCron(expression.trim());
    this.expression = expression.trim();
    this.timeZone = timeZone;
    this.#minutes = [...parsed.minute].sort((a, b) => a - b);
    this.#hours = [...parsed.hour].sort((a, b) => a - b);
    this.#daysOfMonth = new Set(parsed.dayOfMonth as number[]);
    this.#months = new Set(parsed.month);
    // node-cron reads both 0 and 7 as Sunday.
    this.#weekdays = new Set((parsed.dayOfWeek as number[]).map((weekday) => weekday % 7));
  }

  /** The first slot strictly after `after`; undefined only for a schedule that never runs. */
  next(after: Date): Slot | undefined {
    let day = this.#wallDay(after, -1);
    for (let i = 0; i < HORIZON_DAYS; i++, day = shiftDay(day, 1)) {
      if (!this.#matchesDay(day)) continue;
      const found = this.#slotsOn(day).find((slot) => slot.at.getTime() > after.getTime());
      if (found) return found;
    }
    return undefined;
  }

  /** The last slot at or before `atOrBefore` and after `notBefore` (when given). */
  latest(atOrBefore: Date, notBefore?: Date): Slot | undefined {
    const floor = notBefore?.getTime() ?? Number.NEGATIVE_INFINITY;
    let day = this.#wallDay(atOrBefore, 0);
    for (let i = 0; i < HORIZON_DAYS; i++, day = shiftDay(day, -1)) {
      // A day's slots all start after its local midnight, which is at most a day and a gap before.
      if (Date.UTC(day.year, day.month - 1, day.day) + 2 * DAY_MS < floor) return undefined;
      if (!this.#matchesDay(day)) continue;
      const slots = this.#slotsOn(day);
      for (let j = slots.length - 1; j >= 0; j--) {
        const slot = slots[j]!;
        const at = slot.at.getTime();
        if (at <= atOrBefore.getTime()) return at > floor ? slot : undefined;
      }
    }
    return undefined;
  }

  #wallDay(at: Date, shift: number): Day {
    const wall = wallTime(at, this.timeZone);
    return shiftDay({ year: wall.year, month: wall.month, day: wall.day }, shift);
  }

  #matchesDay(day: Day): boolean {
    const weekday = new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay();
    return this.#months.has(day.month) && this.#daysOfMonth.has(day.day) && this.#weekdays.has(weekday);
  }

  /** The day's slots in time order; two wall times that land on one instant (a gap) are one slot. */
  #slotsOn(day: Day): Slot[] {
    const zone = this.timeZone;
    const offsetAt = (hour: number, minute: number) => {
      const instant = zonedToInstant({ ...day, hour, minute }, zone).getTime();
      return Date.UTC(day.year, day.month - 1, day.day, hour, minute) - instant;
    };
    // On the days without a change the offset is one number and every slot is simple arithmetic.
    const steady = offsetAt(0, 0) === offsetAt(23, 59);
    const steadyOffset = steady ? offsetAt(0, 0) : 0;
    const byInstant = new Map<number, Slot>();
    for (const hour of this.#hours) {
      for (const minute of this.#minutes) {
        const at = steady
          ? Date.UTC(day.year, day.month - 1, day.day, hour, minute) - steadyOffset
          : zonedToInstant({ ...day, hour, minute }, zone).getTime();
        const key = `${day.year}-${pad(day.month)}-${pad(day.day)}T${pad(hour)}:${pad(minute)}`;
        // Wall times come in order, so a later one that lands on the same instant keeps its own name.
        byInstant.set(at, { key, at: new Date(at) });
      }
    }
    return [...byInstant.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}

function shiftDay(day: Day, by: number): Day {
  const shifted = new Date(Date.UTC(day.year, day.month - 1, day.day + by));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}
