// Keeps every request under its target's base URL: the step gives a path, never a URL, and anything
// that could climb out (`..`, `//host`, backslashes, encoded dots or slashes) is refused before fetch.
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';

/** Characters a step's path may use: unreserved, `/`, `:`, `@`, `,`, `=`, `+` and %-escapes. */
export const PATH_PATTERN = /^\/(?!\/)[A-Za-z0-9\-._~/:@,=+%]*$/;
/** Escapes that decode to `.`, `/`, `\`, `%` or a control character: the ways traversal hides. */
const DANGEROUS_ESCAPE = /%(2e|2f|5c|25|[01][0-9a-f]|7f)/i;

/**
 * Checks a configured base URL once, at start-up: http(s), no credentials, query or fragment.
 *
 * @example
 * const base = parseBaseUrl('cdn', 'https://api.cdn.example/v1/');
 */
export function parseBaseUrl(target: string, baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw configError(target, `baseUrl ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw configError(target, 'baseUrl must be http(s)');
  // Credentials belong in headers (where they are redacted), not in a URL that gets logged.
  if (url.username || url.password)
    throw configError(target, 'baseUrl must not carry a user or password; use headers');
  if (url.search || url.hash) throw configError(target, 'baseUrl must not have a query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/**
 * The URL for `path` (and `query`) under `base`, or a refusal naming why.
 *
 * @example
 * targetUrl(new URL('https://cdn.example/api/'), '/purge/app.js', { soft: true }).href
 * // 'https://cdn.example/api/purge/app.js?soft=true'
 */
export function targetUrl(
  base: URL,
  path: string,
  query: Record<string, string | number | boolean> | undefined,
  action = 'http.request',
): URL {
  const hint = 'give a path under the target, like /purge/assets/app.js; the base URL comes from config';
  if (!PATH_PATTERN.test(path)) {
    throw badArgument(
      `${action}: path must start with one "/" and use only letters, digits and - . _ ~ / : @ , = + %, got ${preview(path)}`,
      hint,
    );
  }
  const segments = path.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw badArgument(`${action}: path must not contain "." or ".." segments, got ${preview(path)}`, hint);
  }
  if (/%(?![0-9a-f]{2})/i.test(path) || DANGEROUS_ESCAPE.test(path)) {
    throw badArgument(
      `${action}: path must not contain encoded dots, slashes, percent signs or control characters, got ${preview(path)}`,
      hint,
    );
  }
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/$/, '')}${path}`;
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.append(name, String(value));
  // Belt and braces: whatever the URL parser made of it must still sit under the base.
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw badArgument(`${action}: path ${preview(path)} leaves the target's base URL`, hint);
  }
  return url;
}

function configError(target: string, problem: string): MillwrightError {
  return new MillwrightError(ErrorCode.ConfigInvalid, `http.targets.${target}: ${problem}`, {
    hint: 'fix http.targets in millwright.yml',
  });
}

function preview(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
