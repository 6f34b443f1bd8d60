// Signed requests whose body is not an event Slack would send: refused with 400, never a 500.
import { fixture, type SlackHarness, startSlackHarness } from './harness.js';

describe('a signed but malformed Slack event', () => {
  let h: SlackHarness;

  beforeEach(async () => {
    h = await startSlackHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  test.each([
    ['"event": null', { event: null }],
    ['"event" a string', { event: 'app_mention' }],
    ['no "event"', { event: undefined }],
  ])('%s gets 400', async (_what, change) => {
    const event = {
      ...(fixture('app-mention.json') as Record<string, unknown>),
      ...change,
      event_time: h.nowSeconds(),
    };

    const res = await h.sendEvent(event);

    expect(res.status).toBe(400);
  });

  test('a well-formed event still gets its 200', async () => {
    const event = { ...(fixture('app-mention.json') as Record<string, unknown>), event_time: h.nowSeconds() };

    expect((await h.sendEvent(event)).status).toBe(200);
  });
});
