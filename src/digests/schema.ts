// The `digests:` section of millwright.yml: what each digest shows, for which services, when, where
// it is posted, and what happens to a run that was missed or failed.
import { z } from 'zod';
import { isDuration } from '../core/duration.js';
import { lazySchema } from '../core/lazy-schema.js';
import { isTimeZone } from '../core/zoned-time.js';
import { cronProblem } from './cron-schedule.js';

/** The parts a digest can show, in the order people usually want them. */
export const DIGEST_SECTIONS = ['budgets', 'deploys', 'changes', 'incidents', 'toil'] as const;
export type DigestSection = (typeof DIGEST_SECTIONS)[number];

const text = lazySchema(() => z.string().min(1, { error: 'must not be empty' }));
const duration = lazySchema(() =>
  z.string().refine(isDuration, { error: 'expected a duration like 30s, 5m or 6h' }),
);
const timeZone = lazySchema(() =>
  z.string().refine(isTimeZone, { error: 'expected an IANA time zone like Europe/Berlin or UTC' }),
);
const schedule = lazySchema(() =>
  z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

const digest = lazySchema(() =>
  z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, {
      error: 'expected a name like morning or team-platform (lowercase letters, digits, -)',
    }),
    description: text.optional(),
    schedule,
    timeZone: timeZone.default('UTC'),
    // A Slack channel id (C0123ABCD) or a stored Teams conversation (its id, or user:<AAD object id>).
    target: text,
    sections: z
      .array(z.enum(DIGEST_SECTIONS, { error: `expected one of ${DIGEST_SECTIONS.join(', ')}` }))
      .min(1, { error: 'name at least one section' })
      .default(() => [...DIGEST_SECTIONS]),
    // Which services the digest covers: names from the catalog, and/or catalog tags. Neither means all.
    services: z.array(text).optional(),
    tags: z.array(text).optional(),
    // SLOs with less budget left than this (percent) are listed; burning ones always are.
    budgetBelow: z.number().min(0).max(100).default(50),
    // A run missed while Millwright was down: posted once when it comes back (within catchUpWithin), or skipped.
    missed: z.enum(['catch-up', 'skip']).default('catch-up'),
    catchUpWithin: duration.default('6h'),
    retry: z
      .strictObject({
        // Posting attempts per run, the first included.
        attempts: z.int().min(1).max(20).default(5),
        // Wait before the second attempt; doubled for each one after, up to maxBackoff.
        backoff: duration.default('1m'),
        maxBackoff: duration.default('30m'),
      })
      .prefault({}),
  }),
);

/**
 * Every digest in the config; names are unique.
 *
 * @example
 * digestsSchema.parse([{ name: 'morning', schedule: '0 9 * * 1-5', timeZone: 'Europe/Berlin', target: 'C0123ABCD' }]);
 */
export const digestsSchema = lazySchema(() =>
  z
    .array(digest)
    .default(() => [])
    .superRefine((digests, ctx) => {
      const seen = new Set<string>();
      for (const [i, entry] of digests.entries()) {
        if (seen.has(entry.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `digest ${entry.name} is defined twice; names must be unique`,
          });
        }
        seen.add(entry.name);
      }
    }),
);

/** One validated digest from the config. */
export type DigestConfig = z.output<typeof digest>;
