// The workloads a runbook run changes, resolved from its parameters: what the change gate maps to
// the services that own them.
import type { ParamValue } from './params.js';
import type { RunbookSpec } from './schema.js';
import { render } from './template.js';

export type Workload =
  | { kind: 'deployment'; namespace: string; name: string }
  | { kind: 'repo'; repo: string };

/**
 * The runbook's declared targets with its parameters filled in.
 *
 * @example
 * workloadsOf(restartDeployment, { deployment: 'checkout', namespace: 'shop' })
 * // [{ kind: 'deployment', namespace: 'shop', name: 'checkout' }]
 */
export function workloadsOf(runbook: RunbookSpec, params: Record<string, ParamValue>): Workload[] {
  const scope = { params, steps: {} };
  const text = (value: string) => String(render(value, scope) ?? '');
  return runbook.spec.targets.map((target) =>
    target.kind === 'deployment'
      ? { kind: 'deployment', namespace: text(target.namespace), name: text(target.name) }
      : { kind: 'repo', repo: text(target.repo) },
  );
}

/** `deployment shop/checkout`, `repo acme/checkout`: how a workload reads in an explanation. */
export function describeWorkload(workload: Workload): string {
  return workload.kind === 'deployment'
    ? `deployment ${workload.namespace}/${workload.name}`
    : `repo ${workload.repo}`;
}
