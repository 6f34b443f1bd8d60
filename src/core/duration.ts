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

/** Shortest readable form of a duration: 1h30m, 45s, 2d4h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join('');
}
