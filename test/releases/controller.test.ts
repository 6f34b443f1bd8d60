// The release controller on a real embedded store: a release moves step by step by its verdicts, aborts
// on a worse canary, a failed canary rollout or a paging budget, pauses while the gate is blocked, and
// after a restart carries out the one action it had recorded, never a step twice.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixedClock, silentLogger } from '../../src/core/index.js';
import { DEFAULT_ANALYSIS, type SliSample } from '../../src/releases/analysis.js';
import {
  RELEASES,
  type ReleaseCluster,
  ReleaseController,
  type ReleaseRecord,
  ReleaseRolloutFailed,
  type ReleaseStart,
} from '../../src/releases/controller.js';
import { LowdbStore } from '../../src/store/lowdb-store.js';

const MINUTE = 60_000;
const INTERVAL = 5 * MINUTE;

/** The cluster as the controller sees it: the canary's share, the stable's image, and every call. */
class Cluster implements ReleaseCluster {
  calls: string[] = [];
  share = 0;
  stableImage = 'v1';
  failure: string | undefined;
  failNextPromote?: Error;
  /** Every set-canary fails with this (a 403 that does not go away) while set. */
  refuseCanary?: Error;

  async setCanary(_release: ReleaseRecord, share: number) {
    this.calls.push(`set-canary ${share}`);
    if (this.refuseCanary) throw this.refuseCanary;
    this.share = share;
    return { share: share + 0.5 };
  }
  async promote(release: ReleaseRecord) {
    this.calls.push('promote');
    if (this.failNextPromote) {
      const failure = this.failNextPromote;
      this.failNextPromote = undefined;
      throw failure;
    }
    this.stableImage = release.image;
    this.share = 0;
  }
  async removeCanary() {
    this.calls.push('remove-canary');
    this.share = 0;
  }
  async restoreStable() {
    this.calls.push('restore-stable');
    this.stableImage = 'v1';
    this.share = 0;
  }
  async canaryFailure() {
    return this.failure;
  }
  async stableChanged(release: ReleaseRecord) {
    const image = this.stableImage;
    return image !== release.stableImage && image !== release.image ? image : undefined;
  }
}

const counts = (canaryBad: number, canaryTotal = 10_000): SliSample[] => [
  {
    sli: 'checkout-availability',
    errorBudget: 0.01,
    canary: { bad: canaryBad, total: canaryTotal },
    stable: { bad: 100, total: 100_000 },
  },
];

let dir: string;
let store: LowdbStore;
const clock = fixedClock('2026-12-04T10:00:00Z');
let cluster: Cluster;
let gate: { blocked?: string; page?: string };
let samples: SliSample[] | Error;

function controller(owner = 'replica-1') {
  return new ReleaseController({
    store,
    cluster,
    gate: { check: async () => gate },
    samples: async () => {
      if (samples instanceof Error) throw samples;
      return samples;
    },
    clock,
    logger: silentLogger(),
    owner,
  });
}

const release: ReleaseStart = {
  id: 'REL-1',
  service: 'checkout',
  image: 'v2',
  requester: 'ana',
  steps: [5, 50, 100],
  intervalMs: INTERVAL,
  analysis: DEFAULT_ANALYSIS,
};

const stored = async () => (await store.get<ReleaseRecord>(RELEASES, 'REL-1'))!;
const later = (ms: number) => clock.set(new Date(clock.now().getTime() + ms));

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-releases-'));
  store = await LowdbStore.open(dir, { clock });
  cluster = new Cluster();
  gate = {};
  samples = counts(10);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('a good canary is promoted through every step, one action per step, judged only after each interval', async () => {
  const bot = controller();
  await bot.start(release);
  expect(cluster.calls).toEqual(['set-canary 5']);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5']); // the interval has not passed
  later(INTERVAL);
  await bot.tick();
  later(INTERVAL);
  await bot.tick();
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50', 'promote']);
  expect(cluster.stableImage).toBe('v2');
  const done = await stored();
  expect(done.plan.state).toBe('promoted');
  expect(done.pending).toBeUndefined();
  expect(done.history.map((entry) => [entry.event, entry.state, entry.action, entry.share])).toEqual([
    ['started', 'running', 'set-canary', 5.5],
    ['verdict: promote', 'running', 'set-canary', 50.5],
    ['verdict: promote', 'promoting', 'promote', undefined],
    ['stable rolled out the new image', 'promoted', undefined, undefined],
  ]);
  expect(done.history[1]!.verdict?.reason).toMatch(/^checkout-availability: the canary is not worse/);
  later(INTERVAL);
  await bot.tick();
  expect(cluster.calls).toHaveLength(3);
});

