// The sections of millwright.yml only executors read: http targets and third-party executor plugins.
import { z } from 'zod';
import { duration, httpUrl, text } from '../config/fields.js';
import { optionalSection } from '../config/schema.js';
import { lazySchema } from '../core/lazy-schema.js';

export const executorSections = {
  // The http executor: requests go only to these named targets, under their baseUrl.
  http: optionalSection(
    lazySchema(() =>
      z.strictObject({
        targets: z
          .record(
            z
              .string()
              .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'target names are lowercase letters, digits and -' }),
            z.strictObject({
              baseUrl: httpUrl,
              // Values usually come from ${ENV}; all but Accept/Content-Type/User-Agent-like ones are redacted.
              headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), text).optional(),
              timeout: duration.default('10s'),
            }),
          )
          .default(() => ({})),
      }),
    ),
  ),
  // Third-party executor plugins: a package name or a path (relative to this file), and its config block.
  executors: lazySchema(() =>
    z.array(z.strictObject({ module: text, config: z.unknown().optional() })).default(() => []),
  ),
};
