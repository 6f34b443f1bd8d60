// `deploys --json` in the shell: what serves, per ReplicaSet with ready/total, and why pods fail, as
// raw values a script can read, checked against docs/schemas/deploys.schema.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { jsonAnswer } from '../helpers/shell-output.js';
import { type Fleet, startFleet } from './fleet.js';

const SCHEMA = JSON.parse(
  readFileSync(
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/schemas/deploys.schema.json'),
    'utf8',
  ),
) as object;
const validate = new Ajv({ strict: false, allErrors: true }).compile(SCHEMA);

let fleet: Fleet;
let bot: TestBot;

beforeAll(async () => {
  fleet = await startFleet(['payments', 'cart', 'orders', 'search', 'checkout']);
  bot = await startTestBot({ clock: fleet.clock, config: fleet.config() });
});
afterAll(async () => {
  await bot.close();
  await fleet.close();
});

/** Runs one line in a JSON shell and returns the object it printed. */
function json(line: string): Promise<{ ok: boolean; data: Record<string, unknown> }> {
  return jsonAnswer(bot.router, line);
}

interface ServiceData {
  service: string;
  state: string;
  versions: string[];
  deployments: Array<{
    serving: unknown[];
    troubles: Array<{ pod: string; reason: string; restarts: number }>;
  }>;
}

it('lists what ready pods serve and why the others fail, valid against the schema', async () => {
  const answer = await json('deploys');
  expect(validate(answer.data)).toBe(true);
  const services = Object.fromEntries((answer.data.services as ServiceData[]).map((s) => [s.service, s]));

  // Stuck rollout: the old revision's three pods serve, the new one serves nothing.
  expect(services.payments).toMatchObject({
    state: 'failed',
    versions: ['1.4.2'],
    deployments: [
      {
        serving: [
          { revision: 4, version: '1.4.2', ready: 3, pods: 3, isNew: false },
          { revision: 5, version: '1.5.0', ready: 0, pods: 1, isNew: true },
        ],
        troubles: [{ pod: 'payments-7b9c6f5d48-h5j7c', reason: 'NotReady', restarts: 0 }],
      },
    ],
  });
  // Crash loop after the rollout: failing, not progressing or degraded, with the pods named.
  expect(services.cart).toMatchObject({
    state: 'failing',
    message: expect.stringContaining('CrashLoopBackOff (9 restarts)'),
    deployments: [
      {
        serving: [{ revision: 4, version: '1.4.2', ready: 1, pods: 3, isNew: true }],
        troubles: [
          { reason: 'CrashLoopBackOff', restarts: 8 },
          { reason: 'CrashLoopBackOff', restarts: 9 },
        ],
      },
    ],
  });
  expect(services.orders).toMatchObject({
    state: 'failing',
    deployments: [{ troubles: [{ reason: 'OOMKilled', restarts: 6 }] }],
  });
  // Mixed while rolling out: both versions serve, with their counts.
  expect(services.search).toMatchObject({
    state: 'progressing',
    versions: ['1.4.2', '1.5.0'],
    deployments: [
      {
        serving: [
          { version: '1.4.2', ready: 2, pods: 2, isNew: false },
          { version: '1.5.0', ready: 1, pods: 2, isNew: true },
        ],
      },
    ],
  });
  expect(services.checkout).toMatchObject({
    state: 'healthy',
    deployments: [{ serving: [{ version: '1.4.2', ready: 3, pods: 3, isNew: true }], troubles: [] }],
  });
});

it('describes one service with the same shape, plus where it runs', async () => {
  const answer = await json('deploys cart');
  expect(validate(answer.data)).toBe(true);
  expect(answer.data).toMatchObject({ service: 'cart', state: 'failing', namespace: 'shop' });
});

it('the schema rejects a reply without what serves', () => {
  expect(validate({ services: [{ service: 'x', state: 'healthy', deployments: [{ name: 'x' }] }] })).toBe(
    false,
  );
});
