// A count with its noun in the right number: "1 restart", "17 restarts", "1 old replica".

/**
 * `count` and `noun`, the noun plural unless the count is exactly one (`plural` when adding an s
 * is wrong).
 *
 * @example
 * counted(1, 'restart') // '1 restart'
 * counted(17, 'restart') // '17 restarts'
 * counted(2, 'replica is', 'replicas are') // '2 replicas are'
 */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
