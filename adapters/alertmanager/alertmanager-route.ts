// POST /hooks/alertmanager: Alertmanager's webhook (payload version 4). Checks the credentials,
// bounds and parses the body, and hands the alerts to the intake; it holds no rule of its own.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, RouteHost } from '../../src/core/index.js';
import { newRef } from '../../src/core/index.js';
import type { AlertIntake, AlertmanagerConfig } from '../../src/incidents/index.js';
import { webhookSchema } from '../../src/incidents/index.js';
import { readJsonBody, sendJson } from '../../src/server/index.js';

export const ALERTMANAGER_ROUTE = '/hooks/alertmanager';

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the request carries the configured bearer token or basic-auth pair. */
export function authorized(header: string | undefined, config: AlertmanagerConfig): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (config.bearerToken && scheme?.toLowerCase() === 'bearer') return same(value, config.bearerToken);
  if (config.basicAuth && scheme?.toLowerCase() === 'basic') {
    return same(
      Buffer.from(value, 'base64').toString('utf8'),
      `${config.basicAuth.username}:${config.basicAuth.password}`,
    );
  }
  return false;
}

/**
 * Mounts the webhook on Millwright's server.
 *
 * @example
 * mountAlertmanager(server, { intake, config: loaded.config.alertmanager, logger });
 */
export function mountAlertmanager(
  server: RouteHost,
  options: { intake: AlertIntake; config: AlertmanagerConfig; logger: Logger },
): void {
  const { intake, config, logger } = options;
  server.route('POST', ALERTMANAGER_ROUTE, async (req: IncomingMessage, res: ServerResponse, ctx) => {
    if (!authorized(req.headers.authorization, config)) {
      return sendJson(
        res,
        401,
        { error: 'unauthorized' },
        { 'www-authenticate': config.bearerToken ? 'Bearer' : 'Basic realm="millwright"' },
      );
    }
    // Alertmanager sends JSON; anything else is a misconfigured sender, told so before reading.
    const body = await readJsonBody(req, res, ctx, {
      maxBodyBytes: config.maxBodyBytes,
      sender: 'Alertmanager webhook v4',
    });
    if (!body) return;
    const parsed = webhookSchema.safeParse(body.json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendJson(res, 400, {
        error: `not an Alertmanager v4 webhook: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      });
    }
    const ref = newRef();
    const outcomes = await ctx.track(intake.receive(parsed.data, ref));
    logger.info(
      { ref, receiver: parsed.data.receiver, alerts: outcomes.length },
      'alertmanager webhook handled',
    );
    sendJson(res, 200, { status: 'ok', ref, alerts: outcomes });
  });
}
