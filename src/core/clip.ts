/**
 * `value` cut to at most `max` characters, ending in `…` when cut.
 *
 * @example
 * clip('restart-deployment', 10) // 'restart-d…'
 */
export function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
