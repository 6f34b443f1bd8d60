// What Millwright reads from store.url without connecting: where the database is, for messages, and
// the password, for the process's SecretSet. Tiny and import-free: every start loads it.

/** What the password-free parts of store.url say: host, port, database and user. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

/**
 * The password in a `postgres://user:password@host/db` URL (decoded and as written), for the
 * process's SecretSet; empty when the URL has none or is not a URL.
 *
 * @example
 * passwordOf('postgres://bot:s3cret@db:5432/millwright') // ['s3cret']
 */
export function passwordOf(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const raw = new URL(url).password;
    if (raw === '') return [];
    const decoded = decodeURIComponent(raw);
    return decoded === raw ? [raw] : [raw, decoded];
  } catch {
    // Not a URL: the config schema reports it; there is no password to learn.
    return [];
  }
}

/** The target of store.url without its password, for messages: `db.internal:5432/millwright`. */
export function describeTarget(target: PostgresTarget): string {
  return `${target.host}:${target.port}/${target.database}`;
}

/** Host, port, database and user from a postgres:// URL (the password left out). */
export function targetOf(url: string): PostgresTarget {
  const parsed = new URL(url);
  return {
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username),
    user: decodeURIComponent(parsed.username),
  };
}
