// The `alertmanager:` section: who may post alerts, how alerts map to services, and per-alert
// reactions (auto-remediation through the change gate, declaring an incident).
import { z } from 'zod';
import { lazySchema } from '../core/index.js';

const text = lazySchema(() => z.string().min(1, { error: 'must not be empty' }));
const optionalText = lazySchema(() =>
  z.preprocess((v) => (v === '' || v === null ? undefined : v), text.optional()),
);

const rule = lazySchema(() =>
  z.strictObject({
    // Every label listed must equal the alert's label.
    match: z
      .record(z.string(), z.string())
      .refine((m) => Object.keys(m).length > 0, { error: 'match needs at least one label' }),
    // A standard, low-risk runbook filed as a change request: the gate decides, never bypassed.
    autoRemediate: z
      .strictObject({
        runbook: text,
        // Values may reference {{ labels.NAME }}; they are checked as runbook parameters like any other.
        params: z.record(z.string(), z.string()).default(() => ({})),
        maxPerHour: z.int().min(1).max(60).default(2),
      })
      .optional(),
    declareIncident: z.strictObject({ severity: z.int().min(1).max(4) }).optional(),
  }),
);

export const alertmanagerSchema = lazySchema(() =>
  z
    .strictObject({
      // One of the two is required; Alertmanager's http_config sends either.
      bearerToken: optionalText,
      basicAuth: z.strictObject({ username: text, password: text }).optional(),
      serviceLabel: text.default('service'),
      maxBodyBytes: z
        .int()
        .min(1024)
        .max(10 * 1024 * 1024)
        .default(256 * 1024),
      // The actor alert-driven changes run as; give it a role the runbooks allow.
      actor: text.default('alertmanager'),
      rules: z.array(rule).default(() => []),
    })
    .refine((section) => section.bearerToken !== undefined || section.basicAuth !== undefined, {
      error: 'set bearerToken or basicAuth: the webhook never accepts unauthenticated alerts',
    }),
);

export type AlertmanagerConfig = z.output<typeof alertmanagerSchema>;
export type AlertRule = AlertmanagerConfig['rules'][number];

/** Alertmanager webhook payload, version 4 (the fields Millwright uses; others are kept). */
export const webhookSchema = lazySchema(() =>
  z.looseObject({
    version: z.literal('4', { error: 'expected webhook payload version "4"' }),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string(),
    groupKey: z.string(),
    groupLabels: z.record(z.string(), z.string()).default(() => ({})),
    commonLabels: z.record(z.string(), z.string()).default(() => ({})),
    externalURL: z.string().optional(),
    alerts: z
      .array(
        z.looseObject({
          status: z.enum(['firing', 'resolved']),
          labels: z.record(z.string(), z.string()),
          annotations: z.record(z.string(), z.string()).default(() => ({})),
          startsAt: z.string(),
          endsAt: z.string().optional(),
          generatorURL: z.string().optional(),
          fingerprint: z.string().regex(/^[0-9a-f]{1,32}$/, { error: 'expected a hex fingerprint' }),
        }),
      )
      .max(1000),
  }),
);

export type AlertmanagerWebhook = z.output<typeof webhookSchema>;
export type Alert = AlertmanagerWebhook['alerts'][number];

/** One firing of one alert as the intake keeps it (collection `alerts`), checked when the store opens. */
export const seenAlertSchema = lazySchema(() =>
  z.looseObject({
    id: z.string(),
    fingerprint: z.string(),
    service: z.string().optional(),
    status: z.enum(['firing', 'resolved']),
    firstSeen: z.string(),
    actions: z.array(z.string()),
  }),
);
