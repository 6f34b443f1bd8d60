// `${VAR}` and `${VAR:-default}` inside config strings; `$${` writes a literal `${`.

// Alternatives in order: the escape, a well-formed reference, then any other `${` (malformed).
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

export interface Interpolated {
  value: string;
  /** The values that were substituted in, so callers can treat them as secrets. */
  substituted: string[];
  /** Problems that make the value unusable (a missing variable, a malformed reference). */
  problems: string[];
}

/**
 * Replaces environment references in one string.
 *
 * @example
 * interpolate('Bearer ${TOKEN}', { TOKEN: 'abc' }).value // 'Bearer abc'
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv): Interpolated {
  const substituted: string[] = [];
  const problems: string[] = [];
  const value = text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows the ${VAR} syntax itself
      problems.push('malformed ${...} reference; write ${NAME} or ${NAME:-default}, or $${ for a literal ${');
      return match;
    }
    const fromEnv = env[name];
    // Like the shell, `:-` also covers a variable that is set but empty.
    const resolved = fromEnv === undefined || (fromEnv === '' && fallback !== undefined) ? fallback : fromEnv;
    if (resolved === undefined) {
      problems.push(`environment variable ${name} is not set`);
      return '';
    }
    substituted.push(resolved);
    return resolved;
  });
  return { value, substituted, problems };
}
