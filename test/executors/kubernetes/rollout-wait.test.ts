// `kubernetes.rollout-status` waits like `kubectl rollout status`: it returns once the new ReplicaSet
// is fully available, and fails on ProgressDeadlineExceeded, stuck or crash-looping new pods, a paused
// deployment or its timeout. Time is a fake clock shared with the double; sleeping moves it on.
import { fixedClock } from '../../../src/core/clock.js';
import type { PodFailure } from '../../doubles/kubernetes-api.js';
import {
  type KubernetesApiDouble,
  type KubernetesScenario,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';
import { CHECKOUT, context, executorFor, failureOf } from './support.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const IMAGE = 'registry.example.com/shop/checkout:1.4.2';
const target = { namespace: 'shop', deployment: 'checkout' };

interface Rig {
  double: KubernetesApiDouble;
  executor: ReturnType<typeof executorFor>;
  /** Runs before each sleep returns, with how many sleeps so far: the cluster moving on while we wait. */
  onSleep: (sleeps: number) => void;
  sleeps: () => number;
}

let rig: Rig;

async function startRig(scenario: KubernetesScenario, options: { manual?: boolean } = {}): Promise<Rig> {
  const clock = fixedClock(NOW);
  const double = await startKubernetesApi({
    objects: loadKubernetesScenario(scenario, { now: NOW }),
    now: () => clock.now(),
    ...(options.manual ? { controller: 'manual' as const } : {}),
  });
  let sleeps = 0;
  const created: Rig = {
    double,
    onSleep: () => {},
    sleeps: () => sleeps,
    executor: executorFor(double, {
      clock,
      rolloutPolling: {
        intervalMs: 10_000,
        sleep: async (ms) => {
          sleeps++;
          clock.set(new Date(clock.now().getTime() + ms));
          created.onSleep(sleeps);
        },
      },
    }),
  };
  return created;
}

afterEach(() => rig.double.close());

function rolloutStatus(input: Record<string, unknown> = {}) {
  return rig.executor.execute(context({ timeoutMs: 3_600_000 }), {
    action: 'rollout-status',
    input: { ...target, ...input },
  });
}

async function restartInto(failure: PodFailure): Promise<void> {
  rig.double.state.failingImages.set(IMAGE, failure);
  await rig.executor.execute(context(), { action: 'restart', input: target });
}

it('waits while the controller has not caught up, and returns once the new ReplicaSet is fully available', async () => {
  rig = await startRig('healthy', { manual: true });
  await rig.executor.execute(context(), { action: 'restart', input: target });
  rig.double.clearRequests();
  rig.onSleep = (sleeps) => {
    if (sleeps === 2) rig.double.state.reconcile('shop', 'checkout');
  };
  const result = await rolloutStatus();
  expect(result.output).toMatchObject({ state: 'healthy', revision: 5, polls: 3 });
  expect(result.output.serving).toEqual([
    { revision: 5, images: [{ container: 'checkout', image: IMAGE }], ready: 3, pods: 3, isNew: true },
  ]);
  expect(result.summary).toContain('serving 1.4.2 3/3 new');
  expect(rig.double.requestsTo('GET', CHECKOUT)).toHaveLength(3);
});

it('fails on ProgressDeadlineExceeded, naming the stuck pod and what still serves', async () => {
  rig = await startRig('healthy');
  await restartInto({ reason: 'ImagePullBackOff' });
  // Pull failures are tolerated for an hour, so the progress deadline (600 s) decides.
  const error = await failureOf(rolloutStatus({ stuckAfter: '1h', timeout: '30m' }));
  expect(error.code).toBe('millwright_rollout_failed');
  expect(error.message).toMatch(
    /^shop\/checkout: deployment "checkout" exceeded its progress deadline: pod checkout-\w+-\w+ ImagePullBackOff; serving 1\.4\.2 3\/3 · 1\.4\.2 0\/1 new$/,
  );
  // 600 s of deadline at one look per 10 s: the 61st look sees it expired.
  expect(rig.sleeps()).toBe(60);
});

it('fails once a new pod cannot pull its image for longer than stuckAfter', async () => {
  rig = await startRig('healthy');
  await restartInto({ reason: 'ImagePullBackOff' });
  const error = await failureOf(rolloutStatus({ stuckAfter: '30s' }));
  expect(error.code).toBe('millwright_rollout_failed');
  expect(error.message).toContain('rollout failed: pod checkout-');
  expect(error.message).toContain('ImagePullBackOff');
  expect(rig.sleeps()).toBe(3);
});

it('fails on new pods crash-looping or OOMKilled at maxRestarts, and waits below it', async () => {
  rig = await startRig('healthy');
  await restartInto({ reason: 'CrashLoopBackOff', restarts: 3 });
  const crash = await failureOf(rolloutStatus());
  expect(crash.message).toMatch(
    /rollout failed: pod checkout-\w+-\w+ CrashLoopBackOff \(3 restarts\); serving/,
  );
  expect(rig.sleeps()).toBe(0);

  const patient = await failureOf(rolloutStatus({ maxRestarts: 4, timeout: '1m' }));
  expect(patient.code).toBe('millwright_timeout');

  await rig.double.close();
  rig = await startRig('healthy');
  await restartInto({ reason: 'OOMKilled', restarts: 5 });
  const oom = await failureOf(rolloutStatus());
  expect(oom.message).toMatch(/pod checkout-\w+-\w+ OOMKilled \(5 restarts\)/);
});

it('fails when a new pod never gets past a crash-looping or unpullable init container', async () => {
  for (const failure of [
    { reason: 'CrashLoopBackOff', restarts: 9 },
    { reason: 'ImagePullBackOff' },
  ] as const) {
    rig = await startRig('healthy');
    // The new version adds a migration that runs before the app container.
    const deployment = rig.double.state.get('Deployment', 'shop', 'checkout')!;
    const migrate = 'registry.example.com/shop/checkout-migrate:1.5.0';
    rig.double.state.failingImages.set(migrate, failure);
    deployment.spec.template.spec.initContainers = [{ name: 'migrate', image: migrate }];
    rig.double.state.write(deployment);
    const error = await failureOf(rolloutStatus({ stuckAfter: '30s' }));
    expect(error.code).toBe('millwright_rollout_failed');
    expect(error.message).toMatch(
      new RegExp(`rollout failed: pod checkout-\\w+-\\w+ Init:${failure.reason}`),
    );
    await rig.double.close();
  }
  rig = await startRig('healthy');
});

it('fails on a rolled-out ReplicaSet whose pods then crash-loop (kubectl would wait forever)', async () => {
  rig = await startRig('crashloop');
  const error = await failureOf(rolloutStatus());
  expect(error.message).toBe(
    'shop/checkout: deployment "checkout" rollout failed: pod checkout-6d9f7c8b5d-m4q9z CrashLoopBackOff (8 restarts), pod checkout-6d9f7c8b5d-x7k2p CrashLoopBackOff (9 restarts); serving 1.4.2 1/3 new',
  );
});

it('times out with the last state when the rollout never finishes, after a bounded number of looks', async () => {
  rig = await startRig('healthy', { manual: true });
  await rig.executor.execute(context(), { action: 'restart', input: target });
  rig.double.clearRequests();
  const error = await failureOf(rolloutStatus({ timeout: '1m' }));
  expect(error.code).toBe('millwright_timeout');
  expect(error.message).toBe(
    'shop/checkout did not finish rolling out within 1m: Waiting for deployment spec update to be observed...; serving 1.4.2 3/3',
  );
  // Looks at 0, 10, ..., 60 s: the seventh is the last that fits the minute.
  expect(rig.double.requestsTo('GET', CHECKOUT)).toHaveLength(7);
});

it('fails at once on a paused deployment, which cannot roll out', async () => {
  rig = await startRig('healthy');
  const deployment = rig.double.state.get('Deployment', 'shop', 'checkout');
  if (!deployment) throw new Error('fixture has no deployment');
  deployment.spec.paused = true;
  rig.double.state.apply(deployment);
  const error = await failureOf(rolloutStatus());
  expect(error.code).toBe('millwright_rollout_failed');
  expect(error.message).toContain('is paused');
});

it('is bounded by the caller deadline as well as its own timeout', async () => {
  rig = await startRig('healthy', { manual: true });
  await rig.executor.execute(context(), { action: 'restart', input: target });
  rig.double.clearRequests();
  // The caller's deadline is wall-clock time (what the client enforces): 36 s leave 35 s of looks.
  const error = await failureOf(
    rig.executor.execute(context({ timeoutMs: 36_000 }), {
      action: 'rollout-status',
      input: { ...target, timeout: '1h' },
    }),
  );
  expect(error.code).toBe('millwright_timeout');
  expect(rig.double.requestsTo('GET', CHECKOUT)).toHaveLength(4);
});

it('refuses inputs it cannot honour before any request', async () => {
  rig = await startRig('healthy');
  const bad = await failureOf(rolloutStatus({ timeout: 'soon' }));
  expect(bad.message).toBe('timeout must be a duration like 30s or 5m, got "soon"');
  const zero = await failureOf(rolloutStatus({ maxRestarts: 0 }));
  expect(zero.message).toBe('maxRestarts must be a whole number from 1 to 1000, got "0"');
  expect(rig.double.requestsTo('GET', CHECKOUT)).toHaveLength(0);
});
