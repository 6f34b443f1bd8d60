// The SLO sections of millwright.yml: where Prometheus is, where SLO files live, and inline SLOs.
import { z } from 'zod';
import { duration, flag, httpUrl, optionalText, text } from '../config/fields.js';
import { optionalSection } from '../config/schema.js';
import { lazySchema } from '../core/lazy-schema.js';
import { sloSpecSchema } from './spec.js';

export const sloSections = {
  prometheus: optionalSection(
    lazySchema(() =>
      z.strictObject({
        url: httpUrl,
        bearerToken: optionalText,
        // Basic auth, for a Prometheus behind a proxy or with web.config basic_auth_users.
        basicAuth: z.strictObject({ username: text, password: text }).optional(),
        timeout: duration.default('10s'),
        // Queries in flight at once, so `budget` over many SLOs does not flood Prometheus.
        concurrency: z.int().min(1).max(64).default(8),
      }),
    ),
  ),
  // Error budgets: where SLO files live, and whether `budget` reads the rules `millwright slo rules` writes.
  slo: lazySchema(() =>
    z.strictObject({ dir: text.default('./slos'), useRecordingRules: flag.default(false) }).prefault({}),
  ),
  slos: lazySchema(() => z.array(sloSpecSchema).default(() => [])),
};
