// The `policy:` section of millwright.yml: the ordered gate rules, who approves, and how a change
// is verified after it lands.
import { z } from 'zod';
import { isDuration } from '../core/duration.js';
import { lazySchema } from '../core/lazy-schema.js';
import { isTimeZone } from '../core/zoned-time.js';

const text = lazySchema(() => z.string().min(1, { error: 'must not be empty' }));
const duration = lazySchema(() =>
  z.string().refine(isDuration, { error: 'expected a duration like 15m, 24h or 1d' }),
);
const timeZone = lazySchema(() =>
  z.string().refine(isTimeZone, { error: 'expected an IANA time zone like Europe/Berlin or UTC' }),
);
const clock = lazySchema(() =>
  z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'expected a time of day like 18:00' }),
);
const localDateTime = lazySchema(() =>
  z.string().regex(/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d)?$/, {
    error: 'expected a local date and time like 2026-11-27T00:00',
  }),
);
const day = lazySchema(() => z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']));
const severity = lazySchema(() => z.enum(['hard', 'soft']));

const recurring = lazySchema(() =>
  z.strictObject({
    name: text,
    days: z.array(day).min(1),
    from: clock,
    to: clock,
    timeZone: timeZone.default('UTC'),
  }),
);
const dateRange = lazySchema(() =>
  z.strictObject({
    name: text,
    from: localDateTime,
    to: localDateTime,
    timeZone: timeZone.default('UTC'),
  }),
);

const rule = lazySchema(() =>
  z.discriminatedUnion('kind', [
    // Standard changes with low or medium risk pass; normal changes or high risk need a person.
    z.strictObject({ kind: z.literal('change-class'), severity: severity.default('soft') }),
    z.strictObject({
      kind: z.literal('error-budget'),
      minRemainingPercent: z.number().min(0).max(100).default(25),
      severity: severity.default('soft'),
    }),
    z.strictObject({
      kind: z.literal('burn-state'),
      block: z.array(z.enum(['page', 'ticket'])).default(() => ['page' as const, 'ticket' as const]),
      severity: severity.default('soft'),
    }),
    z.strictObject({
      kind: z.literal('freeze'),
      windows: z.array(z.union([recurring, dateRange])).default(() => []),
      severity: severity.default('hard'),
    }),
    z.strictObject({
      kind: z.literal('open-incident'),
      severities: z.array(z.int().min(1).max(4)).default(() => [1, 2]),
      severity: severity.default('hard'),
    }),
    z.strictObject({
      kind: z.literal('daily-limit'),
      max: z.int().positive(),
      severity: severity.default('soft'),
    }),
    z.strictObject({ kind: z.literal('lock'), severity: severity.default('soft') }),
    // Holds non-emergency changes to a service the error-budget policy has frozen (policy.errorBudget).
    z.strictObject({ kind: z.literal('error-budget-policy'), severity: severity.default('hard') }),
  ]),
);

// When the error-budget policy freezes a service, and when the freeze lifts by itself.
const budgetTriggers = lazySchema(() =>
  z.strictObject({
    // Freeze when any SLO of the service has this much of its error budget left or less (0: exhausted).
    budgetAtOrBelow: z.number().min(-100).max(100).optional(),
    // ... or when the burn state has been `page` for at least this long.
    pagingFor: duration.optional(),
  }),
);
const budgetLift = lazySchema(() =>
  z.strictObject({
    // Lift once every SLO of the service has more than this much budget left (and none has paged long).
    budgetAbove: z.number().min(-100).max(100).optional(),
  }),
);
const servicePolicy = lazySchema(() =>
  z.strictObject({
    enabled: z.boolean().default(true),
    freeze: budgetTriggers.optional(),
    lift: budgetLift.optional(),
  }),
);

/** `policy.errorBudget`: the SRE workbook's error-budget policy, a default and per-service overrides. */
export const errorBudgetPolicySchema = lazySchema(() =>
  z.strictObject({
    freeze: budgetTriggers.prefault({}).transform((freeze) => ({
      budgetAtOrBelow: freeze.budgetAtOrBelow ?? 0,
      ...(freeze.pagingFor ? { pagingFor: freeze.pagingFor } : {}),
    })),
    lift: budgetLift.prefault({}).transform((lift) => ({ budgetAbove: lift.budgetAbove ?? 10 })),
    // Who hears of a freeze and its lifting: the service's channel, and each owner directly.
    notify: z.array(z.enum(['channel', 'owners'])).default(() => ['channel' as const, 'owners' as const]),
    // The longest a `budget override` may last; an override without until= lasts this long.
    maxOverride: duration.default('7d'),
    // How often the worker reads the budgets for the policy (its tick is more frequent).
    interval: duration.default('1m'),
    services: z.record(z.string(), servicePolicy).default(() => ({})),
  }),
);

export type ErrorBudgetPolicyConfig = z.output<typeof errorBudgetPolicySchema>;

type PolicyRuleInput = z.output<typeof rule>;

export const policySchema = lazySchema(() =>
  z
    .strictObject({
      rules: z.array(rule).default((): PolicyRuleInput[] => [
        { kind: 'change-class', severity: 'soft' },
        { kind: 'freeze', windows: [], severity: 'hard' },
        { kind: 'open-incident', severities: [1, 2], severity: 'hard' },
        { kind: 'error-budget', minRemainingPercent: 25, severity: 'soft' },
        { kind: 'burn-state', block: ['page', 'ticket'], severity: 'soft' },
        { kind: 'lock', severity: 'soft' },
      ]),
      approvals: z
        .strictObject({
          role: text.default('approver'),
          required: z.int().min(1).max(5).default(1),
          ttl: duration.default('24h'),
        })
        .prefault({}),
      verify: z
        .strictObject({
          window: duration.default('15m'),
          interval: duration.default('1m'),
          // A change fails verification when the short-window burn rate exceeds the pre-change
          // baseline times this factor (and is above 1x, so a quiet service is not flagged for noise).
          tolerance: z.number().min(1).default(2),
          // A 5m burn rate measured on fewer events than this is noise, not a regression.
          minEvents: z.int().min(0).default(100),
          rollback: z.boolean().default(true),
        })
        .prefault({}),
      lockTtl: duration.default('30m'),
      // Replicas: the one working on a change renews its hold on it; one that stops (killed) hands the
      // change to another this long after its last renewal at most. The worker looks for due work
      // every workerInterval.
      handOverAfter: duration.default('15s'),
      workerInterval: duration.default('15s'),
      // The fail-closed rule: a change the gate cannot decide on (Prometheus unreachable, no SLO) is
      // held for a person (approval) or refused (deny). It never passes by itself either way.
      whenUnknown: z.enum(['approval', 'deny']).default('approval'),
      // A runbook change on a workload no catalog service owns: refused, or held for a person.
      unownedWorkloads: z.enum(['refuse', 'approval']).default('refuse'),
      // The error-budget policy: absent, no service is frozen by its budget.
      errorBudget: errorBudgetPolicySchema.optional(),
    })
    .prefault({})
    .transform((policy) => {
      // With an error-budget policy the gate always judges it: right after the freeze rule unless listed.
      if (!policy.errorBudget || policy.rules.some((rule) => rule.kind === 'error-budget-policy'))
        return policy;
      const rules = [...policy.rules];
      const at = rules.findIndex((rule) => rule.kind === 'freeze');
      rules.splice(at + 1, 0, { kind: 'error-budget-policy', severity: 'hard' });
      return { ...policy, rules };
    }),
);

export type PolicyConfig = z.output<typeof policySchema>;
export type PolicyRule = PolicyConfig['rules'][number];
export type FreezeWindow = z.output<typeof recurring> | z.output<typeof dateRange>;
