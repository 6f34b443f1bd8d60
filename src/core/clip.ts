/**
 * `value` cut to at most `max` characters, ending in `…` when cut.
 *
 * @example
 * clip('restart-deployment', 10) // 'restart-d…'
 */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value;
  // Never cut between the two halves of a character outside the Basic Multilingual Plane (an emoji).
  const end = /[\uD800-\uDBFF]/.test(value.charAt(max - 2)) ? max - 2 : max - 1;
  return `${value.slice(0, end)}…`;
}
