// RBAC for the Kubernetes API double: the requests a set of Roles allows, judged like the API
// server's RBAC authorizer (namespace, API group, resource/subresource, verb, resourceNames).

/** A Role as written in YAML (only what RBAC reads). */
export interface RoleLike {
  kind?: string;
  metadata: { namespace?: string; name?: string };
  rules: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }[];
}

/** What one request asks for, in RBAC's attributes. */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  /** With the subresource: `deployments/scale`, `pods/log`. */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** Paths every authenticated user may read (system:discovery, system:public-info-viewer). */
const DISCOVERY = /^\/(version|healthz|livez|readyz|api|apis|api\/v1|apis\/[^/]+|apis\/[^/]+\/[^/]+)\/?$/;

/**
 * The attributes of a request, or undefined for a discovery path that needs no rule.
 *
 * @example
 * requestAttributes('PATCH', new URL('https://x/apis/apps/v1/namespaces/shop/deployments/checkout/scale'))
 * // { verb: 'patch', apiGroup: 'apps', resource: 'deployments/scale', namespace: 'shop', name: 'checkout' }
 */
export function requestAttributes(method: string, url: URL): RequestAttributes | undefined {
  if (DISCOVERY.test(url.pathname)) return undefined;
  const segments = url.pathname.split('/').filter(Boolean);
  const apiGroup = segments[0] === 'apis' ? (segments[1] ?? '') : '';
  let rest = segments.slice(segments[0] === 'apis' ? 3 : 2);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = '', name, sub] = rest;
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const verbs: Record<string, string> = {
    GET: name === undefined ? (watch ? 'watch' : 'list') : 'get',
    HEAD: name === undefined ? 'list' : 'get',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name === undefined ? 'deletecollection' : 'delete',
  };
  return {
    verb: verbs[method] ?? method.toLowerCase(),
    apiGroup,
    resource: sub === undefined ? resource : `${resource}/${sub}`,
    namespace,
    name,
  };
}

/** Whether any rule of any Role in the request's namespace allows it (Roles never reach cluster scope). */
export function allowedByRoles(roles: readonly RoleLike[], request: RequestAttributes): boolean {
  const matches = (values: readonly string[] | undefined, value: string) =>
    (values ?? []).includes('*') || (values ?? []).includes(value);
  return roles.some(
    (role) =>
      request.namespace !== undefined &&
      role.metadata.namespace === request.namespace &&
      role.rules.some(
        (rule) =>
          matches(rule.apiGroups, request.apiGroup) &&
          matches(rule.resources, request.resource) &&
          matches(rule.verbs, request.verb) &&
          (rule.resourceNames === undefined ||
            rule.resourceNames.length === 0 ||
            (request.name !== undefined && rule.resourceNames.includes(request.name))),
      ),
  );
}

/** The message the API server sends with an RBAC 403. */
export function forbiddenMessage(request: RequestAttributes, user: string): string {
  const base = request.resource.split('/')[0] ?? request.resource;
  const what = `${request.apiGroup ? `${base}.${request.apiGroup}` : base}${request.name ? ` "${request.name}"` : ''}`;
  const where =
    request.namespace === undefined ? 'at the cluster scope' : `in the namespace "${request.namespace}"`;
  return `${what} is forbidden: User "${user}" cannot ${request.verb} resource "${request.resource}" in API group "${request.apiGroup}" ${where}`;
}
