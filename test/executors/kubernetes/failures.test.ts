// When the Kubernetes API misbehaves: reads retried a bounded number of times, writes never
// repeated (except the idempotent scale), deadlines that cut hung calls, and errors a person can act on.
import { createServer } from 'node:net';
import { silentLogger } from '../../../src/core/logger.js';
import { connectKubernetes, getDeploymentStatus } from '../../../src/upstreams/kubernetes/index.js';
import {
  type KubernetesApiDouble,
  kubeconfigYaml,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';
import { CHECKOUT, context, executorFor, failureOf, startCluster } from './support.js';

const status = { action: 'rollout-status', input: { namespace: 'shop', deployment: 'checkout' } };
const restart = { action: 'restart', input: { namespace: 'shop', deployment: 'checkout' } };

describe('a failing Kubernetes API', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('healthy');
  });
  afterEach(() => double.close());

  it('retries a read on 500 and answers when the API recovers', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', times: 2, fault: 500 });
    const result = await executorFor(double).execute(context(), status);
    expect(result.output.state).toBe('healthy');
    expect(double.requestsTo('GET', CHECKOUT).map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('reports a read that keeps failing with 500 after the bounded attempts, with the upstream status', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', times: Number.POSITIVE_INFINITY, fault: 500 });
    const error = await failureOf(executorFor(double).execute(context(), status));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.details).toMatchObject({
      upstream: 'kubernetes',
      status: 500,
      reason: 'InternalError',
      attempts: 3,
    });
    expect(error.message).toBe(
      'the Kubernetes API failed to get deployment shop/checkout (500 InternalError) after 3 attempts: Internal error occurred: etcdserver: request timed out',
    );
    expect(error.hint).toContain('may be unhealthy');
    expect(double.requestsTo('GET', CHECKOUT)).toHaveLength(3);
  });

  it('retries a read whose connection was reset', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', fault: 'reset' });
    const result = await executorFor(double).execute(context(), status);
    expect(result.output.state).toBe('healthy');
    expect(double.requestsTo('GET', CHECKOUT).map((r) => r.status)).toEqual([0, 200]);
  });

  it('never repeats a restart hit by a 500: the double sees exactly one PATCH', async () => {
    double.inject({ path: CHECKOUT, method: 'PATCH', times: Number.POSITIVE_INFINITY, fault: 500 });
    const error = await failureOf(executorFor(double).execute(context(), restart));
    expect(error).toMatchObject({
      code: 'millwright_upstream_error',
      details: expect.objectContaining({ status: 500, attempts: 1 }),
    });
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(1);
  });

  it('never repeats an undo hit by a 500 or a reset connection', async () => {
    double.inject({ path: CHECKOUT, method: 'PATCH', fault: 'reset' });
    const error = await failureOf(
      executorFor(double).execute(context(), { action: 'undo', input: restart.input }),
    );
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(1);
  });

  it('retries scale, which is idempotent', async () => {
    double.inject({ path: `${CHECKOUT}/scale`, method: 'PATCH', fault: 503 });
    const result = await executorFor(double).execute(context(), {
      action: 'scale',
      input: { namespace: 'shop', deployment: 'checkout', replicas: 4 },
    });
    expect(result.output).toMatchObject({ replicas: 4, changed: true });
    expect(double.requestsTo('PATCH', `${CHECKOUT}/scale`).map((r) => r.status)).toEqual([503, 200]);
  });

  it('cuts off a hung read at its deadline with a clear error', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', fault: 'hang' });
    const error = await failureOf(executorFor(double).execute(context({ timeoutMs: 200 }), status));
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toMatch(
      /^the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ did not answer within \d+ms \(get deployment shop\/checkout\)$/,
    );
    expect(error.hint).toContain('give the step a longer timeout');
    expect(double.requestsTo('GET', CHECKOUT)).toHaveLength(1);
  });

  it('cuts off a hung write at its deadline and does not send it again', async () => {
    double.inject({ path: CHECKOUT, method: 'PATCH', fault: 'hang' });
    const error = await failureOf(executorFor(double).execute(context({ timeoutMs: 300 }), restart));
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toContain('(patch deployment shop/checkout)');
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(1);
  });

  it('stops waiting when the run is cancelled', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', fault: 'hang' });
    const controller = new AbortController();
    const pending = executorFor(double).execute(context({ signal: controller.signal }), status);
    while (double.requestsTo('GET', CHECKOUT).length === 0)
      await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await failureOf(pending);
    expect(error.code).toBe('millwright_cancelled');
  });

  it('404: names the deployment and the namespace', async () => {
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'restart',
        input: { namespace: 'shop', deployment: 'payments' },
      }),
    );
    expect(error).toMatchObject({
      code: 'millwright_upstream_error',
      message: 'deployment payments not found in namespace shop',
      details: expect.objectContaining({ status: 404, reason: 'NotFound', attempts: 1 }),
    });
    expect(error.hint).toBe(
      `check the name and namespace: kubectl get deployments -n shop --context ${double.contextName}`,
    );
    expect(double.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('409: explains the conflict', async () => {
    double.inject({ path: CHECKOUT, method: 'PATCH', fault: 409 });
    const error = await failureOf(executorFor(double).execute(context(), restart));
    expect(error.details).toMatchObject({ status: 409, reason: 'Conflict' });
    expect(error.message).toContain('conflict on deployment shop/checkout (Kubernetes API 409 Conflict)');
    expect(error.hint).toContain('changed it at the same time');
  });

  it('403: points at RBAC with the verb and resource needed', async () => {
    double.inject({ path: `${CHECKOUT}/scale`, method: 'PATCH', fault: 403 });
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'scale',
        input: { namespace: 'shop', deployment: 'checkout', replicas: 4 },
      }),
    );
    expect(error.details).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(error.message).toContain('(403 Forbidden, RBAC)');
    expect(error.hint).toBe(
      `grant the bot's identity in context ${double.contextName} "patch" on deployments/scale in namespace shop (a Role and RoleBinding)`,
    );
    // A 403 is an answer, not a transient failure: asked once.
    expect(double.requestsTo('PATCH', `${CHECKOUT}/scale`)).toHaveLength(1);
  });

  it('401: says the credentials were refused, without repeating them', async () => {
    const executor = executorFor(double, {
      kubeconfigPath: undefined,
      kubeconfigYaml: double.kubeconfigWith({ token: 'stale-token-0123456789' }),
    });
    const error = await failureOf(executor.execute(context(), status));
    expect(error.code).toBe('millwright_upstream_error');
    expect(error.details).toMatchObject({ status: 401 });
    expect(error.message).toBe(
      `the Kubernetes API did not accept the bot's credentials (401 Unauthorized) for context ${double.contextName}`,
    );
    expect(error.hint).toContain('token or client certificate');
    expect(JSON.stringify({ m: error.message, h: error.hint, d: error.details })).not.toContain(
      'stale-token',
    );
    expect(double.requests.every((r) => !r.authorized)).toBe(true);
  });

  it('429: retries, then says the API is throttling', async () => {
    double.inject({ path: CHECKOUT, method: 'GET', times: Number.POSITIVE_INFINITY, fault: 429 });
    const error = await failureOf(executorFor(double).execute(context(), status));
    expect(error.code).toBe('millwright_rate_limited');
    expect(double.requestsTo('GET', CHECKOUT)).toHaveLength(3);
  });

  it('422 from the API server is reported with its field message', async () => {
    double.inject({
      path: CHECKOUT,
      method: 'PATCH',
      fault: {
        status: 422,
        message: 'Deployment.apps "checkout" is invalid: spec.template.metadata.annotations: Invalid value',
      },
    });
    const error = await failureOf(executorFor(double).execute(context(), restart));
    expect(error.message).toBe(
      'the Kubernetes API rejected the change to deployment shop/checkout (422 Invalid): Deployment.apps "checkout" is invalid: spec.template.metadata.annotations: Invalid value',
    );
  });
});

