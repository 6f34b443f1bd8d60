// Imports what is not part of Millwright itself (a plugin executor, vega, a native addon) by package
// name or file URL, through the host's loader when the single-file build runs inside one.
const HOST_IMPORT = Symbol.for('millwright.import');

/**
 * `import(specifier)`, resolved from Millwright's own node_modules.
 *
 * @example
 * const vega = await importExternal<typeof import('vega')>('vega');
 */
export function importExternal<T>(specifier: string): Promise<T> {
  const host = (globalThis as { [HOST_IMPORT]?: (specifier: string) => Promise<unknown> })[HOST_IMPORT];
  return (host ? host(specifier) : import(specifier)) as Promise<T>;
}
