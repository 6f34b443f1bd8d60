// The parts of GitHub's `deployment_protection_rule` webhook (action `requested`) Millwright reads,
// checked at the edge (docs.github.com/webhooks/webhook-events-and-payloads#deployment_protection_rule).
import { z } from 'zod';

const login = z.object({ login: z.string().min(1) }).loose();

export const protectionRuleRequestedSchema = z
  .object({
    action: z.literal('requested'),
    environment: z.string().min(1),
    event: z.string().optional(),
    sha: z.string().optional(),
    ref: z.string().optional(),
    // https://api.github.com/repos/OWNER/REPO/actions/runs/RUN_ID/deployment_protection_rule
    deployment_callback_url: z
      .string()
      .regex(/\/repos\/[^/]+\/[^/]+\/actions\/runs\/\d+\/deployment_protection_rule$/, {
        error: 'expected .../repos/OWNER/REPO/actions/runs/RUN_ID/deployment_protection_rule',
      }),
    deployment: z
      .object({ id: z.number(), sha: z.string().min(1), ref: z.string().optional() })
      .loose()
      .optional(),
    repository: z.object({ full_name: z.string().regex(/^[^/]+\/[^/]+$/) }).loose(),
    installation: z.object({ id: z.int().min(1) }).loose(),
    sender: login,
  })
  .loose();

export type ProtectionRuleRequested = z.output<typeof protectionRuleRequestedSchema>;

/** The workflow run a callback URL names. */
export function runIdOf(callbackUrl: string): number {
  return Number(/\/actions\/runs\/(\d+)\/deployment_protection_rule$/.exec(callbackUrl)?.[1]);
}
