// The policy gate: evaluates the ordered rules for one change and explains each with its numbers.
// A hard failure denies, a rule that cannot decide asks a person, a soft failure asks approvers.
import { asMillwrightError } from '../core/errors.js';
import { formatAbsolute } from '../core/time.js';
import { parseZoned, wallTime } from '../core/zoned-time.js';
import type { Store, StoredRecord } from '../store/store.js';
import { BUDGET_POLICY, type BudgetPolicyRecord } from './budget-policy-state.js';
import { burnEvidence, burnNumbers } from './burn-evidence.js';
import type { FreezeWindow, PolicyRule } from './policy-schema.js';
import type {
  BudgetSource,
  ChangeRequest,
  GateDecision,
  GateEvaluation,
  IncidentSource,
  RuleResult,
} from './types.js';
import { servicesOf } from './types.js';

export interface AdHocFreeze extends StoredRecord {
  id: string;
  service: string;
  until: string;
  reason: string;
  by: string;
  at: string;
}

export interface GateInputs {
  budgets?: BudgetSource;
  incidents: IncidentSource;
  store: Store;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const pct = (value: number) => `${value.toFixed(1)}%`;

/** The window that is in force at `at`, if any. Recurring windows compare wall-clock time in their zone. */
export function activeFreezeWindow(windows: readonly FreezeWindow[], at: Date): FreezeWindow | undefined {
  return windows.find((window) => {
    if ('days' in window) {
      const local = wallTime(at, window.timeZone);
      const minutes = local.hour * 60 + local.minute;
      const [fromH, fromM] = window.from.split(':').map(Number) as [number, number];
      const [toH, toM] = window.to.split(':').map(Number) as [number, number];
      const from = fromH * 60 + fromM;
      const to = toH * 60 + toM;
      const today = DAYS[local.weekday] as (typeof window.days)[number];
      const yesterday = DAYS[(local.weekday + 6) % 7] as (typeof window.days)[number];
      // A window like fri 18:00 -> 08:00 runs past midnight into the next day.
      if (from <= to) return window.days.includes(today) && minutes >= from && minutes < to;
      return (
        (window.days.includes(today) && minutes >= from) || (window.days.includes(yesterday) && minutes < to)
      );
    }
    const from = parseZoned(window.from, window.timeZone);
    const to = parseZoned(window.to, window.timeZone);
    return from !== undefined && to !== undefined && at >= from && at < to;
  });
}

function describeWindow(window: FreezeWindow): string {
  if ('days' in window)
    return `freeze "${window.name}" (${window.days.join(', ')} ${window.from}-${window.to} ${window.timeZone})`;
  return `freeze "${window.name}" until ${window.to.replace('T', ' ')} ${window.timeZone}`;
}

async function evaluateRule(
  rule: PolicyRule,
  change: ChangeRequest,
  service: string,
  purpose: GateEvaluation['purpose'],
  inputs: GateInputs,
  at: Date,
): Promise<RuleResult[]> {
  const { severity } = rule;
  const result = (
    status: RuleResult['status'],
    evidence: string,
    fix?: string,
    facts: Partial<RuleResult> = {},
  ): RuleResult => ({
    kind: rule.kind,
    status,
    severity,
    evidence,
    ...(fix ? { fix } : {}),
    service,
    subject: service,
    ...facts,
  });
  switch (rule.kind) {
    case 'change-class': {
      if (change.changeClass === 'standard' && change.risk !== 'high') {
        return [result('pass', `standard change, ${change.risk} risk`)];
      }
      const why = change.changeClass === 'normal' ? 'normal change' : 'high risk';
      return [result('fail', `${why}: a person must approve`, 'approvals from the approver role')];
    }
    case 'error-budget':
    case 'burn-state': {
      if (!inputs.budgets) {
        return [
          result(
            'unknown',
            'error budget: Prometheus is not configured, so the budget cannot be checked',
            'configure prometheus and the service SLOs',
          ),
        ];
      }
      let statuses: Awaited<ReturnType<BudgetSource['statusFor']>>;
      try {
        statuses = await inputs.budgets.statusFor(service, at);
      } catch (error) {
        const failure = asMillwrightError(error);
        return [
          result(
            'unknown',
            `error budget of ${service} could not be read: ${failure.message}`,
            'retry when Prometheus answers, or have an approver decide',
            { unreadable: { code: failure.code, message: failure.message } },
          ),
        ];
      }
      if (statuses.length === 0) {
        return [
          result(
            'unknown',
            `${service} has no SLOs, so no budget can vouch for it`,
            'define an SLO for the service',
          ),
        ];
      }
      return statuses.map((status) => {
        const facts: Partial<RuleResult> = {
          slo: status.slo,
          ...(status.unreadable ? { unreadable: status.unreadable } : {}),
        };
        if (rule.kind === 'error-budget') {
          const bound = { ...facts, threshold: rule.minRemainingPercent, unit: 'percent' as const };
          if (status.remainingPercent === undefined) {
            return result(
              'unknown',
              `error budget ${status.slo}: unknown (${status.detail ?? status.burnState})`,
              undefined,
              { ...bound, subject: status.slo },
            );
          }
          const ok = status.remainingPercent >= rule.minRemainingPercent;
          return result(
            ok ? 'pass' : 'fail',
            `error budget ${status.slo}: ${pct(status.remainingPercent)} left ${ok ? '≥' : '<'} ${rule.minRemainingPercent}%`,
            ok ? undefined : 'wait for the budget to recover, or have an approver accept the risk',
            {
              ...bound,
              value: status.remainingPercent,
              subject: status.slo,
              numbers: {
                remainingPercent: status.remainingPercent,
                minRemainingPercent: rule.minRemainingPercent,
              },
            },
          );
        }
        const burn = { ...facts, burnRates: { ...(status.burnRates ?? {}) } };
        if (status.burnState === 'unknown')
          return result(
            'unknown',
            `burn state ${status.slo}: unknown (${status.detail ?? 'no data'})`,
            undefined,
            { ...burn, subject: status.slo },
          );
        const burning = (rule.block as readonly string[]).includes(status.burnState);
        return result(
          burning ? 'fail' : 'pass',
          `burn state ${status.slo}: ${burnEvidence(status)}`,
          burning ? 'wait until the service stops burning budget' : undefined,
          { ...burn, subject: status.slo, numbers: burnNumbers(status) },
        );
      });
    }
    case 'freeze': {
      const freezes = await inputs.store.list<AdHocFreeze>(
        'freezes',
        (f) => f.service === service && new Date(f.until) > at,
      );
      const adHoc = freezes[0];
      if (adHoc) {
        return [
          result(
            'fail',
            `freeze on ${service} until ${formatAbsolute(new Date(adHoc.until))} by ${adHoc.by}: ${adHoc.reason}`,
            `change unfreeze service=${service}, or wait`,
          ),
        ];
      }
      const window = activeFreezeWindow(rule.windows, at);
      if (window) return [result('fail', describeWindow(window), 'wait for the freeze to end')];
      return [result('pass', `no freeze on ${service}`)];
    }
    case 'open-incident': {
      let open: Awaited<ReturnType<IncidentSource['openFor']>>;
      try {
        open = await inputs.incidents.openFor(service);
      } catch (error) {
        const failure = asMillwrightError(error);
        return [
          result('unknown', `open incidents on ${service} could not be read: ${failure.message}`, undefined, {
            unreadable: { code: failure.code, message: failure.message },
          }),
        ];
      }
      const blocking = open.filter((incident) =>
        (rule.severities as readonly number[]).includes(incident.severity),
      );
      const counted = { value: blocking.length, threshold: 0, unit: 'incidents' as const };
      if (blocking.length === 0)
        return [
          result(
            'pass',
            `no open SEV${rule.severities.join('/')} incident on ${service}`,
            undefined,
            counted,
          ),
        ];
      return [
        result(
          'fail',
          `open incident ${blocking.map((i) => `${i.id} (SEV${i.severity}: ${i.title})`).join(', ')} on ${service}`,
          'resolve the incident first',
          counted,
        ),
      ];
    }
    case 'daily-limit': {
      const since = at.getTime() - 86_400_000;
      const executed = await inputs.store.list<ChangeRequest>(
        'changes',
        (c) =>
          servicesOf(c).includes(service) &&
          c.id !== change.id &&
          c.execution !== undefined &&
          new Date(c.execution.startedAt).getTime() >= since,
      );
      const ok = executed.length < rule.max;
      return [
        result(
          ok ? 'pass' : 'fail',
          `${executed.length} change(s) to ${service} in the last 24h ${ok ? '<' : '≥'} ${rule.max}`,
          ok ? undefined : 'wait, or have an approver accept one more',
          {
            value: executed.length,
            threshold: rule.max,
            unit: 'changes',
            numbers: { changes24h: executed.length, max: rule.max },
          },
        ),
      ];
    }
    case 'error-budget-policy':
      return [await budgetPolicyRule(change, service, inputs.store, result)];
    case 'lock': {
      // At execution the lock is taken, not judged: a busy lock makes the change wait its turn.
      if (purpose === 'execution') return [result('pass', 'lock is taken at execution')];
      const lock = await inputs.store.get<{ id: string; owner: string; expiresAt: string }>(
        'locks',
        `change:${service}`,
      );
      const held = lock && lock.owner !== change.id && new Date(lock.expiresAt) > at;
      return [
        result(
          held ? 'fail' : 'pass',
          held ? `change lock on ${service} held by ${lock.owner}` : `change lock on ${service} is free`,
          held ? `wait for ${lock.owner} to finish` : undefined,
        ),
      ];
    }
  }
}

type ResultOf = (
  status: RuleResult['status'],
  evidence: string,
  fix?: string,
  facts?: Partial<RuleResult>,
) => RuleResult;

/** The error-budget policy's verdict: a frozen service holds every change but an emergency one. */
async function budgetPolicyRule(
  change: ChangeRequest,
  service: string,
  store: Store,
  result: ResultOf,
): Promise<RuleResult> {
  const record = await store.get<BudgetPolicyRecord>(BUDGET_POLICY, service);
  const left = record?.reading?.remainingPercent;
  const numbers = {
    ...(left !== undefined ? { remainingPercent: left } : {}),
    ...(record?.limits
      ? { freezeAtOrBelowPercent: record.limits.budgetAtOrBelow, liftAbovePercent: record.limits.budgetAbove }
      : {}),
  };
  const facts: Partial<RuleResult> = {
    ...(record?.reading?.slo ? { slo: record.reading.slo } : {}),
    ...(left !== undefined ? { value: left, unit: 'percent' as const } : {}),
    ...(record?.limits ? { threshold: record.limits.budgetAtOrBelow } : {}),
    ...(Object.keys(numbers).length ? { numbers } : {}),
  };
  if (!record || record.state === 'normal')
    return result(
      'pass',
      `error-budget policy: ${service} is not frozen${left !== undefined ? ` (${pct(left)} of the budget left)` : ''}`,
      undefined,
      facts,
    );
  const since = formatAbsolute(new Date(record.since));
  if (record.state === 'overridden')
    return result(
      'pass',
      `error-budget policy: the freeze of ${service} is overridden by ${record.override?.by} until ${formatAbsolute(new Date(record.override?.until ?? record.since))}: ${record.override?.reason}`,
      undefined,
      facts,
    );
  if (change.emergency)
    return result(
      'pass',
      `error-budget policy: ${service} is frozen since ${since} (${record.detail}); an emergency change goes through`,
      undefined,
      facts,
    );
  const lift = record.limits ? ` until the budget is back above ${record.limits.budgetAbove}%` : '';
  return result(
    'fail',
    `error-budget policy: ${service} is frozen since ${since}: ${record.detail}`,
    `only emergency changes go through${lift}, or someone with the right runs budget override ${service} reason="..."`,
    facts,
  );
}

/** Combines rule results: any hard failure denies; anything unknown goes to a person; soft failures need approval. */
export function decide(rules: readonly RuleResult[]): GateDecision {
  if (rules.some((r) => r.status === 'fail' && r.severity === 'hard')) return 'denied';
  if (rules.some((r) => r.status === 'unknown')) return 'unknown';
  if (rules.some((r) => r.status === 'fail')) return 'needs-approval';
  return 'approved';
}

/**
 * Evaluates every rule, in order, for a change.
 *
 * @example
 * const evaluation = await evaluateGate(change, policy.rules, { budgets, incidents, store }, clock.now(), 'request');
 */
export async function evaluateGate(
  change: ChangeRequest,
  rules: readonly PolicyRule[],
  inputs: GateInputs,
  at: Date,
  purpose: GateEvaluation['purpose'],
): Promise<GateEvaluation> {
  const results: RuleResult[] = [];
  if (change.unowned?.length) {
    results.push({
      kind: 'workload-owner',
      status: 'fail',
      severity: 'soft',
      evidence: `unowned workload: no service in the catalog owns ${change.unowned.join(', ')}`,
      fix: 'an approver accepts it, or the catalog gains an owner',
    });
  }
  for (const rule of rules) {
    // The change's class is one fact; every other rule holds for each service the change touches.
    const services = rule.kind === 'change-class' ? [change.service] : servicesOf(change);
    for (const service of services) {
      try {
        results.push(...(await evaluateRule(rule, change, service, purpose, inputs, at)));
      } catch (error) {
        // A rule that breaks cannot vouch for the change: fail closed, with the reason.
        const failure = asMillwrightError(error);
        results.push({
          kind: rule.kind,
          status: 'unknown',
          severity: rule.severity,
          evidence: `${rule.kind} on ${service} could not be evaluated: ${failure.message}`,
          service,
          unreadable: { code: failure.code, message: failure.message },
        });
      }
    }
  }
  return { at: at.toISOString(), purpose, decision: decide(results), rules: results };
}

/** `✔`, `✘` or `?` and the evidence: the line people read. */
export function explainRule(rule: RuleResult): string {
  const mark = rule.status === 'pass' ? '✔' : rule.status === 'fail' ? '✘' : '?';
  const hard = rule.status === 'fail' && rule.severity === 'hard' ? ' (blocks)' : '';
  return `${rule.evidence} ${mark}${hard}${rule.status !== 'pass' && rule.fix ? ` — ${rule.fix}` : ''}`;
}
