// What the App keeps in the store: each webhook delivery it took (so a replay, to this replica or
// another, is acted on once) and each review it owes GitHub (so an answer survives a restart).
import { z } from 'zod';
import { lazySchema } from '../core/lazy-schema.js';

export const deliveryRecordSchema = lazySchema(() =>
  z
    .object({
      id: z.string().min(1),
      event: z.string(),
      receivedAt: z.string(),
      repository: z.string(),
      environment: z.string(),
      installation: z.number(),
      change: z.string().optional(),
      outcome: z.string().optional(),
      /** On a deployment's claim (`deployment:` and a hash of repository, deployment id, environment): the delivery that took it. */
      delivery: z.string().optional(),
    })
    .loose(),
);
export type DeliveryRecord = z.output<typeof deliveryRecordSchema>;

export const REVIEW_STATES = ['waiting', 'sending', 'sent', 'failed'] as const;

export const reviewRecordSchema = lazySchema(() =>
  z
    .object({
      /** The change id: one review per change. */
      id: z.string().min(1),
      delivery: z.string(),
      installationId: z.number(),
      repository: z.string(),
      runId: z.number(),
      environment: z.string(),
      state: z.enum(REVIEW_STATES),
      /** Sends tried so far, across restarts. */
      attempts: z.number(),
      /** While `sending`: until when the sender holds it; after that another may take it over. */
      claimedUntil: z.string().optional(),
      verdict: z.enum(['approved', 'rejected']).optional(),
      sentAt: z.string().optional(),
      error: z.string().optional(),
    })
    .loose(),
);
export type ReviewRecord = z.output<typeof reviewRecordSchema>;

export const DELIVERIES = 'github_deliveries';
export const REVIEWS = 'github_reviews';
