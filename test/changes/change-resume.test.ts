// A change whose runner stopped mid-way (a replica killed, or a restart): once its hold has lapsed,
// another worker carries it on from the recorded step, never repeating one recorded as done, and
// repeats the step that was in flight only when that is safe (a read); otherwise a person checks.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChangeRequest, ExecutionProgress } from '../../src/changes/types.js';
import { fixedClock } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

const config = (dir: string) => `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'resume')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['*'] }
services:
  checkout: { channel: C-CHECKOUT }
policy:
  rules: [{ kind: change-class }]
  verify: { window: 10m, interval: 1m }
  handOverAfter: 15s
`;

describe('a change another runner left mid-way', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-12-04T10:00:00Z');
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms));
  const calls = async () =>
    (await readFile(path.join(bot.dir, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { action: string; input: Record<string, unknown> });
  const store = () => bot.runtime.services.store;

  /** CR-1 as a replica that died left it: executing, `progress` recorded, the service's lock held. */
  async function leftMidway(progress: Omit<ExecutionProgress, 'by'>): Promise<void> {
    // Scheduled two hours ahead, so nothing runs it before the test has set the scene.
    const filed = await bot.run('change request three-steps target=cart at=2h', 'ana');
    expect(filed.ok).toBe(true);
    await store().update<ChangeRequest>('changes', 'CR-1', (change) => ({
      ...change!,
      state: 'executing',
      execution: { startedAt: clock.now().toISOString(), progress: { by: 'gone:4242:dead01', ...progress } },
    }));
    expect(await store().tryLock('change:checkout', 'CR-1', 60 * 60_000)).toBe(true);
  }
  const change = async () => (await store().get<ChangeRequest>('changes', 'CR-1'))!;

  beforeEach(async () => {
    clock.set('2026-12-04T10:00:00Z');
    bot = await startTestBot({ config, clock });
  });
  afterEach(async () => {
    await bot.close();
  });

  it('carries on from the step in flight when it is a read, and never repeats a step recorded as done', async () => {
    await leftMidway({
      done: 1,
      summaries: ['changed cart by 1'],
      outputs: { first: { previous: 1 } },
      inFlight: { position: 2, label: 'check', uses: 'recorder.echo' },
    });
    await bot.runtime.services.changes.recover();
    // The read ran again, then the last step; the first write did not.
    expect((await calls()).map((call) => [call.action, call.input])).toEqual([
      ['echo', { message: 'checked cart' }],
      ['change', { target: 'cart', amount: 2 }],
    ]);
    const resumed = await change();
    expect(resumed.state).toBe('verifying');
    expect(resumed.execution?.status).toBe('succeeded');
    expect(resumed.execution?.progress).toMatchObject({
      done: 3,
      summaries: ['changed cart by 1', 'echoed checked cart', expect.any(String)],
    });
    expect(resumed.timeline.find((entry) => entry.event === 'resumed')?.detail).toMatch(
      /carries on from step 2 after gone:4242:dead01 stopped$/,
    );
  });

  it('fails it for a person when the step in flight was a write that is not safe to repeat', async () => {
    await leftMidway({
      done: 2,
      summaries: ['changed cart by 1', 'echoed checked cart'],
      outputs: {},
      inFlight: { position: 3, label: 'last', uses: 'recorder.change' },
    });
    await bot.runtime.services.changes.recover();
    expect(await calls()).toEqual([]);
    const failed = await change();
    expect(failed.state).toBe('failed');
    expect(failed.timeline.at(-1)?.detail).toBe(
      'the replica running this change (gone:4242:dead01) stopped while step 3 (last, recorder.change) was running; it is not safe to repeat; check the audit trail for which steps ran',
    );
    // The service's change lock is free again.
    expect(await store().get('locks', 'change:checkout')).toBeUndefined();
  });

  it('leaves it to its runner while that runner still holds it, and takes it over once the hold lapses', async () => {
    await leftMidway({ done: 0, summaries: [], outputs: {} });
    // The runner's hold on the change, last renewed just now.
    expect(await store().tryLock('change-record:CR-1', 'alive:7:abcdef', 15_000)).toBe(true);
    await bot.runtime.services.changes.recover();
    await bot.runtime.services.changes.tick();
    expect((await change()).state).toBe('executing');
    expect(await calls()).toEqual([]);
    advance(16_000);
    await bot.runtime.services.changes.tick();
    expect((await change()).state).toBe('verifying');
    expect((await calls()).map((call) => call.action)).toEqual(['change', 'echo', 'change']);
  });
});
