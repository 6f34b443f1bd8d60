// What undoes a change that failed verification: the runbook's own rollback steps, else the
// rollback runbook the service catalog names, with the change's parameters; or why there is none.
import { asMillwrightError } from '../core/errors.js';
import type { LoadedRunbook, ParamValue, RunbookService } from '../runbooks/index.js';
import type { PolicyConfig } from './policy-schema.js';
import { type ChangeRequest, servicesOf } from './types.js';
import type { ServiceCatalog } from './workloads.js';

export type RollbackPlan =
  | { kind: 'run'; runbook: LoadedRunbook; params: Record<string, ParamValue>; what: string }
  | { kind: 'none'; why: string };

/**
 * @example
 * planRollback(change, { runbooks, catalog, policy })
 * // { kind: 'run', runbook: rollback-deployment, params: { deployment: 'checkout', namespace: 'shop' }, what: '...' }
 */
export function planRollback(
  change: ChangeRequest,
  options: { runbooks: RunbookService; catalog: ServiceCatalog; policy: PolicyConfig },
): RollbackPlan {
  const { runbooks, catalog, policy } = options;
  if (!policy.verify.rollback) return { kind: 'none', why: 'policy.verify.rollback is off' };
  if (change.kind !== 'runbook')
    return {
      kind: 'none',
      why: change.delivery
        ? `${change.delivery.pipeline} delivered this change, so Millwright has nothing to run to undo it`
        : 'a person performed this change, so Millwright has nothing to run to undo it',
    };
  const own = runbooks.get(change.runbook!);
  const params = change.params as Record<string, ParamValue>;
  if (own.spec.spec.rollback.length > 0) {
    const rollbackOnly: LoadedRunbook = {
      ...own,
      spec: { ...own.spec, spec: { ...own.spec.spec, steps: own.spec.spec.rollback, rollback: [] } },
    };
    return { kind: 'run', runbook: rollbackOnly, params, what: `the rollback steps of ${change.runbook}` };
  }
  const service = servicesOf(change).find((name) => catalog[name]?.rollbackRunbook);
  const name = service ? catalog[service]!.rollbackRunbook! : undefined;
  if (!service || !name)
    return {
      kind: 'none',
      why: `${change.runbook} has no rollback steps and ${servicesOf(change).join(', ')} names no rollbackRunbook in the service catalog`,
    };
  try {
    const runbook = runbooks.get(name);
    // The rollback runbook takes the parameters it declares from the change (deployment, namespace, ...).
    const raw = Object.fromEntries(
      runbook.spec.spec.params
        .filter((p) => params[p.name] !== undefined)
        .map((p) => [p.name, String(params[p.name])]),
    );
    const values = runbooks.params(runbook, raw);
    const shown = Object.entries(values)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    return {
      kind: 'run',
      runbook,
      params: values,
      what: `${name} ${shown} (services.${service}.rollbackRunbook)`.replace('  ', ' '),
    };
  } catch (error) {
    return {
      kind: 'none',
      why: `services.${service}.rollbackRunbook ${name} cannot run with this change's parameters: ${asMillwrightError(error).message}`,
    };
  }
}
