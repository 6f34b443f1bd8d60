// The `releases:` section: the default steps and interval of `release start`, the canary analysis
// policy (margins and minimum counts, see docs/canary-analysis.md) and how the worker drives releases.
import { z } from 'zod';
import { isDuration, parseDuration } from '../core/duration.js';
import { lazySchema } from '../core/lazy-schema.js';
import { DEFAULT_ANALYSIS } from './analysis.js';
import { parseSteps } from './plan.js';
import { DEFAULT_TRACKS } from './track-counts.js';

const duration = lazySchema(() =>
  z.string().refine(isDuration, { error: 'expected a duration like 30s, 5m or 1h' }),
);
const atLeastAMinute = duration.refine((value) => parseDuration(value) >= 60_000, {
  error: 'the analysis interval must be at least 1m',
});
const label = lazySchema(() =>
  z
    .string()
    .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { error: 'expected a Kubernetes label name' })
    .max(63),
);

const releasesSection = lazySchema(() =>
  z.strictObject({
    // The canary's traffic share at each step, in percent; the last is 100 (promotion).
    steps: z
      .array(z.int().min(1).max(100))
      .min(1)
      .default([5, 25, 50, 100])
      .superRefine((steps, ctx) => {
        try {
          parseSteps(steps.join(','));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    // How long each step runs before it is judged.
    interval: atLeastAMinute.default('5m'),
    // How often the worker looks at open releases (the canary's pods, the gate, a due verdict).
    tick: duration.default('15s'),
    // The pod label telling the tracks apart, on the pods and on the SLO's series.
    trackLabel: label.default(DEFAULT_TRACKS.label),
    margin: z.number().min(0).max(1).default(DEFAULT_ANALYSIS.margin),
    minRequests: z.int().min(1).default(DEFAULT_ANALYSIS.minRequests),
    alpha: z.number().gt(0).lt(1).default(DEFAULT_ANALYSIS.alpha),
    maxBurnRate: z.number().gt(0).default(DEFAULT_ANALYSIS.maxBurnRate),
    maxWaits: z.int().min(0).max(100).default(DEFAULT_ANALYSIS.maxWaits),
    // The canary's pods: crash-looping this many times, or unable to pull or start this long, aborts.
    maxRestarts: z.int().min(1).max(1000).default(3),
    stuckAfter: duration.default('1m'),
    // How long promotion waits for the stable Deployment to roll out the new image.
    promoteTimeout: duration.default('10m'),
  }),
);

export const releasesSchema = lazySchema(() => releasesSection.default(() => releasesSection.parse({})));

export type ReleasesConfig = z.output<typeof releasesSchema>;
