// Recent deploys for the incident brief: GitHub deployments and rollouts the cluster made without
// one, newest first, and the brief's suspects built from them.
import { replyToText } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { type Fleet, NOW, startFleet } from './fleet.js';

const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);

describe('recent deploys', () => {
  let fleet: Fleet;
  let bot: TestBot;

  beforeEach(async () => {
    fleet = await startFleet(['checkout', 'search', 'payments']);
    // docs has only a GitHub side, and its repository is not there.
    bot = await startTestBot({
      clock: fleet.clock,
      config: fleet.config('  docs:\n    github: { repo: acme/docs }\n'),
    });
  });
  afterEach(async () => {
    await bot.close();
    await fleet.close();
  });

  it('lists GitHub deployments since a time, and leaves out the rollout they explain', async () => {
    const deploys = await bot.runtime.services.deploys.recentDeploys('search', hoursAgo(6));
    // Revision 5 (1.5.0) was created two minutes ago by the v1.5.0 deployment, so it is not listed twice.
    expect(deploys).toEqual([
      {
        at: '2025-01-01T11:55:00Z',
        what: 'production deployment v1.5.0 (50d1b2c): in progress',
        by: 'ana',
        link: 'https://github.com/acme/search/actions/runs/1000',
      },
    ]);
    expect(await bot.runtime.services.deploys.recentDeploys('search', hoursAgo(48))).toHaveLength(2);
  });

  it('lists a rollout that no GitHub deployment explains (someone ran kubectl set image)', async () => {
    const checkout = fleet.kubernetes.state.get('Deployment', 'shop', 'checkout')!;
    checkout.spec.template.spec.containers[0]!.image = 'registry.example.com/shop/checkout:1.4.3-hotfix';
    fleet.kubernetes.state.write(checkout);
    const deploys = await bot.runtime.services.deploys.recentDeploys('checkout', hoursAgo(6));
    expect(deploys).toEqual([
      {
        at: '2025-01-01T12:00:00.000Z',
        what: 'rollout shop/checkout revision 5: 1.4.3-hotfix',
        by: 'kubernetes (no GitHub deployment)',
      },
    ]);
  });

  it('answers with what one source has when the other fails, and throws when both do', async () => {
    fleet.github.state.fail({
      path: /^\/repos\/acme\/search\//,
      times: Number.POSITIVE_INFINITY,
      answer: { status: 404 },
    });
    const rollouts = await bot.runtime.services.deploys.recentDeploys('search', hoursAgo(6));
    expect(rollouts.map((d) => d.what)).toEqual(['rollout catalog/search revision 5: 1.5.0']);
    fleet.kubernetes.inject({ path: '/apis/apps/v1/namespaces/catalog/deployments', times: 1, fault: 403 });
    await expect(bot.runtime.services.deploys.recentDeploys('search', hoursAgo(6))).rejects.toMatchObject({
      code: 'millwright_not_found',
      message: expect.stringContaining('acme/search'),
    });
    // Its only source failing is not "nothing was deployed".
    await expect(bot.runtime.services.deploys.recentDeploys('docs', hoursAgo(6))).rejects.toMatchObject({
      code: 'millwright_not_found',
    });
    expect(await bot.runtime.services.deploys.recentDeploys('not-in-catalog', hoursAgo(6))).toEqual([]);
  });

  it('puts them in the incident brief as suspects, nearest first', async () => {
    const declared = await bot.run('incident declare search is slow service=search sev=3');
    expect(declared.ok).toBe(true);
    const text = replyToText(declared);
    expect(text).toContain('Suspects');
    expect(text).toMatch(
      /5m ago \(2025-01-01 11:55 UTC\)\s+deploy: <https:\/\/github\.com\/acme\/search\/actions\/runs\/1000\|production deployment v1\.5\.0 \(50d1b2c\): in progress>\s+ana\s+5 min/,
    );
  });
});
