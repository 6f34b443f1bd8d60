// The Slack API behind its circuit: repeated 5xx answers open it, posts then fail fast with one clear
// line without reaching Slack, and a good probe closes it.
import { fixedClock, reply, text, UpstreamResilience } from '../../../src/core/index.js';
import { type SlackHarness, startSlackHarness } from './harness.js';

const FAILURES_TO_OPEN = 2;

describe('the Slack API circuit', () => {
  let h: SlackHarness;
  const circuitClock = fixedClock('2026-12-04T12:03:00.000Z');
  const upstreams = new UpstreamResilience({
    clock: circuitClock,
    failureThreshold: FAILURES_TO_OPEN,
    halfOpenAfterMs: 60_000,
  });

  beforeAll(async () => {
    h = await startSlackHarness({ adapter: { upstreams } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('opens after repeated outages, fails fast, and closes after a good probe', async () => {
    const message = reply(text('Daily digest'));
    // More failures than the posts below can use: every try of every post answers 503.
    h.slack.failNext('chat.postMessage', { error: 'internal_error', status: 503 }, 100);
    for (let post = 0; post < FAILURES_TO_OPEN; post++) {
      await expect(h.adapter.post('C0123ABCD', message)).rejects.toMatchObject({
        code: 'millwright_slack_unreachable',
      });
    }
    const reached = h.slack.callsTo('chat.postMessage').length;
    // A post is a write: after a 5xx Slack may have posted it, so it is sent once (no client retries).
    expect(reached).toBe(FAILURES_TO_OPEN);
    expect(upstreams.circuits()).toEqual([
      { upstream: 'slack', target: `${h.slack.apiUrl.replace(/\/?$/, '/')}`, state: 'open' },
    ]);

    const open = await h.adapter.post('C0123ABCD', message).catch((error: unknown) => error);
    expect(open).toMatchObject({
      code: 'millwright_dependency_unavailable',
      message: expect.stringMatching(
        /^the Slack API at http:\/\/127\.0\.0\.1:\d+\/.* is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC$/,
      ),
    });
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(reached);

    h.slack.clearFailures();
    circuitClock.set('2026-12-04T12:04:00.000Z');
    await h.adapter.post('C0123ABCD', message);
    expect(upstreams.circuits()[0]?.state).toBe('closed');
  });
});
