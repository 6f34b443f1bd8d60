// Which services a change touches: the catalog's owners of the workloads its runbook names, never a
// service the requester types. A typed service that disagrees, or names nobody, is refused.
import type { BaseConfig } from '../config/index.js';
import { badArgument } from '../core/errors.js';
import type { ParamValue, RunbookSpec, Workload } from '../runbooks/index.js';
import { describeWorkload, workloadsOf } from '../runbooks/targets.js';

export type ServiceCatalog = BaseConfig['services'];

export interface ChangeServices {
  /** Every service the change touches, the one it is filed under first. */
  services: string[];
  /** Workloads no service owns (only when the policy lets them through to a person). */
  unowned: string[];
}

/** The services whose catalog entry owns `workload` (a deployment in their namespace, or their repo). */
export function ownersOf(workload: Workload, catalog: ServiceCatalog): string[] {
  return Object.entries(catalog)
    .filter(([, entry]) =>
      workload.kind === 'deployment'
        ? entry.kubernetes?.namespace === workload.namespace &&
          entry.kubernetes.deployments.includes(workload.name)
        : entry.github?.repo.toLowerCase() === workload.repo.toLowerCase(),
    )
    .map(([name]) => name);
}

/** Refuses a service name the catalog does not know, suggesting the ones it does. */
export function knownService(service: string, catalog: ServiceCatalog): string {
  if (Object.hasOwn(catalog, service)) return service;
  const known = Object.keys(catalog);
  throw badArgument(
    `service=${service} is not in the service catalog`,
    known.length ? `known services: ${known.join(', ')}` : 'add it under services: in millwright.yml',
    'service',
  );
}

/**
 * The services a runbook change touches. With targets, the owners of each workload (a typed
 * `service=` must be one of them); without, the runbook's own `metadata.services`.
 *
 * @example
 * resolveServices({ workloads: [{ kind: 'deployment', namespace: 'shop', name: 'checkout' }], declared: [], catalog })
 * // { services: ['checkout'], unowned: [] }
 */
export function resolveServices(input: {
  workloads: readonly Workload[];
  declared: readonly string[];
  typed?: string | undefined;
  catalog: ServiceCatalog;
  unownedWorkloads: 'refuse' | 'approval';
}): ChangeServices {
  const { workloads, declared, typed, catalog } = input;
  if (typed !== undefined) knownService(typed, catalog);
  if (workloads.length === 0) {
    if (typed !== undefined) {
      if (declared.length && !declared.includes(typed))
        throw badArgument(`this runbook changes ${declared.join(', ')}, not ${typed}`, undefined, 'service');
      return { services: [typed], unowned: [] };
    }
    const [only] = declared;
    if (declared.length !== 1 || only === undefined)
      throw badArgument(
        `say which service this change is for: service=${declared.join('|') || 'NAME'}`,
        undefined,
        'service',
      );
    return { services: [knownService(only, catalog)], unowned: [] };
  }
  const services: string[] = [];
  const unowned: string[] = [];
  for (const workload of workloads) {
    const owners = ownersOf(workload, catalog);
    if (owners.length === 0) unowned.push(describeWorkload(workload));
    for (const owner of owners) if (!services.includes(owner)) services.push(owner);
  }
  const owned = workloads.map(
    (w) => `${describeWorkload(w)} → ${ownersOf(w, catalog).join(', ') || 'nobody'}`,
  );
  if (typed !== undefined && services.length > 0 && !services.includes(typed))
    throw badArgument(
      `service=${typed} does not match what this change touches: ${owned.join('; ')}`,
      `leave service= out; the workload decides the service`,
      'service',
    );
  if (unowned.length > 0 && input.unownedWorkloads === 'refuse')
    throw badArgument(
      `no service in the catalog owns ${unowned.join(', ')}, so the gate cannot judge it`,
      'add it to a service (services.NAME.kubernetes.deployments or github.repo) in millwright.yml',
    );
  if (services.length === 0) {
    if (typed === undefined)
      throw badArgument(
        `no service owns ${unowned.join(', ')}: name the service responsible with service=NAME`,
        undefined,
        'service',
      );
    services.push(typed);
  }
  // The service a requester named leads, when it is one the change touches.
  if (typed !== undefined) services.sort((a, b) => Number(b === typed) - Number(a === typed));
  return { services, unowned };
}

/**
 * The services a run of `runbook` with `params` touches, as far as the catalog tells: the owners of
 * its targets, or its declared services when it names no target. For reading records, not for gating.
 */
export function servicesTouchedBy(
  runbook: RunbookSpec,
  params: Record<string, ParamValue>,
  catalog: ServiceCatalog,
): string[] {
  const workloads = workloadsOf(runbook, params);
  if (workloads.length === 0) return [...runbook.metadata.services];
  return [...new Set(workloads.flatMap((workload) => ownersOf(workload, catalog)))];
}
