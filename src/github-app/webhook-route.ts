// POST /hooks/github: GitHub App webhooks. The signature first (401, nothing read further), then the
// event: a deployment protection rule is admitted (installation known, delivery new) and answered
// at once; the gate and the review run after the answer, within GitHub's 10-second webhook timeout.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { RouteHost } from '../core/module.js';
import { newRef } from '../core/router.js';
import { sendJson } from '../server/http-server.js';
import { protectionRuleRequestedSchema } from './payload.js';
import type { DeploymentProtection } from './protection-rules.js';

export const GITHUB_WEBHOOK_ROUTE = '/hooks/github';

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Mounts the webhook on Millwright's server.
 *
 * @example
 * mountGitHubWebhook(routes, { protection, logger });
 */
export function mountGitHubWebhook(
  routes: RouteHost,
  options: { protection: DeploymentProtection; logger: Logger },
): void {
  const { protection, logger } = options;
  routes.route('POST', GITHUB_WEBHOOK_ROUTE, async (req: IncomingMessage, res: ServerResponse, ctx) => {
    const body = (await ctx.readBody()).toString('utf8');
    const signature = header(req, 'x-hub-signature-256');
    if (!(await protection.verify(body, signature))) {
      // Never the signature or the body: a forger learns nothing, the log says enough.
      logger.warn(
        { route: ctx.route, remote: req.socket.remoteAddress, signed: signature !== undefined },
        'github webhook with a bad signature',
      );
      return sendJson(res, 401, {
        error: signature
          ? 'signature does not match: X-Hub-Signature-256 must be the HMAC-SHA256 of the body under githubApp.webhookSecret'
          : 'missing signature: GitHub sends X-Hub-Signature-256 when the App has a webhook secret',
      });
    }
    const event = header(req, 'x-github-event');
    const delivery = header(req, 'x-github-delivery');
    if (!event || !delivery)
      return sendJson(res, 400, { error: 'missing X-GitHub-Event or X-GitHub-Delivery header' });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: 'body is not valid JSON: the App webhook sends application/json' });
    }
    // Every GitHub event payload is a JSON object.
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      return sendJson(res, 400, { error: 'body is not a JSON object: GitHub sends every event as one' });
    const action = (json as { action?: unknown }).action;
    if (event === 'ping') return sendJson(res, 200, { status: 'pong', delivery });
    if (event !== 'deployment_protection_rule' || action !== 'requested') {
      logger.debug({ event, action, delivery }, 'github webhook event not acted on');
      return sendJson(res, 202, {
        status: 'ignored',
        delivery,
        reason: `Millwright acts on deployment_protection_rule (requested) only, not ${event}${typeof action === 'string' ? ` (${action})` : ' without an action'}`,
      });
    }
    const parsed = protectionRuleRequestedSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendJson(res, 400, {
        error: `not a deployment_protection_rule payload: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      });
    }
    const ref = newRef();
    const admitted = await ctx.track(protection.admit(delivery, parsed.data, ref));
    switch (admitted.status) {
      case 'unknown-installation':
        // GitHub says the installation is not this App's: act on nothing, and say so in the App's
        // delivery log (a 4xx shows there as failed), so whoever set it up can see why.
        return sendJson(res, 404, {
          error: admitted.error.message,
          hint: admitted.error.hint,
          delivery,
          ref,
        });
      case 'unavailable':
        // Nothing was taken: GitHub's "Redeliver" (or its API) can send it again once GitHub answers.
        return sendJson(res, 503, { error: admitted.error.message, delivery, ref });
      case 'duplicate':
        return sendJson(res, 200, {
          status: 'duplicate',
          delivery,
          ...(admitted.change ? { change: admitted.change } : {}),
        });
      case 'accepted':
        sendJson(res, 202, { status: 'accepted', delivery, ref });
        await ctx
          .track(protection.act(delivery, parsed.data, ref))
          .catch((error: unknown) =>
            logger.error({ err: error, delivery, ref }, 'github deployment protection rule failed'),
          );
    }
  });
}
