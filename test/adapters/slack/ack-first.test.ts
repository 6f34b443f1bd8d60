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
    const holds = Array.from({ length: 50 }, () => q.requestArrived());
    for (const hold of holds) hold.confirm();
    q.run(() => started.push('work'));
    // The burst's acknowledgements go out one by one, 2 ms apart: none of them lets the work start.
    for (const hold of holds) {
      advance(2);
      hold.done();
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
    q.requestArrived().confirm();
    q.run(() => started.push('work'));
    // A request stays in flight the whole time: only the cap can start the work.
    for (let t = 0; t < 990; t += 10) advance(10);
    expect(started).toEqual([]);
    advance(20);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
  });

  it('holds work for a request whose body is still being read, until its signature checks out', () => {
    const q = queue();
    const started: string[] = [];
    const done = q.requestArrived();
    const reading = q.requestArrived();
    done.confirm();
    q.run(() => started.push('work'));
    done.done();
    // A request of the burst has arrived and its body is not read yet: the work waits for it.
    advance(100);
    jest.advanceTimersByTime(1);
    expect(started).toEqual([]);
    reading.confirm();
    advance(400);
    jest.advanceTimersByTime(1);
    expect(started).toEqual([]);
    reading.done();
    advance(25);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
  });

  it('stops holding work for a body that is slow to come or fails its signature', () => {
    const q = queue();
    const started: string[] = [];
    const trickling = q.requestArrived();
    const forged = q.requestArrived();
    q.run(() => started.push('work'));
    forged.done();
    // Held no longer than the unconfirmed time (250 ms), then the quiet time: long before the cap.
    advance(240);
    jest.advanceTimersByTime(1);
    expect(started).toEqual([]);
    advance(40);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
    // A signed body that comes after all holds again until it is answered.
    trickling.confirm();
    q.run(() => started.push('more'));
    advance(100);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work']);
    trickling.done();
    advance(25);
    jest.advanceTimersByTime(1);
    expect(started).toEqual(['work', 'more']);
  });

  /** Runs the clock 1 ms at a time for up to 1.5 s; `tick(t)` acts at each step. Resolves with when the work started. */
  const startedAtWhile = (q: AckFirstQueue, tick: (t: number) => void, queueAt: number) => {
    let startedAt: number | undefined;
    for (let t = 0; t < 1500 && startedAt === undefined; t += 1) {
      tick(t);
      if (t === queueAt)
        q.run(() => {
          startedAt = now;
        });
      advance(1);
    }
    return startedAt;
  };

  it('does not let a stream of forged requests hold work back', () => {
    const q = queue();
    // A forged request every 15 ms, each refused as soon as its body is read.
    const startedAt = startedAtWhile(q, (t) => t % 15 === 0 && q.requestArrived().done(), 50);
    expect(startedAt).toBeDefined();
    expect(startedAt!).toBeLessThan(50 + 30);
  });

  it('lets bodies that never come hold work for the unconfirmed time only, however many keep coming', () => {
    const q = queue();
    // A new connection that sends headers and nothing more, every 240 ms.
    const startedAt = startedAtWhile(q, (t) => void (t % 240 === 0 && q.requestArrived()), 50);
    expect(startedAt).toBeDefined();
    expect(startedAt!).toBeLessThan(50 + 260);
    expect(startedAt!).toBeGreaterThanOrEqual(50 + 250);
  });
});