it('a canary failing 3× as often is aborted at the first step with the numbers', async () => {
  const bot = controller();
  await bot.start(release);
  samples = counts(300);
  later(INTERVAL);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'remove-canary']);
  const aborted = await stored();
  expect(aborted.plan.state).toBe('aborted');
  expect(aborted.plan.because).toMatch(
    /^checkout-availability: the canary is worse: canary 300\/10000 bad \(3.00%\)/,
  );
});

it('too little traffic waits, a fresh interval each time, then aborts', async () => {
  const bot = controller();
  await bot.start(release);
  samples = counts(0, 50);
  for (let i = 0; i <= DEFAULT_ANALYSIS.maxWaits; i++) {
    later(INTERVAL - 1);
    await bot.tick();
    expect((await stored()).plan.waited).toBe(i); // not yet a full interval
    later(1);
    await bot.tick();
  }
  const gaveUp = await stored();
  expect(gaveUp.plan).toMatchObject({
    state: 'aborted',
    because: expect.stringMatching(/^still not judged after 3 extra intervals/),
  });
  expect(cluster.calls).toEqual(['set-canary 5', 'remove-canary']);
});

it('a canary whose pods crash-loop is aborted without waiting for the interval', async () => {
  const bot = controller();
  await bot.start(release);
  cluster.failure = 'pod checkout-canary-7d9 is in CrashLoopBackOff (restarted 5 times)';
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'remove-canary']);
  expect((await stored()).plan.because).toBe(
    "the canary's rollout failed: pod checkout-canary-7d9 is in CrashLoopBackOff (restarted 5 times)",
  );
});

it('an incident pauses it: nothing is judged until it clears, then the interval starts again', async () => {
  const bot = controller();
  await bot.start(release);
  later(INTERVAL - MINUTE);
  gate = { blocked: 'incident INC-7 is open on checkout' };
  await bot.tick();
  expect((await stored()).plan).toMatchObject({
    state: 'paused',
    because: 'incident INC-7 is open on checkout',
  });
  later(INTERVAL);
  samples = counts(10);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5']);
  // One history row for the pause, however many ticks it lasts.
  expect((await stored()).history.filter((entry) => entry.event.startsWith('paused'))).toHaveLength(1);
  gate = {};
  await bot.tick();
  expect((await stored()).plan.state).toBe('running');
  later(INTERVAL - MINUTE);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5']); // the interval restarted when the pause ended
  later(MINUTE);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
});

it('a paging budget aborts', async () => {
  const bot = controller();
  await bot.start(release);
  gate = { page: 'checkout-availability burns 20.8× (1h) and 16.1× (5m)' };
  await bot.tick();
  expect((await stored()).plan).toMatchObject({ state: 'aborted' });
  expect(cluster.calls).toEqual(['set-canary 5', 'remove-canary']);
});

it('after a restart it carries out the action it had recorded, once, and takes no step twice', async () => {
  await controller().start(release);
  // The process decided the next step, recorded it, and died before acting on it.
  await store.update<ReleaseRecord>(RELEASES, 'REL-1', (record) => ({
    ...record!,
    plan: { ...record!.plan, step: 1 },
    pending: { kind: 'set-canary', share: 50 },
  }));
  const restarted = controller('replica-2');
  await restarted.tick();
  await restarted.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
  expect((await stored()).pending).toBeUndefined();
  // And a restart after the action finished does nothing again.
  await controller('replica-3').tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
});

it('two replicas ticking at once move each release once', async () => {
  await controller().start(release);
  later(INTERVAL);
  await Promise.all([controller('replica-1').tick(), controller('replica-2').tick()]);
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
});

it('Prometheus failing leaves the release as it was, and the next tick judges it', async () => {
  const bot = controller();
  await bot.start(release);
  later(INTERVAL);
  samples = new Error('Prometheus at http://127.0.0.1:9 is unavailable');
  await bot.tick();
  expect((await stored()).plan).toMatchObject({ state: 'running', step: 0 });
  samples = counts(10);
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
});

