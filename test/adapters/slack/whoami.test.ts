// whoami names the person the same way from a slash command and from a mention: their Slack display
// name (users.info, cached) with their user id after it.
import { fixture, type SlackHarness, startSlackHarness, visibleText } from './harness.js';

let h: SlackHarness;

beforeEach(async () => {
  h = await startSlackHarness();
  h.slack.users.push({ id: 'U0ADA', name: 'ada', real_name: 'Ada Lovelace', display_name: 'Ada L.' });
});
afterEach(async () => {
  await h.close();
});

async function slash(user: string, userName: string): Promise<string> {
  const { responseUrl } = await h.sendSlash('whoami', { user_id: user, user_name: userName });
  return visibleText((await h.slack.waitForResponse((post) => post.url === responseUrl)).body.blocks);
}

async function mention(user: string): Promise<string> {
  const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
  const ts = `${h.nowSeconds()}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  event.event = { ...event.event, text: '<@U0BOT> whoami', user, channel: 'C0OPS', ts, event_ts: ts };
  event.event_id = `Ev${ts.replace('.', '')}`;
  event.event_time = h.nowSeconds();
  const before = h.slack.calls.length;
  await h.sendEvent(event);
  const answer = await h.slack.waitForCall(
    'chat.postEphemeral',
    (call) => h.slack.calls.indexOf(call) >= before && call.args.user === user,
  );
  return visibleText(answer.args.blocks);
}

it('shows the display name with the id after it, from a slash command and from a mention alike', async () => {
  const fromSlash = await slash('U0ADA', 'ada');
  const fromMention = await mention('U0ADA');
  expect(fromSlash).toContain('You are Ada L. (U0ADA)');
  expect(fromMention).toContain('You are Ada L. (U0ADA)');
  expect(fromMention.split('\n')[0]).toBe(fromSlash.split('\n')[0]);
  // Asked once, then cached for the TTL.
  expect(h.slack.callsTo('users.info')).toHaveLength(1);
  expect(h.slack.callsTo('users.info')[0]!.args).toMatchObject({ user: 'U0ADA' });
});

it('falls back to the full name when no display name is set', async () => {
  h.slack.users.push({ id: 'U0BAB', name: 'babbage', real_name: 'Charles Babbage', display_name: '' });
  expect(await mention('U0BAB')).toContain('You are Charles Babbage (U0BAB)');
});

it('shows the id alone from a mention when Slack cannot say who it is, and asks again after a back-off', async () => {
  h.slack.failNext('users.info', { error: 'missing_scope', needed: 'users:read' });
  expect(await mention('U0ADA')).toContain('You are U0ADA');
  // Within the back-off the failure stands; after it, Slack is asked again.
  expect(await mention('U0ADA')).not.toContain('Ada L.');
  expect(h.slack.callsTo('users.info')).toHaveLength(1);
  h.clock.shift(31_000);
  expect(await mention('U0ADA')).toContain('You are Ada L. (U0ADA)');
});
