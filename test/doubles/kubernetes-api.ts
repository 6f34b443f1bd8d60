// A local Kubernetes API server double over HTTPS on 127.0.0.1: apps/v1 Deployments (with /scale and
// /status) and ReplicaSets, core/v1 Pods and pod logs, discovery, watches, Tables and Status errors.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  APPS_GROUP,
  APPS_V1_RESOURCES,
  CORE_V1_RESOURCES,
  coreVersions,
  GROUP_LIST,
  REASON_BY_CODE,
  SERVER_VERSION,
  type StatusDetails,
  statusFailure,
  statusSuccess,
  toTable,
} from './kubernetes/api-documents.js';
import { ArgoRollouts, type RolloutObject } from './kubernetes/argo-rollouts.js';
import {
  ClusterState,
  type ControllerMode,
  type DeploymentObject,
  type KubeObject,
  type PodLogFixture,
  type ServedKind,
} from './kubernetes/cluster-state.js';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type Json,
  PatchError,
} from './kubernetes/patches.js';
import {
  allowedByRoles,
  forbiddenMessage,
  type RequestAttributes,
  type RoleLike,
  requestAttributes,
} from './kubernetes/rbac.js';
import { fieldSelector, labelSelector, SelectorError, selectorString } from './kubernetes/selectors.js';
import { selfSignedCertificate } from './kubernetes/self-signed-cert.js';

export {
  ArgoRollouts,
  type CanaryStep,
  ROLLOUTS_POD_TEMPLATE_HASH,
  type RolloutObject,
  rolloutFixture,
} from './kubernetes/argo-rollouts.js';
export {
  ClusterState,
  type ControllerMode,
  type DeploymentObject,
  type KubeObject,
  type PodFailure,
  type PodLogFixture,
  type PodObject,
  type ReplicaSetObject,
} from './kubernetes/cluster-state.js';
export { type RequestAttributes, type RoleLike, requestAttributes } from './kubernetes/rbac.js';
export {
  KUBERNETES_SCENARIOS,
  type KubernetesScenario,
  loadKubernetesScenario,
} from './kubernetes/scenarios.js';

export interface StartKubernetesApiOptions {
  /** The bearer token the double accepts; a random one when absent. */
  token?: string;
  /** Objects (and PodLog fixtures) to start with, e.g. `loadKubernetesScenario('healthy')`. */
  objects?: (KubeObject | PodLogFixture)[];
  /** Argo Rollouts to start with, e.g. `[rolloutFixture('checkout')]`; each starts Healthy. */
  rollouts?: RolloutObject[];
  /** `instant` (default): a spec change rolls out at once. `manual`: it waits for `state.reconcile()`. */
  controller?: ControllerMode;
  /** The double's clock (creation times, ages in Tables); the real clock by default. */
  now?: () => Date;
  /** Name of the context (and cluster and user) in the generated kubeconfig; default `double`. */
  contextName?: string;
  /** The context's default namespace; default `shop`. */
  namespace?: string;
  /**
   * Enforce RBAC as the API server does: only what these Roles allow in their namespace is answered,
   * anything else gets 403 Forbidden (discovery stays open). No RBAC when absent.
   */
  roles?: RoleLike[];
}

/** One request the double saw; the bearer token itself is never kept. */
export interface RecordedRequest {
  method: string;
  /** The path without the query, e.g. `/apis/apps/v1/namespaces/shop/deployments/checkout`. */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  /** Whether the request carried the double's bearer token. */
  authorized: boolean;
  /** The body parsed as JSON when it is JSON, else the raw text; undefined when empty. */
  body: unknown;
  rawBody: string;
  /** The status answered; 0 while a request hangs or when its connection was reset. */
  status: number;
}

/** A failure the double answers instead of the real response. */
export type Fault =
  | number
  | 'hang'
  | 'reset'
  | { status: number; reason?: string; message?: string; retryAfterSeconds?: number };

export interface FaultRule {
  /** Exact path (no query) or a pattern tested against it. */
  path: string | RegExp;
  /** Only this method (GET, PATCH, ...); any method when absent. */
  method?: string;
  /** How many matching requests get the fault; default 1, `Infinity` for all. */
  times?: number;
  fault: Fault;
}

export interface KubeconfigOverrides {
  token?: string;
  contextName?: string;
  namespace?: string;
}

