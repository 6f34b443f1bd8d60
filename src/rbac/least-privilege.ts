// The least-privilege Roles Millwright needs, derived from what is configured (runbook steps, the
// service catalog) and from what each action and reader declares it calls. No wildcards, ever.
import { stringify } from 'yaml';
import type { RunbookSpec, RunbookStep } from '../runbooks/index.js';
import { type KubernetesApiCall, mergeApiCalls } from '../upstreams/kubernetes/api-calls.js';

/** What the Roles are derived from; the composition root hands in the declaration tables. */
export interface RbacSources {
  /** The `kubernetes` section: the executor's context and the namespaces it may touch. */
  kubernetes?: { context?: string | undefined; allowedNamespaces: readonly string[] } | undefined;
  /** The service catalog: `deploys`, incidents and digests read each service's namespace. */
  services: Readonly<Record<string, { kubernetes?: CatalogKubernetes | undefined }>>;
  runbooks: readonly RunbookSpec[];
  /** Each kubernetes executor action's declared API calls. */
  actionCalls: Readonly<Record<string, readonly KubernetesApiCall[]>>;
  /** The API calls the deploys service makes in one namespace for the catalog services there. */
  serviceCalls: (services: { name: string; kubernetes: CatalogKubernetes }[]) => readonly KubernetesApiCall[];
  /** The kubernetes actions a release of an Argo Rollout runs (`services.NAME.kubernetes.rollout`). */
  rolloutReleaseActions?: readonly string[];
}

/** A catalog service's `kubernetes` section. */
export interface CatalogKubernetes {
  context?: string | undefined;
  namespace: string;
  deployments: string[];
  selector?: string | undefined;
  /** An Argo Rollout its releases drive. */
  rollout?: string | undefined;
}

/** One namespace's Role: its rules and who needs them. */
export interface LeastPrivilegeRole {
  /** The kubeconfig context it applies to; undefined for the current (or in-cluster) one. */
  context: string | undefined;
  namespace: string;
  rules: KubernetesApiCall[];
  /** `runbook restart-deployment (kubernetes.restart, kubernetes.rollout-status)`, `deploys, incidents and digests of (checkout)` ... */
  neededBy: string[];
}

export interface RbacPlan {
  roles: LeastPrivilegeRole[];
  /** Configured things that can never work (a step outside the allowed namespaces, an unknown action). */
  warnings: string[];
}

/** The name of every Role and RoleBinding Millwright asks for. */
export const ROLE_NAME = 'millwright';

const PARAM_REFERENCE = /^\{\{\s*params\.([A-Za-z0-9_-]+)\s*\}\}$/;

/**
 * Works out the Roles: per (context, namespace), the union of the calls of every kubernetes action a
 * runbook step uses there and of the deploys reads for each catalog service there.
 *
 * @example
 * const { roles } = planRoles({ kubernetes: { allowedNamespaces: ['shop'] }, services: {}, runbooks,
 *   actionCalls: KUBERNETES_ACTION_CALLS, serviceCalls: deploysKubernetesCalls });
 */