it('a promotion whose stable rollout fails puts the stable back', async () => {
  const bot = controller();
  await bot.start({ ...release, steps: [50, 100] });
  cluster.failNextPromote = new ReleaseRolloutFailed('deployment checkout exceeded its progress deadline');
  later(INTERVAL);
  await bot.tick();
  await bot.tick();
  expect(cluster.calls).toEqual(['set-canary 50', 'promote', 'restore-stable']);
  expect(cluster.stableImage).toBe('v1');
  expect((await stored()).plan).toMatchObject({
    state: 'aborted',
    because: "the canary's rollout failed: deployment checkout exceeded its progress deadline",
  });
});

it('a step the cluster keeps refusing is shown as stuck, then aborts the release with the reason', async () => {
  const bot = controller();
  await bot.start(release);
  cluster.refuseCanary = new Error(
    'Kubernetes refused: deployments.apps "checkout-canary" is forbidden (403)',
  );
  later(INTERVAL);
  await bot.tick(); // the verdict says promote; the step to 50% is refused
  expect((await stored()).trouble).toMatchObject({ action: 'set-canary', attempts: 1 });
  expect((await stored()).plan.state).toBe('running');
  await bot.tick();
  expect((await stored()).trouble).toMatchObject({ action: 'set-canary', attempts: 2 });
  await bot.tick();
  const aborted = await stored();
  expect(aborted.plan).toMatchObject({ state: 'aborted' });
  expect(aborted.plan.because).toMatch(/the cluster refused the step to 50% 3 times: .*forbidden \(403\)/);
  expect(aborted.trouble).toBeUndefined();
  expect(aborted.pending).toBeUndefined();
  expect(cluster.calls).toEqual([
    'set-canary 5',
    'set-canary 50',
    'set-canary 50',
    'set-canary 50',
    'remove-canary',
  ]);
});

it('a refusal that clears is retried on the next tick and the step goes on, with nothing shown as stuck', async () => {
  const bot = controller();
  await bot.start(release);
  cluster.refuseCanary = new Error('the Kubernetes API answered 503');
  later(INTERVAL);
  await bot.tick();
  cluster.refuseCanary = undefined;
  await bot.tick();
  const moved = await stored();
  expect(moved.trouble).toBeUndefined();
  expect(moved.plan).toMatchObject({ state: 'running', step: 1 });
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50', 'set-canary 50']);
});

it('a person aborts: the canary goes at once', async () => {
  const bot = controller();
  await bot.start(release);
  await bot.apply('REL-1', { kind: 'abort', by: 'ben', reason: 'wrong tag' });
  expect(cluster.calls).toEqual(['set-canary 5', 'remove-canary']);
  expect((await stored()).plan.because).toBe('aborted by ben: wrong tag');
});

it('two promotes of the same step at once move it one step; the second is told where it went', async () => {
  const bot = controller();
  await bot.start(release);
  const both = await Promise.allSettled([
    bot.apply('REL-1', { kind: 'promote', by: 'ana' }, 0),
    bot.apply('REL-1', { kind: 'promote', by: 'dee' }, 0),
  ]);
  expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(String(refused?.reason?.message)).toBe('REL-1 already moved to step 2 (50%)');
  expect(cluster.calls).toEqual(['set-canary 5', 'set-canary 50']);
  expect((await stored()).plan.step).toBe(1);
});

it('a stable changed under the release pauses it before the next step, and a promotion never writes over it', async () => {
  const bot = controller();
  await bot.start({ ...release, stableImage: 'v1' });
  cluster.stableImage = 'v1-hotfix';
  later(INTERVAL);
  await bot.tick();
  const paused = await stored();
  expect(paused.plan.state).toBe('paused');
  expect(paused.plan.because).toBe(
    'the stable checkout now runs v1-hotfix, not v1 as when REL-1 started; someone deployed during the release',
  );
  expect(cluster.calls).toEqual(['set-canary 5']);
  // A person's promote pauses it the same way instead of moving it.
  expect((await bot.apply('REL-1', { kind: 'promote', by: 'ana' }, 0))?.plan.state).toBe('paused');
  expect(cluster.calls).toEqual(['set-canary 5']);
  // The stable back on the release's stable image: the release goes on.
  cluster.stableImage = 'v1';
  await bot.tick();
  expect((await stored()).plan.state).toBe('running');
});
