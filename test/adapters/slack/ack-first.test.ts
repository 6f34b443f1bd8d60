// Work a Slack request starts waits until the acknowledgements of a burst have gone out, and never
// longer than the cap, however busy the server stays.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { AckFirstQueue } from '../../../adapters/slack/ack-first.js';

describe('AckFirstQueue', () => {
  let now = 0;
  const queue = () => new AckFirstQueue({ quietMs: 20, maxDelayMs: 1000, now: () => now });
  /** Moves the injected clock and the fake timers together. */
  const advance = (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
  };

  beforeEach(() => {
    now = 0;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('starts queued work only once no request has been in flight for the quiet time', () => {
    const q = queue();
    const started: string[] = [];
    const dones = Array.from({ length: 50 }, () => q.requestStarted());
    q.run(() => started.push('work'));
    // The burst's acknowledgements go out one by one, 2 ms apart: none of them lets the work start.
    for (const done of dones) {
      advance(2);
      done();
    }
    expect(started).toEqual([]);
    advance(19);
    expect(started).toEqual([]);
    // setImmediate is faked too: flush runs the job on the next one.
    advance(2);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
  });

  it('runs at once when nothing is in flight and the server has been quiet', () => {
    const q = queue();
    const started: string[] = [];
    advance(100);
    q.run(() => started.push('work'));
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
  });

  it('never holds work past the cap while requests keep arriving', () => {
    const q = queue();
    const started: string[] = [];
    q.requestStarted();
    q.run(() => started.push('work'));
    // A request stays in flight the whole time: only the cap can start the work.
    for (let t = 0; t < 990; t += 10) advance(10);
    expect(started).toEqual([]);
    advance(20);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
  });
});