describe('an unreachable or untrusted Kubernetes API', () => {
  it('says it cannot reach the server after retrying', async () => {
    const double = await startKubernetesApi();
    const port = await closedPort();
    const yaml = kubeconfigYaml(`https://127.0.0.1:${port}`, double.caPem, {
      token: 't',
      contextName: 'gone',
      namespace: 'shop',
    });
    await double.close();
    const cluster = connectKubernetes({ kubeconfigYaml: yaml, retries: { baseDelayMs: 1 } });
    const error = await failureOf(getDeploymentStatus(cluster, { namespace: 'shop', name: 'checkout' }));
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(error.message).toBe(
      `cannot reach the Kubernetes API at https://127.0.0.1:${port} after 3 attempts (ECONNREFUSED)`,
    );
    expect(error.hint).toContain('context gone');
  });

  it('refuses a server whose certificate the kubeconfig does not vouch for', async () => {
    const real = await startCluster('healthy');
    const other = await startKubernetesApi();
    try {
      const yaml = kubeconfigYaml(real.url, other.caPem, {
        token: real.token,
        contextName: 'mitm',
        namespace: 'shop',
      });
      const cluster = connectKubernetes({
        kubeconfigYaml: yaml,
        retries: { baseDelayMs: 1 },
        logger: silentLogger(),
      });
      const error = await failureOf(getDeploymentStatus(cluster, { namespace: 'shop', name: 'checkout' }));
      expect(error.code).toBe('millwright_dependency_unavailable');
      expect(error.message).toMatch(/presented a certificate the bot does not trust/);
      // The token never went over a connection that failed verification.
      expect(real.requests).toHaveLength(0);
    } finally {
      await real.close();
      await other.close();
    }
  });

  it('refuses a kubeconfig context that does not exist, naming the ones that do', () => {
    expect(() =>
      connectKubernetes({
        kubeconfigYaml: kubeconfigYaml('https://127.0.0.1:1', 'x', {
          token: 't',
          contextName: 'prod',
          namespace: 'shop',
        }),
        context: 'staging',
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'millwright_not_configured',
        hint: 'contexts in this kubeconfig: prod',
      }),
    );
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