export interface KubernetesApiDouble {
  /** `https://127.0.0.1:PORT` */
  url: string;
  token: string;
  contextName: string;
  /** PEM of the self-signed certificate (also in the kubeconfig as certificate-authority-data). */
  caPem: string;
  /** kubeconfig YAML text: one cluster, one user with the bearer token, one context (current). */
  kubeconfig: string;
  /** The same kubeconfig written to a temp file (removed by `close()`). */
  kubeconfigPath: string;
  /** kubeconfig YAML for this double with another token, context name or namespace. */
  kubeconfigWith(overrides: KubeconfigOverrides): string;
  /** The objects the double serves; add, replace, remove, set logs, run the controller. */
  state: ClusterState;
  /** The `argoproj.io/v1alpha1` Rollouts it serves and their controller (ReplicaSets and pods land in `state`). */
  rollouts: ArgoRollouts;
  /** Every request seen, in order. */
  requests: RecordedRequest[];
  /** Requests with this method whose path equals `path` (or matches it, for a RegExp). */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[];
  clearRequests(): void;
  /** Replaces the Roles RBAC is enforced with (undefined: no RBAC). */
  setRoles(roles: RoleLike[] | undefined): void;
  /** The requests RBAC refused, in order. */
  forbidden: RequestAttributes[];
  /** Makes the next matching request(s) fail: a status, a hang, or a reset connection. */
  inject(rule: FaultRule): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

const JSON_TYPES = new Set(['application/json', '']);
const PATCH_TYPES = new Set([
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
]);
const MAX_BODY = 3 * 1024 * 1024;
const RESOURCES: Record<string, { kind: ServedKind; group: string }> = {
  deployments: { kind: 'Deployment', group: 'apps' },
  replicasets: { kind: 'ReplicaSet', group: 'apps' },
  pods: { kind: 'Pod', group: '' },
};

/**
 * Starts the double on a random port of 127.0.0.1 with a fresh self-signed certificate.
 *
 * @example
 * const k8s = await startKubernetesApi({ objects: loadKubernetesScenario('healthy') });
 * const kc = new KubeConfig(); kc.loadFromString(k8s.kubeconfig);
 * // ... kubectl --kubeconfig k8s.kubeconfigPath get deployment checkout -n shop
 * k8s.inject({ path: '/apis/apps/v1/namespaces/shop/deployments/checkout', method: 'GET', fault: 500 });
 * await k8s.close();
 */
export async function startKubernetesApi(
  options: StartKubernetesApiOptions = {},
): Promise<KubernetesApiDouble> {
  const now = options.now ?? (() => new Date());
  const token = options.token ?? `double-${randomUUID()}`;
  const contextName = options.contextName ?? 'double';
  const defaultNamespace = options.namespace ?? 'shop';
  const state = new ClusterState(now, options.controller ?? 'instant');
  if (options.objects) state.apply(options.objects);
  const rollouts = new ArgoRollouts(state, now);
  if (options.rollouts) rollouts.apply(options.rollouts);
  // TLS checks validity against the real clock, whatever clock the double's objects live by.
  const certificate = selfSignedCertificate('kubernetes-double');
  const requests: RecordedRequest[] = [];
  const faults: (FaultRule & { remaining: number })[] = [];
  const openStreams = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let roles = options.roles;
  const forbidden: RequestAttributes[] = [];

  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, { status: 500, body: statusFailure(500, `Internal error occurred: ${String(error)}`) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const rawBody = await readBody(req);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      authorized: req.headers.authorization === `Bearer ${token}`,
      body: parseMaybeJson(rawBody),
      rawBody,
      status: 0,
    };
    requests.push(record);
    const reply = (r: Reply) => {
      record.status = r.status;
      send(res, r);
    };

    if (rawBody.length > MAX_BODY) return reply(failure(413, 'Request entity too large'));
    const open = ['/version', '/healthz', '/livez', '/readyz'].includes(url.pathname);
    if (!open && !record.authorized) return reply(failure(401, 'Unauthorized'));
    const attributes = roles ? requestAttributes(method, url) : undefined;
    if (roles && attributes && !allowedByRoles(roles, attributes)) {
      forbidden.push(attributes);
      const base = attributes.resource.split('/')[0] ?? '';
      return reply(
        failure(403, forbiddenMessage(attributes, 'system:serviceaccount:millwright:millwright'), {
          ...(attributes.name ? { name: attributes.name } : {}),
          group: attributes.apiGroup,
          kind: base,
        }),
      );
    }

    const fault = takeFault(method, url.pathname);
    if (fault === 'hang') {
      openStreams.add(res);
      res.on('close', () => openStreams.delete(res));
      return;
    }
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined) return reply(faultReply(fault, method, url.pathname));

