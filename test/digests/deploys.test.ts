// The deploys section against the Kubernetes and GitHub API doubles of the deploys fleet
// (test/fixtures/deploys/fleet.yaml): what shipped since the last digest, drift, and rollouts in trouble.
import { replyToText } from '../../src/core/index.js';
import { type Fleet, NOW, startFleet } from '../deploys/fleet.js';
import { type DigestBot, openDigestBot, removeDir } from './harness.js';

let fleet: Fleet;
let bot: DigestBot;

beforeAll(async () => {
  fleet = await startFleet(['checkout', 'payments', 'inventory', 'legacy', 'search']);
  bot = await openDigestBot({
    clock: fleet.clock,
    config: fleet.config(
      `digests:
  - name: shop
    schedule: "0 9 * * *"
    timeZone: UTC
    target: C0SHOP
    services: [checkout, payments, inventory, legacy]
    sections: [deploys]
`,
      // One repository per GitHub query, so one failing repository fails alone.
      { githubBatchSize: 1 },
    ),
  });
}, 180_000);

afterAll(async () => {
  await bot?.close();
  await removeDir(bot?.dir);
  await fleet?.close();
});

test('deploys since the last digest, newest first, then drift and failed rollouts; other services left out', async () => {
  // 12:00 UTC; the newest slot was 09:00, so the digest covers from then.
  expect(NOW.toISOString()).toBe('2025-01-01T12:00:00.000Z');
  const preview = await bot.runtime.services.digests.preview('shop');
  const shown = replyToText(preview);
  const table = preview.blocks.find((block) => block.type === 'table');
  if (table?.type !== 'table') throw new Error(`no deploys table in:\n${shown}`);
  expect(table.columns).toEqual(['when', 'service', 'what', 'by']);
  // payments v1.5.0 40 minutes ago, inventory from main 2 hours ago; checkout's v1.4.2 (26h) is older.
  const github = table.rows.filter((row) => row[2]!.startsWith('production deployment'));
  expect(github.map((row) => [row[0], row[1], row[3]])).toEqual([
    ['2025-01-01 11:20 UTC', 'payments', 'bo'],
    ['2025-01-01 10:00 UTC', 'inventory', 'github-actions[bot]'],
  ]);
  expect(github[0]![2]).toMatch(/^production deployment v1\.5\.0 \(50c1b2c\): /);
  expect(table.rows.some((row) => row[1] === 'search')).toBe(false);
  expect(table.rows.some((row) => row[1] === 'checkout' && row[2]!.startsWith('production'))).toBe(false);
  // inventory runs a commit GitHub never deployed; payments' rollout gave up.
  expect(shown).toMatch(/- inventory: drift: .+/);
  expect(shown).toMatch(/- payments: failed: .+/);
  expect(shown).not.toMatch(/- legacy: drift/);
  expect(preview.blocks[1]).toEqual({
    type: 'text',
    text: expect.stringMatching(/^\*\d+ deploys, 1 drifting\*$/),
  });
  expect(shown).toContain('Since 2025-01-01 09:00 UTC · checkout, inventory, legacy, payments');
});

test('when GitHub fails, the deploys it could not read say so and the rest still show', async () => {
  // Both ways GitHub is read: the REST history of deploys, and the GraphQL query for the rollout state.
  fleet.github.state.fail({
    path: /^\/repos\/acme\/payments\/deployments/,
    times: Number.POSITIVE_INFINITY,
    answer: 'error503',
  });
  fleet.github.state.fail({
    path: '/graphql',
    when: (request) => JSON.stringify(request.body).includes('"payments"'),
    times: Number.POSITIVE_INFINITY,
    answer: 'error503',
  });
  const shown = replyToText(await bot.runtime.services.digests.preview('shop'));
  expect(shown).toContain('inventory');
  expect(shown).toMatch(/payments: github: .+/);
});
