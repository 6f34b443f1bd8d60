// Parallel work with a ceiling, so 200 services do not open 200 connections to one API server.

/**
 * Maps `items` with at most `limit` calls in flight, keeping order.
 *
 * @example
 * const rows = await mapBounded(services, 16, (name) => overviewOf(name));
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
