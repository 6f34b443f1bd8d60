// Keeps the API double honest with the real client: kubectl (Debian's kubernetes-client) talks to
// it through a kubeconfig, and the executor's writes equal the requests kubectl itself sends.
import { fixedClock } from '../../../src/core/clock.js';
import type { KubernetesApiDouble, RecordedRequest } from '../../doubles/kubernetes-api.js';
import { CHECKOUT, context, executorFor, failureOf, KUBECTL, kubectl, startCluster } from './support.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

describe(`kubectl (${KUBECTL}) against the API double`, () => {
  const doubles: KubernetesApiDouble[] = [];
  async function cluster(...args: Parameters<typeof startCluster>) {
    const double = await startCluster(...args);
    doubles.push(double);
    return double;
  }
  afterEach(async () => {
    await Promise.all(doubles.splice(0).map((d) => d.close()));
  });

  it('is installed (CI installs Debian kubernetes-client; a missing kubectl fails this suite)', async () => {
    const double = await cluster('healthy');
    const result = await kubectl(double, ['version', '--client']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Client Version/);
  });

  it('kubectl get deployment reads the deployment through discovery and a server-side Table', async () => {
    const double = await cluster('healthy');
    const result = await kubectl(double, ['get', 'deployment', 'checkout', '-n', 'shop']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    expect(result.stdout).toMatch(/\ncheckout\s+3\/3\s+3\s+3\s+30d\n/);
    // Every request kubectl made carried the bearer token over TLS.
    expect(double.requests.filter((r) => r.path !== '/version').every((r) => r.authorized)).toBe(true);
  });

  it('kubectl get pods shows the same STATUS the executor reports', async () => {
    const double = await cluster('oomkilled');
    const result = await kubectl(double, ['get', 'pods', '-n', 'shop', '-l', 'app=checkout']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/checkout-6d9f7c8b5d-m4q9z\s+0\/1\s+CrashLoopBackOff\s+6\s/);
    const listed = await executorFor(double).execute(context(), {
      action: 'list-pods',
      input: { namespace: 'shop', deployment: 'checkout' },
    });
    const pod = (listed.output.pods as { name: string; status: string }[]).find(
      (p) => p.name === 'checkout-6d9f7c8b5d-m4q9z',
    );
    expect(pod?.status).toBe('CrashLoopBackOff');
  });

  it('kubectl rollout status succeeds on a healthy deployment', async () => {
    const double = await cluster('healthy');
    const result = await kubectl(double, [
      'rollout',
      'status',
      'deployment/checkout',
      '-n',
      'shop',
      '--timeout=5s',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('deployment "checkout" successfully rolled out\n');
  });

  it('kubectl rollout status follows a rollout through the watch until it completes', async () => {
    const double = await cluster('progressing', { controller: 'manual' });
    const pending = kubectl(double, [
      'rollout',
      'status',
      'deployment/checkout',
      '-n',
      'shop',
      '--timeout=60s',
    ]);
    for (let i = 0; i < 3000 && !double.requests.some((r) => r.query.watch === 'true'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(double.requests.some((r) => r.query.watch === 'true')).toBe(true);
    double.state.reconcile('shop', 'checkout');
    const result = await pending;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'Waiting for deployment "checkout" rollout to finish: 2 out of 3 new replicas have been updated...',
    );
    expect(result.stdout).toContain('deployment "checkout" successfully rolled out');
  });

  it('kubectl rollout status fails on ProgressDeadlineExceeded, and so does the executor', async () => {
    const double = await cluster('progress-deadline-exceeded');
    const result = await kubectl(double, [
      'rollout',
      'status',
      'deployment/checkout',
      '-n',
      'shop',
      '--timeout=5s',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('deployment "checkout" exceeded its progress deadline');
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'rollout-status',
        input: { namespace: 'shop', deployment: 'checkout' },
      }),
    );
    expect(error.code).toBe('millwright_rollout_failed');
    expect(error.message).toContain('deployment "checkout" exceeded its progress deadline');
  });

  it('kubectl rollout restart works, and sends exactly the patch the executor sends', async () => {
    const viaKubectl = await cluster('healthy');
    const result = await kubectl(viaKubectl, ['rollout', 'restart', 'deployment/checkout', '-n', 'shop']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('deployment.apps/checkout restarted\n');

    const viaExecutor = await cluster('healthy');
    await executorFor(viaExecutor, { clock: fixedClock('2025-03-01T10:00:00Z') }).execute(context(), {
      action: 'restart',
      input: { namespace: 'shop', deployment: 'checkout' },
    });

    const [fromKubectl] = viaKubectl.requestsTo('PATCH', CHECKOUT);
    const [fromExecutor] = viaExecutor.requestsTo('PATCH', CHECKOUT);
    expect(viaKubectl.requestsTo('PATCH', CHECKOUT)).toHaveLength(1);
    expect(viaExecutor.requestsTo('PATCH', CHECKOUT)).toHaveLength(1);
    expect(fromExecutor?.contentType).toBe(fromKubectl?.contentType);
    expect(fromKubectl?.contentType).toBe('application/strategic-merge-patch+json');
    expect(restartedAt(fromKubectl)).toMatch(RFC3339);
    expect(restartedAt(fromExecutor)).toMatch(RFC3339);
    expect(withoutTimestamp(fromExecutor)).toBe(withoutTimestamp(fromKubectl));
    // Both restarts rolled out a new revision the same way.
    for (const double of [viaKubectl, viaExecutor]) {
      expect(
        double.state.get('Deployment', 'shop', 'checkout')?.metadata.annotations?.[
          'deployment.kubernetes.io/revision'
        ],
      ).toBe('5');
    }
  });

  it('kubectl rollout undo sends the JSON patch the executor sends', async () => {
    const viaKubectl = await cluster('healthy');
    const result = await kubectl(viaKubectl, ['rollout', 'undo', 'deployment/checkout', '-n', 'shop']);
    expect(result.code).toBe(0);
    const viaExecutor = await cluster('healthy');
    await executorFor(viaExecutor).execute(context(), {
      action: 'undo',
      input: { namespace: 'shop', deployment: 'checkout' },
    });

    const [fromKubectl] = viaKubectl.requestsTo('PATCH', CHECKOUT);
    const [fromExecutor] = viaExecutor.requestsTo('PATCH', CHECKOUT);
    expect(fromExecutor?.contentType).toBe('application/json-patch+json');
    expect(fromKubectl?.contentType).toBe(fromExecutor?.contentType);
    // Go marshals zero values kubectl never set (`creationTimestamp: null`); compare what they mean.
    expect(meaningful(fromExecutor?.body)).toEqual(meaningful(fromKubectl?.body));
    expect(meaningful(viaExecutor.state.get('Deployment', 'shop', 'checkout')?.spec)).toEqual(
      meaningful(viaKubectl.state.get('Deployment', 'shop', 'checkout')?.spec),
    );
    expect(
      viaExecutor.state.get('Deployment', 'shop', 'checkout')?.spec.template.spec.containers[0]?.image,
    ).toBe('registry.example.com/shop/checkout:1.4.1');
  });

  it('kubectl scale sends the merge patch on /scale the executor sends', async () => {
    const viaKubectl = await cluster('healthy');
    expect(
      (await kubectl(viaKubectl, ['scale', 'deployment/checkout', '--replicas=5', '-n', 'shop'])).code,
    ).toBe(0);
    const viaExecutor = await cluster('healthy');
    await executorFor(viaExecutor).execute(context(), {
      action: 'scale',
      input: { namespace: 'shop', deployment: 'checkout', replicas: 5 },
    });
    const [fromKubectl] = viaKubectl.requestsTo('PATCH', `${CHECKOUT}/scale`);
    const [fromExecutor] = viaExecutor.requestsTo('PATCH', `${CHECKOUT}/scale`);
    expect(fromExecutor?.contentType).toBe(fromKubectl?.contentType);
    expect(fromExecutor?.rawBody).toBe(fromKubectl?.rawBody);
  });
});

function restartedAt(request: RecordedRequest | undefined): string {
  const body = request?.body as {
    spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  };
  return body?.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '';
}

function withoutTimestamp(request: RecordedRequest | undefined): string {
  return (request?.rawBody ?? '').replace(/("kubectl\.kubernetes\.io\/restartedAt":")[^"]*"/, '$1<time>"');
}

function meaningful(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(meaningful);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, meaningful(v)] as const)
      .filter(
        ([, v]) =>
          v !== null &&
          v !== undefined &&
          !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0),
      );
    return Object.fromEntries(entries);
  }
  return value;
}
