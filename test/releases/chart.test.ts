// The release chart: one bar per track per judged step, labelled with the share the canary had while
// it was judged, drawn by vega to a PNG the chat surfaces upload.
import { DEFAULT_ANALYSIS } from '../../src/releases/analysis.js';
import { releaseChart, releaseChartPoints } from '../../src/releases/chart.js';
import type { ReleaseEntry, ReleaseRecord } from '../../src/releases/controller.js';

const judged = (at: string, canary: number, stable: number, share: number): ReleaseEntry => ({
  at,
  event: 'verdict: promote',
  state: 'running',
  step: 1,
  action: 'set-canary',
  share,
  verdict: {
    decision: 'promote',
    reason: 'not worse',
    slis: [
      {
        sli: 'checkout-availability',
        outcome: 'pass',
        test: 'z',
        canary: { bad: canary, total: 3000 },
        stable: { bad: stable, total: 30000 },
        canaryRatio: canary / 3000,
        stableRatio: stable / 30000,
      },
    ],
  },
});

const release: ReleaseRecord = {
  id: 'REL-2',
  service: 'checkout',
  image: 'checkout:2',
  requester: 'ana',
  createdAt: '2026-12-04T10:00:00.000Z',
  intervalMs: 300_000,
  analysis: DEFAULT_ANALYSIS,
  plan: { steps: [5, 25, 100], step: 2, state: 'promoting', waited: 0 },
  stepStartedAt: '2026-12-04T10:10:00.000Z',
  history: [
    {
      at: '2026-12-04T10:00:00.000Z',
      event: 'started',
      state: 'running',
      step: 0,
      action: 'set-canary',
      share: 9.1,
    },
    judged('2026-12-04T10:05:00.000Z', 15, 150, 23.1),
    judged('2026-12-04T10:10:00.000Z', 12, 160, 100),
  ],
};

it('charts each verdict at the share the canary had while it was judged', () => {
  expect(releaseChartPoints(release)).toEqual([
    { step: '#1 at 9.1%', sli: 'checkout-availability', track: 'canary', percent: 0.5 },
    { step: '#1 at 9.1%', sli: 'checkout-availability', track: 'stable', percent: 0.5 },
    { step: '#2 at 23.1%', sli: 'checkout-availability', track: 'canary', percent: 0.4 },
    { step: '#2 at 23.1%', sli: 'checkout-availability', track: 'stable', percent: 0.5333 },
  ]);
  expect(releaseChartPoints({ ...release, history: release.history.slice(0, 1) })).toEqual([]);
});

it('draws a PNG, and nothing before the first verdict', async () => {
  const url = await releaseChart(release);
  expect(url).toMatch(/^data:image\/png;base64,/);
  const png = Buffer.from(url!.slice('data:image/png;base64,'.length), 'base64');
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.length).toBeGreaterThan(1000);
  expect(await releaseChart({ ...release, history: release.history.slice(0, 1) })).toBeUndefined();
}, 60_000);
