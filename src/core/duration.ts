// Durations as people write them in config and chat ("10s", "1h30m", "28d"), turned into milliseconds.
import { ErrorCode, MillwrightError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
// `ms` is listed before `m` and `s` so "250ms" is not read as "250m" followed by junk.
const PART = /(\d+)(ms|s|m|h|d|w)/g;
const WHOLE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;

/** Whether `text` is a duration `parseDuration` accepts. */
export function isDuration(text: string): boolean {
  return WHOLE.test(text);
}

/**
 * Milliseconds in a duration made of whole-number parts with units ms, s, m, h, d, w.
 *
 * @example
 * parseDuration('1h30m') // 5_400_000
 * parseDuration('2w')    // 1_209_600_000
 */
export function parseDuration(text: string): number {
  if (!isDuration(text)) {
    throw new MillwrightError(ErrorCode.BadArgument, `invalid duration "${text}"`, {
      hint: 'write a number and a unit (ms, s, m, h, d, w), like 30s, 5m, 1h30m, 28d or 2w',
    });
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART))
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total;
}

/**
 * A duration in its largest unit and the one next to it, when that is not zero: 1h30m, 45s, 2d4h,
 * 10h (not 10h19s: a skipped middle unit reads like the wrong number).
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const;
  const seconds = Math.round(ms / 1000);
  const first = units.findIndex(([, size]) => seconds >= size);
  const [unit, size] = units[first]!;
  const next = units[first + 1];
  const rest = seconds % size;
  const second = next && rest >= next[1] ? `${Math.floor(rest / next[1])}${next[0]}` : '';
  return `${Math.floor(seconds / size)}${unit}${second}`;
}
