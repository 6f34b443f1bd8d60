// Sends webhooks the way GitHub delivers them to an App: a JSON POST with X-GitHub-Event,
// X-GitHub-Delivery and X-Hub-Signature-256 (HMAC-SHA256 of the body under the App's webhook
// secret, computed by @octokit/webhooks), and the Hookshot headers that come with them.
import { randomUUID } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';

export interface WebhookDelivery {
  event: string;
  payload: unknown;
  /** The App's webhook secret; the signature is computed with it. */
  secret: string;
  /** X-GitHub-Delivery; a new GUID by default (GitHub keeps it on a redelivery). */
  delivery?: string;
  /** Sent instead of the computed signature (`null`: no signature header at all). */
  signature?: string | null;
  /** The App's id, for X-GitHub-Hook-Installation-Target-ID. */
  appId?: number;
}

/**
 * POSTs one delivery to `url` and returns the response and the delivery id.
 *
 * @example
 * const { response } = await sendGitHubWebhook(`${url}/hooks/github`, { event: 'deployment_protection_rule', payload, secret });
 */
export async function sendGitHubWebhook(
  url: string,
  delivery: WebhookDelivery,
): Promise<{ response: Response; delivery: string; body: string }> {
  const body = JSON.stringify(delivery.payload);
  const id = delivery.delivery ?? randomUUID();
  const signature =
    delivery.signature === undefined
      ? await new Webhooks({ secret: delivery.secret }).sign(body)
      : delivery.signature;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/7a4c1e2',
      'x-github-event': delivery.event,
      'x-github-delivery': id,
      'x-github-hook-id': '471625836',
      'x-github-hook-installation-target-type': 'integration',
      'x-github-hook-installation-target-id': String(delivery.appId ?? 1),
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
    },
    body,
  });
  return { response, delivery: id, body: await response.text() };
}
