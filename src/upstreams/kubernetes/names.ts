// Kubernetes names and namespaces checked before any request leaves: DNS-1123 shapes, and the
// namespace allow-list from config. Anything else (`;`, `$(...)`, `../`, newlines) never gets through.
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';

/** RFC 1123 label: namespaces, container names. At most 63 characters. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: deployment and pod names. At most 253 characters. */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const LABEL = new RegExp(DNS1123_LABEL);
const SUBDOMAIN = new RegExp(DNS1123_SUBDOMAIN);

/** Quotes a refused value for a one-line message: escaped, and cut short. */
export function quoteInput(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const quoted = JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
  return quoted;
}

/**
 * Returns `value` when it is a DNS-1123 label (`kind: 'label'`) or subdomain, else throws
 * `millwright_bad_argument` naming the field.
 *
 * @example
 * checkName('checkout', 'deployment', 'subdomain') // 'checkout'
 * checkName('a;rm -rf', 'deployment', 'subdomain') // throws
 */
export function checkName(value: unknown, field: string, kind: 'label' | 'subdomain'): string {
  const max = kind === 'label' ? 63 : 253;
  if (typeof value !== 'string' || value.length === 0) {
    throw badArgument(`${field} is required and must be a Kubernetes name`, `give ${field}=NAME`);
  }
  if (value.length > max || !(kind === 'label' ? LABEL : SUBDOMAIN).test(value)) {
    throw badArgument(
      `${field} ${quoteInput(value)} is not a valid Kubernetes name`,
      `use lowercase letters, digits and '-'${kind === 'subdomain' ? " (and '.')" : ''}, starting and ending with a letter or digit, at most ${max} characters`,
    );
  }
  return value;
}

/**
 * Returns the namespace when it is a valid name and in `allowed`, else throws (bad argument, or
 * permission denied naming what is allowed).
 *
 * @example
 * checkNamespace('shop', ['shop']) // 'shop'
 */
export function checkNamespace(value: unknown, allowed: readonly string[]): string {
  const namespace = checkName(value, 'namespace', 'label');
  if (!allowed.includes(namespace)) {
    throw new MillwrightError(
      ErrorCode.PermissionDenied,
      `namespace ${namespace} is not allowed for the kubernetes executor`,
      {
        hint:
          allowed.length > 0
            ? `allowed namespaces: ${allowed.join(', ')}; add it to kubernetes.allowedNamespaces in millwright.yml to allow it`
            : 'no namespace is allowed yet; list them in kubernetes.allowedNamespaces in millwright.yml',
      },
    );
  }
  return namespace;
}
