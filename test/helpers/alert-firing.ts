// A firing alert for the checkout service as Alertmanager's webhook carries it (kube-state-metrics
// labels), for tests of alert notices and the runbook buttons on them.
import type { AlertFiring } from '../../src/incidents/index.js';

/**
 * The event the incidents feature emits for a firing KubeDeploymentReplicasMismatch on checkout.
 *
 * @example
 * await notices.firing(checkoutAlertFiring('C0CHECKOUT', { deployment: 'checkout' }, { replicas_wanted: '6' }));
 */
export function checkoutAlertFiring(
  channel: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
): AlertFiring {
  return {
    id: 'f1@2025-01-01T12:00:00Z',
    service: 'checkout',
    channel,
    delivery: { posted: false },
    alert: {
      status: 'firing',
      labels: { alertname: 'KubeDeploymentReplicasMismatch', severity: 'page', ...labels },
      annotations: { summary: 'checkout has fewer replicas than wanted', ...annotations },
      startsAt: '2025-01-01T12:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus/graph',
      fingerprint: 'f1',
    },
  } as AlertFiring;
}
