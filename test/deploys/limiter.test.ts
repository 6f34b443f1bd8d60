// The bound on calls in flight: never more than the limit, even as calls finish and new ones
// arrive in the same tick; waiting calls start in the order they came.
import { Limiter } from '../../src/deploys/index.js';

describe('Limiter', () => {
  it('never lets more than the limit run, and starts waiting work in order', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const work = (i: number) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        // A newcomer arriving as a slot frees must wait behind the queue.
        if (i % 5 === 0) void limiter.run(async () => started.push(100 + i));
        return i;
      });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => work(i)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(3);
    expect(started.filter((i) => i < 100)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.active).toBe(0);
  });

  it('frees the slot when work fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.active).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new Limiter(0)).toThrow('limit must be a whole number >= 1, got 0');
  });
});