    if (url.searchParams.has('dryRun') && url.searchParams.get('dryRun') !== 'All') {
      return reply(failure(400, `Invalid dry run value: "${url.searchParams.get('dryRun')}"; must be "All"`));
    }
    // The controller notices a stalled rollout on its own schedule; the double looks on each request.
    state.expireProgressDeadlines();
    rollouts.tick();
    const result = route(method, url, req, res, record);
    if (result === 'streaming') return;
    reply(result);
  }

  function takeFault(method: string, pathname: string): Fault | undefined {
    const rule = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (typeof f.path === 'string' ? f.path === pathname : f.path.test(pathname)),
    );
    if (!rule) return undefined;
    rule.remaining--;
    return rule.fault;
  }

  function route(
    method: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
  ): Reply | 'streaming' {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const segments = p.split('/').filter(Boolean);
    if (method === 'GET') {
      if (p === '/version') return ok(SERVER_VERSION);
      if (p === '/healthz' || p === '/livez' || p === '/readyz')
        return { status: 200, body: 'ok', contentType: 'text/plain' };
      if (p === '/api') return ok(coreVersions(new URL(double.url).host));
      if (p === '/api/v1') return ok(CORE_V1_RESOURCES);
      // Argo Rollouts' group is listed like an installed CRD's, so kubectl finds `rollouts`.
      if (p === '/apis') return ok({ ...GROUP_LIST, groups: [...GROUP_LIST.groups, ARGO_API_GROUP] });
      if (p === '/apis/apps') return ok({ kind: 'APIGroup', apiVersion: 'v1', ...APPS_GROUP });
      if (p === '/apis/apps/v1') return ok(APPS_V1_RESOURCES);
      if (p === '/api/v1/namespaces') {
        return ok({
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion: state.resourceVersion },
          items: state.namespaces().map((name) => namespaceObject(name)),
        });
      }
      if (segments.length === 4 && segments[0] === 'api' && segments[2] === 'namespaces') {
        const ns = segments[3] ?? '';
        return state.namespaces().includes(ns)
          ? ok(namespaceObject(ns))
          : failure(404, `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
      }
    }

    if (segments[0] === 'apis' && segments[1] === ARGO_GROUP) return argo(method, segments, url, record);
    // /apis/apps/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]] and /api/v1[/namespaces/{ns}]/pods...
    const base = segments[0] === 'apis' ? 3 : 2;
    const groupOk =
      (segments[0] === 'apis' && segments[1] === 'apps' && segments[2] === 'v1') ||
      (segments[0] === 'api' && segments[1] === 'v1');
    if (!groupOk) return notFoundPath();
    let rest = segments.slice(base);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource = '', name, sub, ...extra] = rest;
    const info = RESOURCES[resource];
    if (!info || extra.length > 0 || (info.group === 'apps') !== (segments[0] === 'apis'))
      return notFoundPath();
    if (name === undefined) return collection(method, info.kind, resource, namespace, url, req, res, record);
    if (namespace === undefined) return notFoundPath();
    const target = { kind: info.kind, resource, group: info.group, namespace, name };
    if (sub === undefined) return item(method, target, url, req, record);
    if (sub === 'scale' && info.kind !== 'Pod') return scale(method, target, url, record);
    if (sub === 'status') return status(method, target, url, req, record);
    if (sub === 'log' && info.kind === 'Pod' && method === 'GET') return podLog(namespace, name, url);
    return notFoundPath();
  }

  type Target = { kind: ServedKind; resource: string; group: string; namespace: string; name: string };

  function collection(
    method: string,
    kind: ServedKind,
    resource: string,
    namespace: string | undefined,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
  ): Reply | 'streaming' {
    let matchLabels: ReturnType<typeof labelSelector>;
    let matchFields: ReturnType<typeof fieldSelector>;
    try {
      matchLabels = labelSelector(url.searchParams.get('labelSelector'));
      matchFields = fieldSelector(url.searchParams.get('fieldSelector'));
    } catch (error) {
      if (error instanceof SelectorError) return failure(400, error.message);
      throw error;
    }
    const matching = (o: KubeObject) =>
      (namespace === undefined || o.metadata.namespace === namespace) &&
      matchLabels(o.metadata.labels) &&
      matchFields(o);

    if (method === 'GET') {
      const watch = url.searchParams.get('watch');
      if (watch === 'true' || watch === '1') {
        startWatch(kind, url, req, res, record, matching);
        return 'streaming';
      }
      const items = state.list(kind, namespace, matching);
      if (wantsTable(req))
        return ok(toTable(kind, items, now(), state.resourceVersion, url.searchParams.get('includeObject')));
      return ok({
        kind: `${kind}List`,
        apiVersion: apiVersionOf(kind),
        metadata: { resourceVersion: state.resourceVersion },
        // The server leaves kind and apiVersion out of list items.
        items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
      });
    }
    if (method === 'POST' && namespace !== undefined) {
      const body = record.body as KubeObject | undefined;
      if (!isJsonContent(record.contentType)) return unsupportedMedia();
      if (!body || typeof body !== 'object' || typeof body.metadata?.name !== 'string') {
        return failure(400, 'the body of the request could not be decoded as an object with metadata.name');
      }
      const name = body.metadata.name;
      if (state.get(kind, namespace, name)) {
        return failure(
          409,
          `${qualified(resource, kind)} "${name}" already exists`,
          details(kind, name),
          'AlreadyExists',
        );
      }
      const candidate = {
        ...body,
        kind,
        apiVersion: apiVersionOf(kind),
        metadata: { ...body.metadata, namespace },
      } as KubeObject;
      const invalid = validate(candidate);
      if (invalid) return invalid;
      return { status: 201, body: state.write(candidate, { dryRun: isDryRun(url) }) };
    }
    return methodNotAllowed(method);
  }

  function item(method: string, t: Target, url: URL, req: IncomingMessage, record: RecordedRequest): Reply {
    const current = state.get(t.kind, t.namespace, t.name);
    if (!current) return notFound(t);
    if (method === 'GET') {
      if (wantsTable(req))
        return ok(
          toTable(t.kind, [current], now(), state.resourceVersion, url.searchParams.get('includeObject')),
        );
      return ok(current);
    }
    if (method === 'DELETE') {
      if (!isDryRun(url)) state.remove(t.kind, t.namespace, t.name);
      return ok(statusSuccess({ ...details(t.kind, t.name), uid: current.metadata.uid ?? '' }));
    }
    if (method !== 'PUT' && method !== 'PATCH') return methodNotAllowed(method);
    const next = method === 'PUT' ? replacement(record, current) : patched(record, current);
    if ('reply' in next) return next.reply;
    const candidate = next.value;
    if (candidate.metadata?.name !== t.name) {
      return failure(
        400,
        `the name of the object (${String(candidate.metadata?.name)}) does not match the name on the URL (${t.name})`,
      );
    }
    const conflict = staleVersion(candidate, current, t);
    if (conflict) return conflict;
    // Writes to the main resource never change status; that is what /status is for.
    candidate.status = current.status as never;
    candidate.kind = t.kind as never;
    candidate.apiVersion = current.apiVersion as never;
    candidate.metadata = { ...candidate.metadata, namespace: t.namespace };
    const invalid = validate(candidate, current);
    if (invalid) return invalid;
    return ok(state.write(candidate, { dryRun: isDryRun(url) }));
  }

  function status(method: string, t: Target, url: URL, req: IncomingMessage, record: RecordedRequest): Reply {
    const current = state.get(t.kind, t.namespace, t.name);
    if (!current) return notFound(t);
    if (method === 'GET') return item('GET', t, url, req, record);
    if (method !== 'PUT' && method !== 'PATCH') return methodNotAllowed(method);
    const next = method === 'PUT' ? replacement(record, current) : patched(record, current);
    if ('reply' in next) return next.reply;
    const conflict = staleVersion(next.value, current, t);
    if (conflict) return conflict;
    const updated = { ...current, status: next.value.status } as KubeObject;
    return ok(isDryRun(url) ? updated : state.write(updated, { dryRun: false }));
  }

  /** /apis/argoproj.io/v1alpha1[/namespaces/{ns}]/rollouts[/{name}[/status]]: a CRD with the status subresource. */
  function argo(method: string, segments: string[], url: URL, record: RecordedRequest): Reply {
    if (segments.length === 2 && method === 'GET')
      return ok({ kind: 'APIGroup', apiVersion: 'v1', ...ARGO_API_GROUP });
    if (segments[2] !== 'v1alpha1') return notFoundPath();
    if (segments.length === 3 && method === 'GET') return ok(ARGO_V1ALPHA1_RESOURCES);
    let rest = segments.slice(3);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub, ...extra] = rest;
    if (resource !== 'rollouts' || extra.length > 0 || (sub !== undefined && sub !== 'status'))
      return notFoundPath();
    if (name === undefined) {
      if (method === 'GET') {
        return ok({
          kind: 'RolloutList',
          apiVersion: `${ARGO_GROUP}/v1alpha1`,
          metadata: { resourceVersion: state.resourceVersion },
          items: rollouts.list(namespace),
        });
      }
      if (method !== 'POST' || namespace === undefined) return methodNotAllowed(method);
      if (!isJsonContent(record.contentType)) return unsupportedMedia();
      const body = record.body as RolloutObject | undefined;
      if (!body || typeof body.metadata?.name !== 'string')
        return failure(400, 'the body of the request could not be decoded as an object with metadata.name');
      if (rollouts.get(namespace, body.metadata.name))
        return failure(
          409,
          `rollouts.${ARGO_GROUP} "${body.metadata.name}" already exists`,
          rolloutDetails(body.metadata.name),
          'AlreadyExists',
        );
      const candidate = { ...body, metadata: { ...body.metadata, namespace } };
      const invalid = validateRollout(candidate);
      if (invalid) return invalid;
      return { status: 201, body: rollouts.write(candidate, { dryRun: isDryRun(url) }) };
    }
    if (namespace === undefined) return notFoundPath();
    const current = rollouts.get(namespace, name);
    if (!current) return failure(404, `rollouts.${ARGO_GROUP} "${name}" not found`, rolloutDetails(name));
    if (method === 'GET') return ok(current);
    if (method === 'DELETE' && sub === undefined) {
      if (!isDryRun(url)) rollouts.remove(namespace, name);
      return ok(statusSuccess({ ...rolloutDetails(name), uid: current.metadata.uid ?? '' }));
    }
    if (method !== 'PUT' && method !== 'PATCH') return methodNotAllowed(method);
    // Custom resources take JSON and merge patches, never strategic merge (there is no schema for keys).
    if (method === 'PATCH' && record.contentType === 'application/strategic-merge-patch+json')
      return failure(
        415,
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    const asObject = current as unknown as KubeObject;
    const next = method === 'PUT' ? replacement(record, asObject) : patched(record, asObject);
    if ('reply' in next) return next.reply;
    const candidate = next.value as unknown as RolloutObject;
    if (candidate.metadata?.name !== name) {
      return failure(
        400,
        `the name of the object (${String(candidate.metadata?.name)}) does not match the name on the URL (${name})`,
      );
    }
    const rv = candidate.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      return failure(
        409,
        `Operation cannot be fulfilled on rollouts.${ARGO_GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        rolloutDetails(name),
      );
    }
    candidate.metadata = { ...candidate.metadata, namespace };
    const invalid = validateRollout(candidate);
    if (invalid) return invalid;
    return ok(rollouts.write(candidate, { dryRun: isDryRun(url), status: sub === 'status' }));
  }

  function scale(method: string, t: Target, url: URL, record: RecordedRequest): Reply {
    const current = state.get(t.kind, t.namespace, t.name) as DeploymentObject | undefined;
    if (!current) return notFound(t);
    const currentScale = toScale(current);
    if (method === 'GET') return ok(currentScale);
    if (method !== 'PUT' && method !== 'PATCH') return methodNotAllowed(method);
    let next: Json;
    if (method === 'PUT') {
      if (!isJsonContent(record.contentType)) return unsupportedMedia();
      next = record.body as Json;
    } else {
      const result = applyPatch(record, currentScale as unknown as Json);
      if ('reply' in result) return result.reply;
      next = result.value;
    }
    const scaleBody = next as { metadata?: { resourceVersion?: string }; spec?: { replicas?: unknown } };
    const wanted = scaleBody?.spec?.replicas;
    const rv = scaleBody?.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) return conflictReply(t);
    if (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 0) {
      const cause = {
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(wanted)}: must be greater than or equal to 0`,
      };
      return failure(422, `Scale.autoscaling "${t.name}" is invalid: spec.replicas: ${cause.message}`, {
        name: t.name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [cause],
      });
    }
    const updated = structuredClone(current);
    updated.spec.replicas = wanted;
    const written = state.write(updated, { dryRun: isDryRun(url) }) as DeploymentObject;
    return ok(toScale(written));
  }

  function replacement(
    record: RecordedRequest,
    current: KubeObject,
  ): { value: KubeObject } | { reply: Reply } {
    if (!isJsonContent(record.contentType)) return { reply: unsupportedMedia() };
    const body = record.body as KubeObject | undefined;
    if (!body || typeof body !== 'object')
      return { reply: failure(400, 'the body of the request could not be decoded') };
    return { value: { ...body, metadata: { ...body.metadata, uid: current.metadata.uid } } };
  }

  function patched(record: RecordedRequest, current: KubeObject): { value: KubeObject } | { reply: Reply } {
    const result = applyPatch(record, current as unknown as Json);
    return 'reply' in result ? result : { value: result.value as unknown as KubeObject };
  }

  function applyPatch(record: RecordedRequest, current: Json): { value: Json } | { reply: Reply } {
    const type = record.contentType ?? '';
    const wrap = (reply: Reply) => ({ reply });
    if (!PATCH_TYPES.has(type)) return wrap(unsupportedMedia(true));
    if (typeof record.body !== 'object' || record.body === null) {
      return wrap(failure(400, `error decoding patch: the body is not valid JSON`));
    }
    try {
      const body = record.body as Json;
      if (type === 'application/json-patch+json') return { value: applyJsonPatch(current, body) };
      if (type === 'application/merge-patch+json') return { value: applyMergePatch(current, body) };
      return { value: applyStrategicMergePatch(current, body) };
    } catch (error) {
      if (error instanceof PatchError) return wrap(failure(error.status, error.message));
      throw error;
    }
  }

  function staleVersion(candidate: KubeObject, current: KubeObject, t: Target): Reply | undefined {
    const rv = candidate.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) return conflictReply(t);
    return undefined;
  }

  function conflictReply(t: Target): Reply {
    return failure(
      409,
      `Operation cannot be fulfilled on ${qualified(t.resource, t.kind)} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
      details(t.kind, t.name),
    );
  }

  function podLog(namespace: string, name: string, url: URL): Reply {
    const pod = state.get('Pod', namespace, name);
    if (!pod) return failure(404, `pods "${name}" not found`, { name, kind: 'pods' });
    const names = pod.spec.containers.map((c) => c.name);
    let container = url.searchParams.get('container') ?? undefined;
    if (container === undefined) {
      if (names.length !== 1) {
        return failure(
          400,
          `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`,
        );
      }
      container = names[0] ?? '';
    }
    if (!names.includes(container))
      return failure(400, `container ${container} is not valid for pod ${name}`);
    const previous = url.searchParams.get('previous') === 'true';
    const statusOf = (pod.status?.containerStatuses ?? []).find(
      (s) => (s as { name?: string }).name === container,
    ) as { restartCount?: number; state?: { waiting?: { reason?: string } } } | undefined;
    let text = state.getLogs(namespace, name, container, previous);
    if (text === undefined) {
      if (previous && (statusOf?.restartCount ?? 0) === 0) {
        return failure(400, `previous terminated container "${container}" in pod "${name}" not found`);
      }
      const waiting = statusOf?.state?.waiting?.reason;
      if (
        !previous &&
        waiting &&
        ['ImagePullBackOff', 'ErrImagePull', 'ContainerCreating'].includes(waiting)
      ) {
        const why =
          waiting === 'ContainerCreating' ? 'ContainerCreating' : 'trying and failing to pull image';
        return failure(400, `container "${container}" in pod "${name}" is waiting to start: ${why}`);
      }
      text = '';
    }
    const tail = url.searchParams.get('tailLines');
    if (tail !== null) {
      const n = Number(tail);
      if (!Number.isInteger(n) || n < 0)
        return failure(422, `tailLines: Invalid value: ${tail}: must be greater than or equal to 0`);
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const kept = n === 0 ? [] : lines.slice(-n);
      text = kept.length === 0 ? '' : `${kept.join('\n')}\n`;
    }
    const limit = url.searchParams.get('limitBytes');
    if (limit !== null && Number(limit) > 0) text = Buffer.from(text).subarray(0, Number(limit)).toString();
    return { status: 200, body: text, contentType: 'text/plain' };
  }

  function startWatch(
    kind: ServedKind,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
    matching: (o: KubeObject) => boolean,
  ): void {
    record.status = 200;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
      'Audit-Id': randomUUID(),
    });
    res.flushHeaders();
    openStreams.add(res);
    const write = (type: string, object: unknown) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const since = Number(url.searchParams.get('resourceVersion') ?? '0');
    const initial = url.searchParams.get('sendInitialEvents') === 'true';
    for (const object of state.list(kind, undefined, matching)) {
      if (initial || since === 0) write('ADDED', object);
      else if (Number(object.metadata.resourceVersion) > since) write('MODIFIED', object);
    }
    if (initial) {
      write('BOOKMARK', {
        kind,
        apiVersion: apiVersionOf(kind),
        metadata: {
          resourceVersion: state.resourceVersion,
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    }
    const unsubscribe = state.subscribe((type, object) => {
      if (object.kind === kind && matching(object)) write(type, object);
    });
    const end = () => {
      unsubscribe();
      openStreams.delete(res);
      if (!res.writableEnded) res.end();
    };
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    if (timeout > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        end();
      }, timeout * 1000);
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    }
    req.on('close', end);
    res.on('close', end);
  }

  function validate(candidate: KubeObject, current?: KubeObject): Reply | undefined {
    const causes: { reason: string; message: string; field: string }[] = [];
    const invalid = (field: string, value: unknown, message: string) =>
      causes.push({
        reason: 'FieldValueInvalid',
        field,
        message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
      });
    const required = (field: string) =>
      causes.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
    const meta = candidate.metadata;
    for (const [field, map] of [
      ['metadata.annotations', meta.annotations],
      ['metadata.labels', meta.labels],
    ] as const) {
      for (const [k, v] of Object.entries(map ?? {}))
        if (typeof v !== 'string') invalid(`${field}[${k}]`, v, 'must be a string');
    }
    if (candidate.kind === 'Pod') {
      if (!Array.isArray(candidate.spec?.containers) || candidate.spec.containers.length === 0)
        required('spec.containers');
    } else {
      const spec = candidate.spec;
      const replicas = spec?.replicas;
      if (
        replicas !== undefined &&
        (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      ) {
        invalid('spec.replicas', replicas, 'must be greater than or equal to 0');
      }
      const selector = spec?.selector;
      if (
        !selector ||
        (Object.keys(selector.matchLabels ?? {}).length === 0 &&
          (selector.matchExpressions ?? []).length === 0)
      ) {
        required('spec.selector');
      } else if (!labelSelector(selectorString(selector))(spec.template?.metadata?.labels)) {
        invalid(
          'spec.template.metadata.labels',
          spec.template?.metadata?.labels ?? {},
          '`selector` does not match template `labels`',
        );
      }
      if (
        current &&
        current.kind !== 'Pod' &&
        JSON.stringify(current.spec.selector) !== JSON.stringify(selector)
      ) {
        invalid('spec.selector', selector, 'field is immutable');
      }
      const containers = spec?.template?.spec?.containers;
      if (!Array.isArray(containers) || containers.length === 0) required('spec.template.spec.containers');
      else {
        containers.forEach((c, i) => {
          if (!c || typeof c.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(c.name)) {
            invalid(
              `spec.template.spec.containers[${i}].name`,
              c?.name,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
            );
          }
          if (!c || typeof c.image !== 'string' || c.image.trim() === '')
            required(`spec.template.spec.containers[${i}].image`);
        });
      }
      for (const [k, v] of Object.entries(spec?.template?.metadata?.annotations ?? {})) {
        if (typeof v !== 'string') invalid(`spec.template.metadata.annotations[${k}]`, v, 'must be a string');
      }
    }
    if (causes.length === 0) return undefined;
    const group = candidate.kind === 'Pod' ? '' : 'apps';
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    return failure(
      422,
      `${candidate.kind}${group ? `.${group}` : ''} "${meta.name}" is invalid: ${summary}`,
      {
        name: meta.name,
        group,
        kind: candidate.kind,
        causes,
      },
    );
  }

  const double: KubernetesApiDouble = {
    url: '',
    token,
    contextName,
    caPem: certificate.certPem,
    kubeconfig: '',
    kubeconfigPath: '',
    kubeconfigWith: (overrides) =>
      kubeconfigYaml(double.url, certificate.certPem, {
        token: overrides.token ?? token,
        contextName: overrides.contextName ?? contextName,
        namespace: overrides.namespace ?? defaultNamespace,
      }),
    state,
    rollouts,
    requests,
    setRoles: (next) => {
      roles = next;
    },
    forbidden,
    requestsTo: (method, p) =>
      requests.filter(
        (r) => r.method === method.toUpperCase() && (typeof p === 'string' ? r.path === p : p.test(r.path)),
      ),
    clearRequests: () => {
      requests.length = 0;
    },
    inject: (rule) => {
      faults.push({ ...rule, remaining: rule.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const res of openStreams) res.destroy();
      openStreams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  double.url = `https://127.0.0.1:${port}`;
  double.kubeconfig = double.kubeconfigWith({});
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-kube-'));
  double.kubeconfigPath = path.join(dir, 'kubeconfig');
  await writeFile(double.kubeconfigPath, double.kubeconfig, { mode: 0o600 });
  return double;
}

/** kubeconfig YAML with one cluster, one token user and one context, all named `contextName`. */
export function kubeconfigYaml(
  server: string,
  caPem: string,
  options: { token: string; contextName: string; namespace: string },
): string {
  const q = JSON.stringify;
  const name = options.contextName;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(name)}`,
    '  cluster:',
    `    server: ${q(server)}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${q(`${name}-user`)}`,
    '  user:',
    `    token: ${q(options.token)}`,
    'contexts:',
    `- name: ${q(name)}`,
    '  context:',
    `    cluster: ${q(name)}`,
    `    user: ${q(`${name}-user`)}`,
    `    namespace: ${q(options.namespace)}`,
    `current-context: ${q(name)}`,
    '',
  ].join('\n');
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType ?? 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    ...reply.headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY + 1) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON (YAML apply patches, garbage): kept raw for the log
  }
}

const ok = (body: unknown): Reply => ({ status: 200, body });

function failure(code: number, message: string, details?: StatusDetails, reason?: string): Reply {
  const headers: Record<string, string> = {};
  if (code === 429 || code === 503) headers['Retry-After'] = String(details?.retryAfterSeconds ?? 1);
  return { status: code, body: statusFailure(code, message, details, reason), headers };
}

function faultReply(fault: Exclude<Fault, 'hang' | 'reset'>, method: string, pathname: string): Reply {
  const spec = typeof fault === 'number' ? { status: fault } : fault;
  const { resource, namespace, name, group } = describePath(pathname);
  const what = `${group ? `${resource}.${group}` : resource}${name ? ` "${name}"` : ''}`;
  const defaults: Record<number, string> = {
    403: `${what} is forbidden: User "system:serviceaccount:ops:millwright" cannot ${verbOf(method, name)} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`,
    404: `${what} not found`,
    409: `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`,
    429: 'Too many requests, please try again later.',
    500: 'Internal error occurred: etcdserver: request timed out',
    503: 'the server is currently unable to handle the request',
    504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
  };
  const message = spec.message ?? defaults[spec.status] ?? REASON_BY_CODE[spec.status] ?? 'error';
  const details: StatusDetails = { ...(name ? { name } : {}), group, kind: resource };
  if (spec.retryAfterSeconds !== undefined) details.retryAfterSeconds = spec.retryAfterSeconds;
  return failure(spec.status, message, details, spec.reason);
}

function describePath(pathname: string) {
  const segments = pathname.split('/').filter(Boolean);
  const group = segments[0] === 'apis' ? (segments[1] ?? '') : '';
  const nsIndex = segments.indexOf('namespaces');
  const namespace = nsIndex >= 0 ? (segments[nsIndex + 1] ?? '') : '';
  const after = nsIndex >= 0 ? segments.slice(nsIndex + 2) : segments.slice(group ? 3 : 2);
  return { group, namespace, resource: after[0] ?? '', name: after[1] };
}

function verbOf(method: string, name: string | undefined): string {
  const verbs: Record<string, string> = {
    GET: name ? 'get' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
  };
  return verbs[method] ?? method.toLowerCase();
}

function notFoundPath(): Reply {
  return failure(404, 'the server could not find the requested resource', undefined, 'NotFound');
}

function notFound(t: { kind: ServedKind; resource: string; name: string }): Reply {
  return failure(404, `${qualified(t.resource, t.kind)} "${t.name}" not found`, details(t.kind, t.name));
}

function methodNotAllowed(method: string): Reply {
  return failure(405, `the server does not allow this method on the requested resource (${method})`);
}

function unsupportedMedia(patch = false): Reply {
  const accepted = patch
    ? 'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json'
    : 'application/json';
  return failure(
    415,
    `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
  );
}

function isJsonContent(type: string | undefined): boolean {
  return JSON_TYPES.has(type ?? '');
}

function isDryRun(url: URL): boolean {
  return url.searchParams.get('dryRun') === 'All';
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

function apiVersionOf(kind: ServedKind): string {
  return kind === 'Pod' ? 'v1' : 'apps/v1';
}

function qualified(resource: string, kind: ServedKind): string {
  return kind === 'Pod' ? resource : `${resource}.apps`;
}

function details(kind: ServedKind, name: string): StatusDetails {
  return kind === 'Pod'
    ? { name, kind: 'pods' }
    : { name, group: 'apps', kind: kind === 'Deployment' ? 'deployments' : 'replicasets' };
}

const ARGO_GROUP = 'argoproj.io';
const ARGO_V1ALPHA1 = { groupVersion: `${ARGO_GROUP}/v1alpha1`, version: 'v1alpha1' };
const ARGO_API_GROUP = { name: ARGO_GROUP, versions: [ARGO_V1ALPHA1], preferredVersion: ARGO_V1ALPHA1 };
const ARGO_V1ALPHA1_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: `${ARGO_GROUP}/v1alpha1`,
  resources: [
    {
      name: 'rollouts',
      singularName: 'rollout',
      namespaced: true,
      kind: 'Rollout',
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      shortNames: ['ro'],
    },
    {
      name: 'rollouts/status',
      singularName: '',
      namespaced: true,
      kind: 'Rollout',
      verbs: ['get', 'patch', 'update'],
    },
  ],
};

function rolloutDetails(name: string): StatusDetails {
  return { name, group: ARGO_GROUP, kind: 'rollouts' };
}

/** What the Rollout CRD's OpenAPI schema refuses that a release could send: a template without images. */
function validateRollout(candidate: RolloutObject): Reply | undefined {
  const containers = candidate.spec?.template?.spec?.containers;
  const bad = !Array.isArray(containers)
    ? 0
    : containers.findIndex((c) => !c || typeof c.image !== 'string' || c.image.trim() === '');
  if (Array.isArray(containers) && containers.length > 0 && bad === -1) return undefined;
  const field =
    Array.isArray(containers) && containers.length > 0
      ? `spec.template.spec.containers[${bad}].image`
      : 'spec.template.spec.containers';
  return failure(
    422,
    `Rollout.${ARGO_GROUP} "${candidate.metadata?.name}" is invalid: ${field}: Required value`,
    {
      ...rolloutDetails(candidate.metadata?.name ?? ''),
      kind: 'Rollout',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field }],
    },
  );
}

function namespaceObject(name: string) {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function toScale(d: DeploymentObject) {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      uid: d.metadata.uid,
      resourceVersion: d.metadata.resourceVersion,
      creationTimestamp: d.metadata.creationTimestamp,
    },
    spec: { replicas: d.spec.replicas ?? 1 },
    status: { replicas: d.status?.replicas ?? 0, selector: selectorString(d.spec.selector) },
  };
}
