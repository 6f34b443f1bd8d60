// The kubernetes executor's actions, through the real @kubernetes/client-node and a kubeconfig,
// against the API double loaded with the checked-in scenarios.
import { Ajv } from 'ajv';
import { fixedClock } from '../../../src/core/clock.js';
import { EXECUTOR_PROTOCOL_VERSION } from '../../../src/executors/types.js';
import {
  type KubernetesApiDouble,
  type KubernetesScenario,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';
import { apiCalls, CHECKOUT, context, executorFor, failureOf, startCluster } from './support.js';

const NOW = new Date('2025-03-01T10:00:00.123Z');

describe('kubernetes executor metadata', () => {
  let double: KubernetesApiDouble;
  beforeAll(async () => {
    double = await startCluster('healthy');
  });
  afterAll(() => double.close());

  it('speaks the executor protocol and describes every action with a schema, an effect and a dry-run mode', () => {
    const meta = executorFor(double, { scaleBounds: { min: 2, max: 8 } }).metadata();
    expect(meta).toMatchObject({ name: 'kubernetes', protocolVersion: EXECUTOR_PROTOCOL_VERSION });
    expect(Object.keys(meta.actions).sort()).toEqual([
      'argo-abort',
      'argo-promote',
      'argo-set-image',
      'argo-status',
      'canary-remove',
      'canary-set',
      'list-pods',
      'logs',
      'restart',
      'rollout-check',
      'rollout-status',
      'scale',
      'set-image',
      'undo',
    ]);
    expect(meta.actions.restart).toMatchObject({ effect: 'write', dryRun: 'native' });
    expect(meta.actions.undo).toMatchObject({ effect: 'write', dryRun: 'native' });
    expect(meta.actions.scale).toMatchObject({ effect: 'write', idempotent: true, dryRun: 'native' });
    expect(meta.actions['rollout-status']?.effect).toBe('read');
    // A promotion moves the canary on: never retried. Abort and set image set a target state.
    expect(meta.actions['argo-promote']).toMatchObject({ effect: 'write', dryRun: 'native' });
    expect(meta.actions['argo-promote']?.idempotent).toBeUndefined();
    expect(meta.actions['argo-abort']).toMatchObject({ effect: 'write', idempotent: true });
    expect(meta.actions['argo-status']?.input).toMatchObject({ required: ['namespace', 'rollout'] });
    expect(meta.actions.scale?.input).toMatchObject({
      properties: { replicas: { type: 'integer', minimum: 2, maximum: 8 } },
      additionalProperties: false,
    });
    // Nothing is fetched to describe the executor.
    expect(double.requests).toHaveLength(0);
  });

  it('has input schemas that refuse what the code refuses (non-DNS-1123 names, unknown keys)', () => {
    const meta = executorFor(double).metadata();
    const ajv = new Ajv({ strict: false });
    const restart = ajv.compile(meta.actions.restart?.input ?? {});
    expect(restart({ namespace: 'shop', deployment: 'checkout' })).toBe(true);
    for (const deployment of ['a;b', '$(id)', '`id`', '../etc', 'a\nb', 'Checkout', '-x', 'x'.repeat(254)]) {
      expect(restart({ namespace: 'shop', deployment })).toBe(false);
    }
    expect(restart({ namespace: 'shop', deployment: 'checkout', force: true })).toBe(false);
    const logs = ajv.compile(meta.actions.logs?.input ?? {});
    expect(logs({ namespace: 'shop', pod: 'x', lines: 501 })).toBe(false);
  });
});

describe('rollout-status with wait: false (one look)', () => {
  const expectations: [KubernetesScenario, string, string | null][] = [
    ['healthy', 'healthy', 'NewReplicaSetAvailable'],
    ['progressing', 'progressing', 'ReplicaSetUpdated'],
    ['progress-deadline-exceeded', 'failed', 'ProgressDeadlineExceeded'],
    ['crashloop', 'degraded', 'NewReplicaSetAvailable'],
    ['oomkilled', 'degraded', 'NewReplicaSetAvailable'],
    ['image-pull-backoff', 'progressing', 'ReplicaSetUpdated'],
  ];

  it.each(expectations)('judges the %s scenario as %s', async (scenario, state, progressingReason) => {
    const double = await startCluster(scenario);
    try {
      const result = await executorFor(double).execute(context(), {
        action: 'rollout-status',
        input: { namespace: 'shop', deployment: 'checkout', wait: false },
      });
      expect(result.output.state).toBe(state);
      const conditions = result.output.conditions as { type: string; reason: string }[];
      expect(conditions.find((c) => c.type === 'Progressing')?.reason).toBe(progressingReason);
      expect(result.summary).toContain(`shop/checkout is ${state}`);
      expect(apiCalls(double).map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${CHECKOUT}`]);
    } finally {
      await double.close();
    }
  });

  it('reports replicas, images, revision and generations', async () => {
    const double = await startCluster('progressing');
    try {
      const { output } = await executorFor(double).execute(context(), {
        action: 'rollout-status',
        input: { namespace: 'shop', deployment: 'checkout', wait: false },
      });
      expect(output).toMatchObject({
        namespace: 'shop',
        name: 'checkout',
        revision: 5,
        generation: 5,
        observedGeneration: 5,
        replicas: { desired: 3, current: 4, updated: 2, ready: 3, available: 3, unavailable: 1 },
        images: [{ container: 'checkout', image: 'registry.example.com/shop/checkout:1.5.0' }],
        message:
          'Waiting for deployment "checkout" rollout to finish: 2 out of 3 new replicas have been updated...',
      });
    } finally {
      await double.close();
    }
  });

  it('says progressing while the controller has not observed the newest generation, and paused when paused', async () => {
    const double = await startCluster('healthy');
    try {
      const executor = executorFor(double);
      const deployment = double.state.get('Deployment', 'shop', 'checkout');
      if (!deployment) throw new Error('fixture has no deployment');
      deployment.metadata.generation = 5;
      double.state.apply(deployment);
      const unobserved = await executor.execute(context(), {
        action: 'rollout-status',
        input: { namespace: 'shop', deployment: 'checkout', wait: false },
      });
      expect(unobserved.output).toMatchObject({
        state: 'progressing',
        message: 'Waiting for deployment spec update to be observed...',
      });

      deployment.spec.paused = true;
      double.state.apply(deployment);
      const paused = await executor.execute(context(), {
        action: 'rollout-status',
        input: { namespace: 'shop', deployment: 'checkout', wait: false },
      });
      expect(paused.output).toMatchObject({ state: 'paused', paused: true });
    } finally {
      await double.close();
    }
  });
});

describe('restart', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('healthy');
  });
  afterEach(() => double.close());

  it('sends the strategic-merge patch kubectl rollout restart sends, and a new revision rolls out', async () => {
    const executor = executorFor(double, { clock: fixedClock(NOW) });
    const result = await executor.execute(context(), {
      action: 'restart',
      input: { namespace: 'shop', deployment: 'checkout' },
    });

    const patches = double.requestsTo('PATCH', CHECKOUT);
    expect(patches).toHaveLength(1);
    expect(patches[0]?.contentType).toBe('application/strategic-merge-patch+json');
    expect(patches[0]?.rawBody).toBe(
      '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-03-01T10:00:00Z"}}}}}',
    );
    expect(patches[0]?.query.dryRun).toBeUndefined();
    expect(result.output).toMatchObject({
      restartedAt: '2025-03-01T10:00:00Z',
      previousRevision: 4,
      dryRun: false,
    });
    expect(result.summary).toBe('restarted deployment shop/checkout (restartedAt 2025-03-01T10:00:00Z)');

    const status = await executor.execute(context(), {
      action: 'rollout-status',
      input: { namespace: 'shop', deployment: 'checkout' },
    });
    expect(status.output).toMatchObject({ state: 'healthy', revision: 5 });
    const template = double.state.get('Deployment', 'shop', 'checkout')?.spec.template;
    expect(template?.metadata?.annotations).toEqual({
      'kubectl.kubernetes.io/restartedAt': '2025-03-01T10:00:00Z',
    });
  });

  it('dry run asks the API server (dryRun=All) and changes nothing', async () => {
    const before = JSON.stringify([
      double.state.list('Deployment'),
      double.state.list('ReplicaSet'),
      double.state.list('Pod'),
    ]);
    const result = await executorFor(double).execute(context({ dryRun: true }), {
      action: 'restart',
      input: { namespace: 'shop', deployment: 'checkout' },
    });
    expect(double.requestsTo('PATCH', CHECKOUT).map((r) => r.query.dryRun)).toEqual(['All']);
    expect(
      JSON.stringify([
        double.state.list('Deployment'),
        double.state.list('ReplicaSet'),
        double.state.list('Pod'),
      ]),
    ).toBe(before);
    expect(result.summary).toMatch(/^dry run: .*nothing changed$/);
  });

  it('refuses a paused deployment without patching it', async () => {
    const deployment = double.state.get('Deployment', 'shop', 'checkout');
    if (!deployment) throw new Error('fixture has no deployment');
    deployment.spec.paused = true;
    double.state.apply(deployment);
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'restart',
        input: { namespace: 'shop', deployment: 'checkout' },
      }),
    );
    expect(error.code).toBe('millwright_precondition_failed');
    expect(error.hint).toContain('kubectl rollout resume deployment/checkout -n shop');
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(0);
  });
});

describe('scale', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('healthy');
  });
  afterEach(() => double.close());

  it('patches the scale subresource with the merge patch kubectl scale sends', async () => {
    const result = await executorFor(double).execute(context(), {
      action: 'scale',
      input: { namespace: 'shop', deployment: 'checkout', replicas: 5 },
    });
    const patches = double.requestsTo('PATCH', `${CHECKOUT}/scale`);
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({
      contentType: 'application/merge-patch+json',
      rawBody: '{"spec":{"replicas":5}}',
    });
    expect(result.output).toMatchObject({ previousReplicas: 3, replicas: 5, changed: true });
    expect(double.state.get('Deployment', 'shop', 'checkout')?.spec.replicas).toBe(5);
    expect(double.state.list('Pod', 'shop')).toHaveLength(5);
  });

  it('is a no-op when the deployment already runs that many replicas', async () => {
    const result = await executorFor(double).execute(context(), {
      action: 'scale',
      input: { namespace: 'shop', deployment: 'checkout', replicas: 3 },
    });
    expect(result.output).toMatchObject({ changed: false });
    expect(result.summary).toContain('already runs 3 replicas');
    expect(double.requestsTo('PATCH', `${CHECKOUT}/scale`)).toHaveLength(0);
  });

  it.each([0, 11, 1.5, -1])(
    'refuses %p replicas outside the bounds 1..10 before any request',
    async (replicas) => {
      const error = await failureOf(
        executorFor(double, { scaleBounds: { min: 1, max: 10 } }).execute(context(), {
          action: 'scale',
          input: { namespace: 'shop', deployment: 'checkout', replicas },
        }),
      );
      expect(error.code).toBe('millwright_bad_argument');
      expect(error.message).toMatch(/outside the allowed range 1\.\.10|must be a whole number/);
      expect(double.requests).toHaveLength(0);
    },
  );

  it('dry run uses the server-side dry run and leaves replicas alone', async () => {
    const result = await executorFor(double).execute(context({ dryRun: true }), {
      action: 'scale',
      input: { namespace: 'shop', deployment: 'checkout', replicas: 6 },
    });
    expect(double.requestsTo('PATCH', `${CHECKOUT}/scale`).map((r) => r.query.dryRun)).toEqual(['All']);
    expect(double.state.get('Deployment', 'shop', 'checkout')?.spec.replicas).toBe(3);
    expect(result.output).toMatchObject({ dryRun: true, changed: true, replicas: 6 });
  });
});

describe('undo', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('healthy');
  });
  afterEach(() => double.close());

  it("copies the previous ReplicaSet's template (without pod-template-hash) into the deployment with kubectl's JSON patch", async () => {
    const result = await executorFor(double).execute(context(), {
      action: 'undo',
      input: { namespace: 'shop', deployment: 'checkout' },
    });
    const patches = double.requestsTo('PATCH', CHECKOUT);
    expect(patches).toHaveLength(1);
    expect(patches[0]?.contentType).toBe('application/json-patch+json');
    const ops = patches[0]?.body as { op: string; path: string; value: Record<string, unknown> }[];
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      'replace /spec/template',
      'replace /metadata/annotations',
    ]);
    expect(ops[0]?.value).toMatchObject({
      metadata: { labels: { app: 'checkout' } },
      spec: { containers: [{ name: 'checkout', image: 'registry.example.com/shop/checkout:1.4.1' }] },
    });
    expect(JSON.stringify(ops[0]?.value)).not.toContain('pod-template-hash');
    // The deployment keeps its own revision annotation; the ReplicaSet's bookkeeping is not copied.
    expect(ops[1]?.value).toEqual({ 'deployment.kubernetes.io/revision': '4' });
    expect(result.output).toMatchObject({ fromRevision: 4, toRevision: 3, skipped: false });

    const after = double.state.get('Deployment', 'shop', 'checkout');
    expect(after?.spec.template.spec.containers[0]?.image).toBe('registry.example.com/shop/checkout:1.4.1');
    expect(after?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('5');
  });

  it('rolls back to a given revision, and refuses one that does not exist before patching', async () => {
    const executor = executorFor(double);
    const missing = await failureOf(
      executor.execute(context(), {
        action: 'undo',
        input: { namespace: 'shop', deployment: 'checkout', toRevision: 9 },
      }),
    );
    expect(missing).toMatchObject({ code: 'millwright_bad_argument', hint: 'revisions on record: 4, 3' });
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(0);

    const result = await executor.execute(context(), {
      action: 'undo',
      input: { namespace: 'shop', deployment: 'checkout', toRevision: 3 },
    });
    expect(result.output).toMatchObject({
      toRevision: 3,
      images: [{ container: 'checkout', image: 'registry.example.com/shop/checkout:1.4.1' }],
    });
  });

  it('skips, like kubectl, when the deployment already runs that revision', async () => {
    const result = await executorFor(double).execute(context(), {
      action: 'undo',
      input: { namespace: 'shop', deployment: 'checkout', toRevision: 4 },
    });
    expect(result.output).toMatchObject({ skipped: true, toRevision: 4 });
    expect(double.requestsTo('PATCH', CHECKOUT)).toHaveLength(0);
  });

  it('dry run validates on the server and changes nothing', async () => {
    const before = JSON.stringify(double.state.get('Deployment', 'shop', 'checkout'));
    await executorFor(double).execute(context({ dryRun: true }), {
      action: 'undo',
      input: { namespace: 'shop', deployment: 'checkout' },
    });
    expect(double.requestsTo('PATCH', CHECKOUT).map((r) => r.query.dryRun)).toEqual(['All']);
    expect(JSON.stringify(double.state.get('Deployment', 'shop', 'checkout'))).toBe(before);
  });

  it('says there is nothing to roll back to when only one revision exists', async () => {
    double.state.remove('ReplicaSet', 'shop', 'checkout-5f8d9c7b64');
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'undo',
        input: { namespace: 'shop', deployment: 'checkout' },
      }),
    );
    expect(error.code).toBe('millwright_precondition_failed');
    expect(error.message).toBe(
      'deployment checkout in namespace shop has no earlier revision with a different pod template to roll back to',
    );
  });
});

describe('list-pods', () => {
  async function podsOf(scenario: KubernetesScenario) {
    const double = await startKubernetesApi({ objects: loadKubernetesScenario(scenario, { now: NOW }) });
    try {
      const result = await executorFor(double, { clock: fixedClock(NOW) }).execute(context(), {
        action: 'list-pods',
        input: { namespace: 'shop', deployment: 'checkout' },
      });
      const listing = double.requestsTo('GET', '/api/v1/namespaces/shop/pods');
      expect(listing.map((r) => r.query.labelSelector)).toEqual(['app=checkout']);
      return result;
    } finally {
      await double.close();
    }
  }

  it('shows CrashLoopBackOff pods with their restarts, readiness and age', async () => {
    const result = await podsOf('crashloop');
    expect(result.summary).toBe('3 pods of shop/checkout, 2 not ready (CrashLoopBackOff x2)');
    const pods = result.output.pods as Record<string, unknown>[];
    expect(pods[2]).toMatchObject({
      name: 'checkout-6d9f7c8b5d-x7k2p',
      phase: 'Running',
      status: 'CrashLoopBackOff',
      reason: 'CrashLoopBackOff',
      ready: '0/1',
      restarts: 9,
      lastTerminationReason: 'Error',
      age: '1d',
    });
    expect(pods[1]).toMatchObject({
      name: 'checkout-6d9f7c8b5d-r8t5w',
      status: 'Running',
      reason: null,
      ready: '1/1',
    });
  });

  it('names OOMKilled from the last termination of a crash-looping container', async () => {
    const result = await podsOf('oomkilled');
    const pod = (result.output.pods as Record<string, unknown>[]).find((p) => p.reason !== null);
    expect(pod).toMatchObject({
      status: 'CrashLoopBackOff',
      reason: 'OOMKilled',
      lastTerminationReason: 'OOMKilled',
      restarts: 6,
    });
  });

  it('shows ImagePullBackOff with the kubelet message', async () => {
    const result = await podsOf('image-pull-backoff');
    const pod = (result.output.pods as Record<string, unknown>[]).find((p) => p.reason !== null);
    expect(pod).toMatchObject({
      phase: 'Pending',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "registry.example.com/shop/checkout:1.5.1"',
      age: '3m',
    });
    expect(result.output.notReady).toBe(1);
  });
});

describe('logs', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('crashloop');
  });
  afterEach(() => double.close());

  it('tails a bounded number of lines from the pod kubectl would pick (a ready one)', async () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    double.state.setLogs('shop', 'checkout-6d9f7c8b5d-r8t5w', 'checkout', `${text}\n`);
    const result = await executorFor(double).execute(context(), {
      action: 'logs',
      input: { namespace: 'shop', deployment: 'checkout', lines: 3 },
    });
    expect(result.output).toMatchObject({
      pod: 'checkout-6d9f7c8b5d-r8t5w',
      lines: ['line 28', 'line 29', 'line 30'],
    });
    const request = double.requestsTo('GET', '/api/v1/namespaces/shop/pods/checkout-6d9f7c8b5d-r8t5w/log')[0];
    expect(request?.query).toMatchObject({ tailLines: '3' });
  });

  it('reads the previous run of a crashed container, and redacts what looks like a secret', async () => {
    double.state.setLogs(
      'shop',
      'checkout-6d9f7c8b5d-m4q9z',
      'checkout',
      'connecting with Authorization: Bearer abcdef0123456789xyz\nFATAL boom\n',
      {
        previous: true,
      },
    );
    const result = await executorFor(double).execute(context(), {
      action: 'logs',
      input: { namespace: 'shop', pod: 'checkout-6d9f7c8b5d-m4q9z', container: 'checkout', previous: true },
    });
    expect(result.output.lines).toEqual(['connecting with Authorization: [redacted]', 'FATAL boom']);
    expect(result.summary).toBe(
      'last 2 lines of the previous run of pod shop/checkout-6d9f7c8b5d-m4q9z (container checkout)',
    );
  });

  it('refuses more than 500 lines before any request', async () => {
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'logs',
        input: { namespace: 'shop', pod: 'checkout-6d9f7c8b5d-m4q9z', lines: 501 },
      }),
    );
    expect(error.code).toBe('millwright_bad_argument');
    expect(double.requests).toHaveLength(0);
  });

  it('explains a container that never started', async () => {
    await double.close();
    double = await startCluster('image-pull-backoff');
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'logs',
        input: { namespace: 'shop', pod: 'checkout-7b9c6f5d48-q2w8e' },
      }),
    );
    expect(error).toMatchObject({
      code: 'millwright_upstream_error',
      details: expect.objectContaining({ status: 400 }),
    });
    expect(error.message).toContain('is waiting to start: trying and failing to pull image');
    expect(error.hint).toContain('list-pods');
  });
});

describe('refusals before any request', () => {
  let double: KubernetesApiDouble;
  beforeAll(async () => {
    double = await startCluster('healthy');
  });
  afterAll(() => double.close());
  beforeEach(() => double.clearRequests());

  const hostile = [
    'checkout;rm -rf /',
    'checkout && kubectl delete ns shop',
    '$(reboot)',
    '`id`',
    '../../etc/passwd',
    'checkout\nkubectl delete deployment checkout',
    '{"spec":{"replicas":0}}',
    'replicas: 0\nkind: Deployment',
    'Checkout',
    '-checkout',
    'checkout-',
    'x'.repeat(254),
    '',
  ];

  it.each(hostile)('refuses deployment %j', async (deployment) => {
    for (const action of ['rollout-status', 'restart', 'undo', 'list-pods']) {
      const error = await failureOf(
        executorFor(double).execute(context(), { action, input: { namespace: 'shop', deployment } }),
      );
      expect(error.code).toBe('millwright_bad_argument');
      expect(error.message).not.toContain('\n');
    }
    expect(double.requests).toHaveLength(0);
  });

  it.each(['shop;ls', '$(whoami)', '../shop', 'shop\n'])('refuses namespace %j', async (namespace) => {
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'restart',
        input: { namespace, deployment: 'checkout' },
      }),
    );
    expect(error.code).toBe('millwright_bad_argument');
    expect(double.requests).toHaveLength(0);
  });

  it('refuses a namespace that is not allowed, saying which are', async () => {
    const error = await failureOf(
      executorFor(double).execute(context(), {
        action: 'restart',
        input: { namespace: 'kube-system', deployment: 'coredns' },
      }),
    );
    expect(error).toMatchObject({
      code: 'millwright_permission_denied',
      message: 'namespace kube-system is not allowed for the kubernetes executor',
    });
    expect(error.hint).toContain('allowed namespaces: shop');
    expect(double.requests).toHaveLength(0);
  });

  it('refuses hostile pod and container names, unknown inputs and unknown actions', async () => {
    const executor = executorFor(double);
    const attempts = [
      { action: 'logs', input: { namespace: 'shop', pod: 'x;cat /etc/shadow' } },
      { action: 'logs', input: { namespace: 'shop', pod: 'x', container: '$(id)' } },
      { action: 'logs', input: { namespace: 'shop' } },
      { action: 'restart', input: { namespace: 'shop', deployment: 'checkout', force: true } },
      { action: 'scale', input: { namespace: 'shop', deployment: 'checkout', replicas: '5; rm' } },
      { action: 'delete', input: { namespace: 'shop', deployment: 'checkout' } },
    ];
    for (const request of attempts) {
      const error = await failureOf(executor.execute(context(), request));
      expect(error.code).toBe('millwright_bad_argument');
    }
    expect(double.requests).toHaveLength(0);
  });
});
