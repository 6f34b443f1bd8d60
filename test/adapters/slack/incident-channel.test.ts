// incident declare from Slack: a channel is created, the right people invited, the brief pinned,
// and the channel's notes and actions become the incident's timeline.
import { replyToText } from '../../../src/core/index.js';
import { type SlackHarness, startSlackHarness } from './harness.js';

describe('incident channels in Slack', () => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness({
      extraConfig: `
services:
  checkout:
    owners: [U0OWNER1, U0OWNER2]
    oncall: S0ONCALL
    channel: C0CHECKOUT
`,
    });
    h.slack.userGroups.push({
      id: 'S0ONCALL',
      handle: 'checkout-oncall',
      name: 'Checkout on-call',
      users: ['U0PAGER1', 'U0OWNER1'],
    });
  });
  afterEach(() => h.close());

  const waitFor = async <T>(probe: () => T | undefined): Promise<T> => {
    for (let i = 0; i < 200; i++) {
      const value = probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('timed out waiting for the Slack double');
  };

  it('creates the channel, invites declarer, owners and on-call, and pins the brief', async () => {
    const { response } = await h.sendSlash('incident declare checkout 5xx spike service=checkout sev=1');
    expect(response.status).toBe(200);
    const create = await waitFor(() => h.slack.calls.find((c) => c.method === 'conversations.create'));
    expect(create.args.name).toBe('inc-1-checkout-5xx-spike');
    const invite = await waitFor(() => h.slack.calls.find((c) => c.method === 'conversations.invite'));
    expect(String(invite.args.users).split(',').sort()).toEqual([
      'U0OWNER1',
      'U0OWNER2',
      'U0PAGER1',
      'U2147483697',
    ]);
    const channel = String(invite.args.channel);
    const brief = await waitFor(() => h.slack.messages.find((m) => m.channel === channel && m.pinned));
    expect(JSON.stringify(brief.blocks)).toContain('INC-1 SEV1 checkout: checkout 5xx spike');
    expect(h.slack.topics.get(channel)).toBe('SEV1 checkout: checkout 5xx spike');

    await h.sendSlash('incident note "rolled back the cache config"', { channel_id: channel });
    await h.sendSlash('incident status monitoring', { channel_id: channel });
    const stored = await (async () => {
      for (let i = 0; i < 200; i++) {
        const found = await h.runtime.services.incidents.find(channel, 'INC-1');
        if (found.status === 'monitoring') return found;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error('incident never reached monitoring');
    })();
    expect(stored.events.map((e) => e.text)).toEqual([
      'declared SEV1, commander U2147483697',
      'rolled back the cache config',
      'status: monitoring',
    ]);
    const timeline = await h.runtime.services.incidents.timeline(stored);
    expect(timeline.map((t) => t.what)).toContain('rolled back the cache config');
    expect(replyToText(await h.runtime.services.incidents.brief(stored))).toContain('status:');
  });
});
