// Durations as people type them: 90s, 5m, 1h30m, 28d, 2w.
import { badArgument } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/;

/**
 * Parses a duration into milliseconds.
 *
 * @example
 * parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(input: string): number {
  let rest = input.trim();
  if (rest.length === 0) throw badArgument('empty duration', 'use a duration like 30s, 5m, 1h30m or 28d');
  let total = 0;
  while (rest.length > 0) {
    const match = DURATION.exec(rest);
    if (!match) {
      throw badArgument(`"${input}" is not a duration`, 'use a duration like 30s, 5m, 1h30m or 28d');
    }
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
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
