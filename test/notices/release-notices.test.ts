// The release message through the surface hub: posted once, then edited in place on every move, with
// signed Promote/Abort buttons while the release runs; a chart that cannot be drawn leaves a line and
// never stops the message; the end is told in the service's channel too.
import {
  ActionSigner,
  type ChatSurface,
  fixedClock,
  type Reply,
  replyToText,
  SurfaceHub,
  silentLogger,
} from '../../src/core/index.js';
import { ReleaseNotices } from '../../src/notices/index.js';
import { DEFAULT_ANALYSIS } from '../../src/releases/analysis.js';
import type { ReleaseRecord } from '../../src/releases/controller.js';

const clock = fixedClock(new Date('2026-12-04T10:00:00Z'));
const actions = new ActionSigner('a-test-secret-of-at-least-32-characters', 3600, () => clock.now());

function release(overrides: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    id: 'REL-4',
    service: 'checkout',
    image: 'registry.example.com/shop/checkout:2.4.0',
    requester: 'ana',
    channel: 'C-OPS',
    changeId: 'CR-9',
    createdAt: '2026-12-04T09:50:00.000Z',
    intervalMs: 300_000,
    analysis: DEFAULT_ANALYSIS,
    plan: { steps: [5, 25, 50, 100], step: 1, state: 'running', waited: 0 },
    stepStartedAt: '2026-12-04T09:55:00.000Z',
    history: [
      {
        at: '2026-12-04T09:50:00.000Z',
        event: 'started',
        state: 'running',
        step: 0,
        action: 'set-canary',
        share: 9.1,
      },
      {
        at: '2026-12-04T09:55:00.000Z',
        event: 'verdict: promote',
        state: 'running',
        step: 1,
        action: 'set-canary',
        share: 23.1,
        verdict: {
          decision: 'promote',
          reason: 'checkout-availability: the canary is not worse',
          slis: [
            {
              sli: 'checkout-availability',
              outcome: 'pass',
              test: 'z',
              canary: { bad: 15, total: 3000 },
              stable: { bad: 150, total: 30000 },
              canaryRatio: 0.005,
              stableRatio: 0.005,
              pValue: 0.77,
            },
          ],
        },
      },
    ],
    ...overrides,
  };
}

/** A surface that keeps every post and edit, as a chat platform would show them. */
function recorder() {
  const posts: Array<{ target: string; reply: Reply; edits: Reply[] }> = [];
  const surface: ChatSurface = {
    name: 'recorder',
    owns: () => true,
    post: async (target, reply) => {
      const post = { target, reply, edits: [] as Reply[] };
      posts.push(post);
      return { update: async (next) => void post.edits.push(next) };
    },
  };
  const hub = new SurfaceHub();
  hub.register(surface);
  return { hub, posts };
}

it('posts one message, edits it in place, and keeps signed buttons only while the release runs', async () => {
  const { hub, posts } = recorder();
  let drawn = 0;
  const notices = new ReleaseNotices({
    notices: hub,
    actions,
    clock,
    logger: silentLogger(),
    chart: async () => {
      drawn++;
      return 'data:image/png;base64,iVBORw0KGgo=';
    },
  });
  await notices.changed({ release: release() });
  await notices.changed({
    release: release({
      plan: { steps: [5, 25, 50, 100], step: 1, state: 'paused', waited: 0, because: 'open incident INC-2' },
    }),
  });
  expect(posts).toHaveLength(1);
  expect(posts[0]!.target).toBe('C-OPS');
  expect(posts[0]!.edits).toHaveLength(1);
  const first = posts[0]!.reply;
  expect(replyToText(first)).toMatch(
    /^REL-4 checkout → registry\.example\.com\/shop\/checkout:2\.4\.0: running/,
  );
  expect(replyToText(first)).toContain('Steps: 5% ✔ · 25% ◀ · 50% · 100%');
  expect(replyToText(first)).toContain('canary share: 23.1%');
  const buttons = first.blocks.flatMap((b) => (b.type === 'actions' ? b.actions : []));
  expect(buttons.map((b) => b.command)).toEqual([
    'release promote REL-4',
    'release abort REL-4 reason="aborted from the release message"',
  ]);
  // Each button is signed for the channel it is posted in.
  for (const button of buttons) expect(actions.verify(button.token!, 'C-OPS').command).toBe(button.command);
  // Paused: nothing to promote past the gate, abort still offered; the chart was drawn once.
  const paused = posts[0]!.edits[0]!;
  expect(replyToText(paused)).toContain('Why paused: open incident INC-2');
  expect(paused.blocks.flatMap((b) => (b.type === 'actions' ? b.actions.map((a) => a.id) : []))).toEqual([
    'abort',
  ]);
  expect(drawn).toBe(1);
  expect(paused.blocks.some((b) => b.type === 'image')).toBe(true);
});

it('a chart that cannot be drawn leaves a line; the end is told to the service channel without buttons', async () => {
  const { hub, posts } = recorder();
  const notices = new ReleaseNotices({
    notices: hub,
    actions,
    clock,
    logger: silentLogger(),
    chart: async () => {
      throw new Error('vega could not lay out the chart');
    },
  });
  const aborted = release({
    plan: { steps: [5, 25, 50, 100], step: 1, state: 'aborted', waited: 0, because: 'aborted by dee' },
  });
  await notices.changed({ release: aborted, owners: 'C-CHECKOUT' });
  expect(posts.map((p) => p.target)).toEqual(['C-OPS', 'C-CHECKOUT']);
  const message = replyToText(posts[0]!.reply);
  expect(message).toContain('chart not drawn: vega could not lay out the chart');
  expect(message).toContain('Steps: 5% ✔ · 25% ✘ · 50% · 100%');
  expect(posts[0]!.reply.blocks.some((b) => b.type === 'actions')).toBe(false);
  expect(replyToText(posts[1]!.reply)).toMatch(
    /^REL-4 of checkout was aborted: aborted by dee; the stable keeps serving/,
  );
});
