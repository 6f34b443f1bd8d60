// The sections of millwright.yml for the systems Millwright reads and changes: GitHub and Kubernetes.
import { z } from 'zod';
import { duration, httpUrl, optionalText, text } from '../config/fields.js';
import { optionalSection } from '../config/schema.js';
import { lazySchema } from '../core/lazy-schema.js';

export const upstreamSections = {
  github: optionalSection(
    lazySchema(() =>
      z.strictObject({
        baseUrl: httpUrl.default('https://api.github.com'),
        token: optionalText,
        // One request without an answer by then is cut: a read is retried, and it counts towards the circuit.
        timeout: duration.default('10s'),
        // Repositories per GraphQL query when `deploys` lists every service; lower it if GitHub times out.
        batchSize: z.int().min(1).max(100).default(50),
        // Repositories runbooks may change (owner/repo or owner/*); absent means any the token reaches.
        allowedRepos: z
          .array(
            z.string().regex(/^[A-Za-z0-9_.-]+\/([A-Za-z0-9_.-]+|\*)$/, {
              error: 'expected owner/repo or owner/*, like acme/shop',
            }),
          )
          .optional(),
      }),
    ),
  ),
  kubernetes: optionalSection(
    lazySchema(() =>
      z.strictObject({
        kubeconfig: optionalText,
        context: optionalText,
        allowedNamespaces: z.array(text).default(() => []),
        // Replica counts the kubernetes executor's `scale` accepts (default 1..20).
        scaleBounds: z
          .strictObject({ min: z.int().min(0), max: z.int().min(0) })
          .refine((b) => b.min <= b.max, { error: 'min must not be above max' })
          .optional(),
        // How often a waiting `kubernetes.rollout-status` step looks at the rollout again (default 2s).
        rolloutPollInterval: duration.optional(),
        // One API request without an answer by then is cut: a read is retried within the step's
        // deadline, and the hang counts towards the API server's circuit.
        timeout: duration.default('10s'),
      }),
    ),
  ),
};
