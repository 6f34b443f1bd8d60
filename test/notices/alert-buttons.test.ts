// The runbook buttons on a firing alert's notice: filled from the alert's labels and annotations, so a
// click runs the runbook on what fired (through the shared button flow), or asks only for what is missing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ActionsBlock,
  type Reply,
  replyToText,
  runInteraction,
  silentLogger,
  systemClock,
} from '../../src/core/index.js';
import type { FormBlock } from '../../src/core/reply.js';
import type { AlertFiring } from '../../src/incidents/index.js';
import { AlertNotices } from '../../src/notices/alert-notices.js';
import { loadRunbooks } from '../../src/runbooks/index.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { checkoutAlertFiring } from '../helpers/alert-firing.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const RUNBOOKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runbooks');
const CHANNEL = 'C0CHECKOUT';

let k8s: KubernetesApiDouble;
let bot: TestBot;

beforeAll(async () => {
  k8s = await startKubernetesApi({ objects: loadKubernetesScenario('healthy') });
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
    operator: { allow: ['runbook.*'] }
  subjects:
    ana: [operator]
`,
  });
});
afterAll(async () => {
  await bot.close();
  await k8s.close();
});

function firing(labels: Record<string, string>, annotations: Record<string, string> = {}): AlertFiring {
  return checkoutAlertFiring(CHANNEL, labels, annotations);
}

async function buttons(event: AlertFiring) {
  const notices = new AlertNotices({
    notices: bot.runtime.services.notices,
    runbooks: bot.runtime.services.runbooks,
    actions: bot.runtime.services.actions,
    clock: systemClock,
    logger: silentLogger(),
  });
  const notice = await notices.render(event);
  const block = notice.blocks.find((b): b is ActionsBlock => b.type === 'actions');
  return Object.fromEntries((block?.actions ?? []).map((a) => [a.id, a]));
}

/** Clicks a button through the shared interaction flow, as `ana` in the notice's channel. */
async function click(token: string): Promise<Reply> {
  let delivered: Reply | undefined;
  await runInteraction(
    { surface: 'shell', channel: CHANNEL, token, actor: { id: 'ana' } },
    { services: bot.runtime.services, handle: (request) => bot.router.handle(request) },
    {
      refuse: async (failure) => {
        throw failure;
      },
      deliver: async (answer) => {
        delivered = answer;
      },
    },
  );
  if (!delivered) throw new Error('the click delivered nothing');
  return delivered;
}

it('fills every runbook button from the alert labels, and a click runs the runbook on what fired', async () => {
  const offered = await buttons(firing({ deployment: 'checkout', namespace: 'shop' }));
  expect(offered['restart-deployment']?.command).toBe(
    'runbook run restart-deployment deployment="checkout" namespace="shop"',
  );
  expect(offered['rollback-deployment']?.command).toBe(
    'runbook run rollback-deployment deployment="checkout" namespace="shop"',
  );

  // The click asks for confirmation with the values; the confirmation runs it.
  const asked = await click(offered['restart-deployment']!.token!);
  const confirm = asked.blocks
    .filter((b): b is ActionsBlock => b.type === 'actions')
    .flatMap((b) => b.actions)
    .find((a) => a.id === 'confirm');
  expect(confirm?.command).toBe('runbook run restart-deployment deployment=checkout namespace=shop --yes');
  k8s.clearRequests();
  const ran = await click(confirm!.token!);
  expect(replyToText(ran)).toMatch(/^restart-deployment succeeded/);
  expect(k8s.requestsTo('PATCH', '/apis/apps/v1/namespaces/shop/deployments/checkout')).toHaveLength(1);
});

it('leaves out what the alert does not carry, and the click asks for it in a form prefilled with the rest', async () => {
  const offered = await buttons(firing({ deployment: 'checkout' }));
  expect(offered['scale-deployment']?.command).toBe('runbook run scale-deployment deployment="checkout"');
  const asked = await click(offered['scale-deployment']!.token!);
  expect(asked.error?.message).toContain('replicas');
  const form = asked.blocks.find((b): b is FormBlock => b.type === 'form');
  expect(form?.fields.find((f) => f.name === 'deployment')).toMatchObject({ default: 'checkout' });
  expect(form?.fields.find((f) => f.name === 'replicas')?.default).toBeUndefined();
});

it('takes a parameter from an annotation when the runbook says so', async () => {
  const catalog = await loadRunbooks(RUNBOOKS);
  const scale = catalog.runbooks.get('scale-deployment');
  expect(scale?.spec.spec.params.find((p) => p.name === 'replicas')?.fromAlert).toBe(
    'annotation:replicas_wanted',
  );
  const offered = await buttons(firing({ deployment: 'checkout' }, { replicas_wanted: '6' }));
  expect(offered['scale-deployment']?.command).toBe(
    'runbook run scale-deployment deployment="checkout" replicas="6"',
  );
});
