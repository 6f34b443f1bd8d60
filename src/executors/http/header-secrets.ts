// Which configured http target header values are secrets: all but protocol details. The executors
// module declares them at load, so they are scrubbed everywhere, not only from the executor's output.

/** Headers whose values are protocol details, not credentials; every other configured value is a secret. */
const PLAIN_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-type',
  'user-agent',
]);

/**
 * The secret header values of `targets`, each with the token after a scheme (`Bearer abc` also
 * yields `abc`).
 *
 * @example
 * [...headerSecrets({ cdn: { headers: { 'Fastly-Key': 'k3y-value', Accept: 'application/json' } } })]
 * // ['k3y-value']
 */
export function* headerSecrets(
  targets: Readonly<Record<string, { headers?: Readonly<Record<string, string>> | undefined }>>,
): Generator<string> {
  for (const target of Object.values(targets)) {
    for (const [header, value] of Object.entries(target.headers ?? {})) {
      if (PLAIN_HEADERS.has(header.toLowerCase())) continue;
      yield value;
      const credential = /^\s*(?:bearer|token|basic|apikey|key)\s+(\S{4,})\s*$/i.exec(value)?.[1];
      if (credential) yield credential;
    }
  }
}