export function planRoles(sources: RbacSources): RbacPlan {
  const needs = new Map<
    string,
    {
      context: string | undefined;
      namespace: string;
      calls: KubernetesApiCall[][];
      by: Map<string, Set<string>>;
    }
  >();
  const warnings: string[] = [];
  const need = (
    context: string | undefined,
    namespace: string,
    calls: readonly KubernetesApiCall[],
    by: string,
    what: string,
  ) => {
    const key = `${context ?? ''}\u0000${namespace}`;
    const entry = needs.get(key) ?? { context, namespace, calls: [], by: new Map<string, Set<string>>() };
    entry.calls.push([...calls]);
    entry.by.set(by, (entry.by.get(by) ?? new Set<string>()).add(what));
    needs.set(key, entry);
  };

  const allowed = sources.kubernetes?.allowedNamespaces ?? [];
  const unconfigured = new Set<string>();
  for (const runbook of sources.runbooks) {
    const name = runbook.metadata.name;
    for (const step of [...runbook.spec.steps, ...runbook.spec.rollback]) {
      const [executor, action = ''] = step.uses.split('.');
      if (executor !== 'kubernetes') continue;
      const calls = Object.hasOwn(sources.actionCalls, action) ? sources.actionCalls[action] : undefined;
      if (!calls) {
        warnings.push(
          `runbook ${name} step ${step.id} uses kubernetes.${action}, which the kubernetes executor does not offer`,
        );
        continue;
      }
      if (!sources.kubernetes) {
        unconfigured.add(name);
        continue;
      }
      const { namespaces, outside } = stepNamespaces(step, runbook, allowed);
      for (const namespace of outside) {
        warnings.push(
          `runbook ${name} step ${step.id} names namespace ${namespace}, which is not in kubernetes.allowedNamespaces; the executor refuses it, so no rights are asked for`,
        );
      }
      for (const namespace of namespaces) {
        need(sources.kubernetes.context, namespace, calls, `runbook ${name}`, step.uses);
      }
    }
  }
  if (unconfigured.size > 0) {
    warnings.push(
      `runbooks ${[...unconfigured].join(', ')} use the kubernetes executor, but millwright.yml has no kubernetes section (allowedNamespaces), so they cannot run`,
    );
  }
  const catalog = new Map<
    string,
    {
      context: string | undefined;
      namespace: string;
      services: { name: string; kubernetes: CatalogKubernetes }[];
    }
  >();
  for (const [name, entry] of Object.entries(sources.services)) {
    if (!entry.kubernetes) continue;
    const context = entry.kubernetes.context ?? sources.kubernetes?.context;
    const key = `${context ?? ''}\u0000${entry.kubernetes.namespace}`;
    const group = catalog.get(key) ?? { context, namespace: entry.kubernetes.namespace, services: [] };
    group.services.push({ name, kubernetes: entry.kubernetes });
    catalog.set(key, group);
  }
  for (const group of catalog.values()) {
    const calls = sources.serviceCalls(group.services);
    for (const service of group.services) {
      need(group.context, group.namespace, calls, 'deploys, incidents and digests of', service.name);
      if (!service.kubernetes.rollout) continue;
      const actions = sources.rolloutReleaseActions ?? [];
      const releaseCalls = actions.flatMap((action) => sources.actionCalls[action] ?? []);
      need(
        group.context,
        group.namespace,
        releaseCalls,
        `releases of ${service.name}`,
        `rollout ${service.kubernetes.rollout}`,
      );
    }
  }

  const roles = [...needs.values()]
    .map((entry) => ({
      context: entry.context,
      namespace: entry.namespace,
      rules: mergeApiCalls(...entry.calls),
      neededBy: [...entry.by].map(([by, what]) => `${by} (${[...what].sort().join(', ')})`).sort(),
    }))
    .sort(
      (a, b) => (a.context ?? '').localeCompare(b.context ?? '') || a.namespace.localeCompare(b.namespace),
    );
  return { roles, warnings };
}

/**
 * The namespaces a step can reach: a literal, or a `{{ params.X }}` whose parameter is an enum, narrows
 * the allow-list; anything else may be any allowed namespace.
 */
function stepNamespaces(
  step: RunbookStep,
  runbook: RunbookSpec,
  allowed: readonly string[],
): { namespaces: string[]; outside: string[] } {
  const value = step.with.namespace;
  let candidates: string[] | undefined;
  if (typeof value === 'string' && !value.includes('{{')) candidates = [value];
  else if (typeof value === 'string') {
    const param = PARAM_REFERENCE.exec(value)?.[1];
    const declared = runbook.spec.params.find((p) => p.name === param);
    if (declared?.type === 'enum' && declared.values) candidates = [...declared.values];
  }
  if (candidates === undefined) return { namespaces: [...allowed], outside: [] };
  return {
    namespaces: candidates.filter((ns) => allowed.includes(ns)),
    outside: candidates.filter((ns) => !allowed.includes(ns)),
  };
}

/** A Role as the Kubernetes API takes it. */
export interface RoleObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

/**
 * The Role object for one planned Role: one rule per resource, in a stable order.
 *
 * @example
 * roleObject(plan.roles[0]).rules // [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'patch'] }, ...]
 */
export function roleObject(role: LeastPrivilegeRole): RoleObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: {
      name: ROLE_NAME,
      namespace: role.namespace,
      labels: { 'app.kubernetes.io/name': 'millwright', 'app.kubernetes.io/component': 'rbac' },
      annotations: {
        'millwright.dev/needed-by': role.neededBy.join('; '),
        ...(role.context !== undefined ? { 'millwright.dev/kubeconfig-context': role.context } : {}),
      },
    },
    rules: role.rules.map((rule) => ({
      apiGroups: [rule.apiGroup],
      resources: [rule.resource],
      verbs: [...rule.verbs],
    })),
  };
}

/**
 * The Roles as one multi-document YAML text, each with a comment naming its cluster context.
 *
 * @example
 * process.stdout.write(rolesYaml(planRoles(sources).roles));
 */
export function rolesYaml(roles: readonly LeastPrivilegeRole[]): string {
  return roles
    .map((role) => {
      const where =
        role.context === undefined ? 'the current kubeconfig context' : `kubeconfig context ${role.context}`;
      return `# Role for namespace ${role.namespace} in ${where}; generated by millwright rbac\n${stringify(roleObject(role), { lineWidth: 0 })}`;
    })
    .join('---\n');
}
