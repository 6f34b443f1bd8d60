// The shipped Kubernetes runbooks against the API double when a rollout goes wrong: a stuck or
// crash-looping rollout ends the run failed, its rollback runs, and the reply says what serves.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replyToText } from '../../src/core/index.js';
import {
  type KubernetesApiDouble,
  type KubernetesScenario,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const RUNBOOKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runbooks');
const CHECKOUT = '/apis/apps/v1/namespaces/shop/deployments/checkout';
const IMAGE = 'registry.example.com/shop/checkout:1.4.2';

let k8s: KubernetesApiDouble;
let bot: TestBot;

/**
 * A cluster whose clock runs `lagMinutes` behind the bot's: pods it creates have been failing that
 * long by the bot's first look, without the test waiting.
 */
async function start(scenario: KubernetesScenario, lagMinutes = 0): Promise<void> {
  k8s = await startKubernetesApi({
    objects: loadKubernetesScenario(scenario),
    now: () => new Date(Date.now() - lagMinutes * 60_000),
  });
  bot = await startTestBot({
    config: `
runbooks:
  dir: ${RUNBOOKS}
kubernetes:
  kubeconfig: ${k8s.kubeconfigPath}
  allowedNamespaces: [shop]
  rolloutPollInterval: 10ms
access:
  defaultRoles: []
  roles:
    admin: { allow: ['*'] }
  subjects:
    ada: [admin]
`,
  });
}

afterEach(async () => {
  await bot.close();
  await k8s.close();
});

function deployment() {
  const found = k8s.state.get('Deployment', 'shop', 'checkout');
  if (!found) throw new Error('the double has no checkout deployment');
  return found;
}

it('restart whose new pods crash-loop ends failed, rolls back to the serving revision, and says so', async () => {
  await start('healthy');
  k8s.state.failingImages.set(IMAGE, { reason: 'CrashLoopBackOff', restarts: 4 });
  const answer = await bot.run('runbook run restart-deployment deployment=checkout --yes', 'ada');
  const text = replyToText(answer);

  expect(answer.ok).toBe(false);
  expect(text).toMatch(
    /^error: restart-deployment FAILED and was rolled back at wait for the restart to roll out: shop\/checkout: deployment "checkout" rollout failed: pod checkout-\w+-\w+ CrashLoopBackOff \(4 restarts\); serving 1\.4\.2 3\/3 · 1\.4\.2 0\/1 new/,
  );
  expect(text).toContain('back from revision 5 to revision 4');
  expect(text).toContain('revision 4 is fully available (3/3 ready)');
  expect(text).toMatch(/is healthy: 3\/3 ready, revision 6 .*serving 1\.4\.2 3\/3 new/);
  expect(deployment().status?.availableReplicas).toBe(3);
});

it('restart whose new pods cannot pull their image ends failed and rolls back', async () => {
  await start('healthy', 5);
  k8s.state.failingImages.set(IMAGE, { reason: 'ImagePullBackOff' });
  const answer = await bot.run('runbook run restart-deployment deployment=checkout --yes', 'ada');
  const text = replyToText(answer);
  expect(text).toMatch(
    /^error: restart-deployment FAILED and was rolled back at wait for the restart to roll out/,
  );
  expect(text).toMatch(/pod checkout-\w+-\w+ ImagePullBackOff; serving 1\.4\.2 3\/3 · 1\.4\.2 0\/1 new/);
  expect(text).toContain('to revision 4');
});

it('restart of a rollout that already exceeded its progress deadline fails at the first check and changes nothing', async () => {
  await start('progress-deadline-exceeded');
  const answer = await bot.run('runbook run restart-deployment deployment=checkout --yes', 'ada');
  expect(replyToText(answer)).toMatch(
    /^error: restart-deployment FAILED at check the rollout first: shop\/checkout: deployment "checkout" exceeded its progress deadline: pod checkout-7b9c6f5d48-h5j7c \w+; serving 1\.4\.2 3\/3 · 1\.5\.0 0\/1 new/,
  );
  expect(k8s.requestsTo('PATCH', CHECKOUT)).toHaveLength(0);
});

it('rollback after a failed restart lands on the last fully available revision, not the same broken pods', async () => {
  await start('progress-deadline-exceeded'); // revision 5 (1.5.0) stuck, revision 4 (1.4.2) serves
  k8s.state.failingImages.set('registry.example.com/shop/checkout:1.5.0', { reason: 'ImagePullBackOff' });
  // Someone restarted it by hand: revision 6 is 1.5.0 again, kubectl's "previous" would be 5.
  const restarted = deployment();
  restarted.spec.template.metadata = {
    ...restarted.spec.template.metadata,
    annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T12:00:00Z' },
  };
  k8s.state.write(restarted);
  expect(deployment().metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('6');

  const answer = await bot.run('runbook run rollback-deployment deployment=checkout --yes', 'ada');
  const text = replyToText(answer);
  expect(text).toMatch(/^rollback-deployment succeeded/);
  expect(text).toContain(
    `back from revision 6 to revision 4 (${IMAGE}): revision 4 is fully available (3/3 ready)`,
  );
  expect(text).toMatch(/serving 1\.4\.2 3\/3 new/);
  expect(deployment().spec.template.spec.containers[0]?.image).toBe(IMAGE);
});

it('rollback whose target also fails says it failed', async () => {
  await start('crashloop'); // revision 4 crash-loops; revision 3 is 1.4.1
  k8s.state.failingImages.set('registry.example.com/shop/checkout:1.4.1', {
    reason: 'OOMKilled',
    restarts: 6,
  });
  const answer = await bot.run('runbook run rollback-deployment deployment=checkout --yes', 'ada');
  const text = replyToText(answer);
  expect(answer.ok).toBe(false);
  expect(text).toMatch(
    /^error: rollback-deployment FAILED at wait for the rollback to roll out: .*OOMKilled \(6 restarts\)/,
  );
  expect(text).toContain('to revision 3');
});

it('scale of a crash-looping deployment ends failed and scales back', async () => {
  await start('crashloop');
  k8s.state.failingImages.set(IMAGE, { reason: 'CrashLoopBackOff', restarts: 9 });
  const answer = await bot.run('runbook run scale-deployment deployment=checkout replicas=4 --yes', 'ada');
  const text = replyToText(answer);
  expect(text).toMatch(
    /^error: scale-deployment FAILED and was rolled back at wait for the new replicas to be available: .*CrashLoopBackOff \(9 restarts\).*; serving 1\.4\.2 \d\/4 new/,
  );
  expect(text).toContain('scaled deployment shop/checkout from 4 to 3 replicas');
  expect(deployment().spec.replicas).toBe(3);
});
