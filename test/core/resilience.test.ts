// The shared upstream policy on its own: bounded retries for reads only, Retry-After, circuits per
// upstream that open, fail fast, let one probe through and close; all on a fake clock and timer.
import { fixedClock, MillwrightError, parseRetryAfter, UpstreamResilience } from '../../src/core/index.js';

class Outage extends Error {
  constructor(readonly retryAfterMs?: number) {
    super('HTTP 503');
  }
}

function setup() {
  const clock = fixedClock('2026-12-04T12:03:00.000Z');
  const waits: number[] = [];
  const resilience = new UpstreamResilience({
    clock,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 1,
    attempts: 3,
    baseDelayMs: 100,
    failureThreshold: 2,
    halfOpenAfterMs: 60_000,
  });
  const policy = resilience.policy({
    kind: 'prometheus',
    target: 'http://prom:9090',
    name: 'Prometheus at http://prom:9090',
  });
  let calls = 0;
  const failing = async () => {
    calls++;
    throw new Outage();
  };
  const options = (idempotent: boolean) => ({
    idempotent,
    transient: (error: unknown) => error instanceof Outage,
    retryAfterMs: (error: unknown) => (error instanceof Outage ? error.retryAfterMs : undefined),
  });
  return { clock, waits, resilience, policy, failing, options, calls: () => calls };
}

describe('the upstream policy', () => {
  it('retries a read with doubling backoff, and never a write', async () => {
    const t = setup();
    await expect(t.policy.call(t.failing, t.options(true))).rejects.toBeInstanceOf(Outage);
    expect(t.calls()).toBe(3);
    expect(t.waits).toEqual([100, 200]);
    await expect(t.policy.call(t.failing, t.options(false))).rejects.toBeInstanceOf(Outage);
    expect(t.calls()).toBe(4);
    expect(t.resilience.retries().get('prometheus')).toBe(2);
  });

  it('sends a write again only after an answer that says it was not acted on (a 429), bounded', async () => {
    const t = setup();
    const rateLimited = new Outage(2_000);
    const write = { ...t.options(false), notActedOn: (error: unknown) => error === rateLimited };
    let tries = 0;
    const answer = await t.policy.call(async () => {
      tries++;
      if (tries === 1) throw rateLimited;
      return 'posted';
    }, write);
    expect(answer).toBe('posted');
    expect(t.waits).toEqual([2_000]);

    // A 503 on the same write may have landed: it is not sent again.
    await expect(t.policy.call(t.failing, write)).rejects.toBeInstanceOf(Outage);
    expect(t.calls()).toBe(1);

    // Rate limited every time: at most `attempts` tries, then the last answer.
    let limited = 0;
    await expect(
      t.policy.call(async () => {
        limited++;
        throw rateLimited;
      }, write),
    ).rejects.toBe(rateLimited);
    expect(limited).toBe(3);
  });

  it('waits what Retry-After asks, and gives up at once when it asks for too long', async () => {
    const t = setup();
    let tries = 0;
    const answer = await t.policy.call(async () => {
      tries++;
      if (tries === 1) throw new Outage(7_000);
      return 'ok';
    }, t.options(true));
    expect(answer).toBe('ok');
    expect(t.waits).toEqual([7_000]);
    await expect(
      t.policy.call(async () => {
        throw new Outage(600_000);
      }, t.options(true)),
    ).rejects.toBeInstanceOf(Outage);
    expect(t.waits).toEqual([7_000]);
  });

  it('opens after consecutive failed calls, fails fast, lets one probe through when due, and closes', async () => {
    const t = setup();
    await expect(t.policy.call(t.failing, t.options(true))).rejects.toBeInstanceOf(Outage);
    await expect(t.policy.call(t.failing, t.options(true))).rejects.toBeInstanceOf(Outage);
    expect(t.calls()).toBe(6);
    expect(t.policy.state).toBe('open');

    const open = await t.policy.call(t.failing, t.options(true)).catch((error: unknown) => error);
    expect(open).toBeInstanceOf(MillwrightError);
    expect((open as MillwrightError).message).toBe(
      'Prometheus at http://prom:9090 is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC',
    );
    expect(t.calls()).toBe(6);

    // Due: the probe is one request, not a burst of retries; it fails, so the circuit opens again.
    t.clock.set('2026-12-04T12:04:00.000Z');
    await expect(t.policy.call(t.failing, t.options(true))).rejects.toBeInstanceOf(Outage);
    expect(t.calls()).toBe(7);
    expect(t.policy.state).toBe('open');

    t.clock.set('2026-12-04T12:05:00.000Z');
    await expect(t.policy.call(async () => 'ok', t.options(true))).resolves.toBe('ok');
    expect(t.policy.state).toBe('closed');
    expect(t.resilience.opened().get('prometheus')).toBe(2);
  });

  it('keeps one circuit per upstream target, and answers that are not outages do not count', async () => {
    const t = setup();
    const other = t.resilience.policy({
      kind: 'prometheus',
      target: 'http://other:9090',
      name: 'Prometheus at http://other:9090',
    });
    for (let i = 0; i < 2; i++) await t.policy.call(t.failing, t.options(false)).catch(() => undefined);
    for (let i = 0; i < 5; i++) {
      await other
        .call(async () => {
          throw new Error('HTTP 400: bad query');
        }, t.options(true))
        .catch(() => undefined);
    }
    expect(t.resilience.circuits()).toEqual([
      { upstream: 'prometheus', target: 'http://prom:9090', state: 'open' },
      { upstream: 'prometheus', target: 'http://other:9090', state: 'closed' },
    ]);
  });

  it('a cancelled call is not retried and does not count against the upstream', async () => {
    const t = setup();
    const controller = new AbortController();
    controller.abort();
    for (let i = 0; i < 3; i++) {
      await t.policy
        .call(t.failing, { ...t.options(true), signal: controller.signal })
        .catch(() => undefined);
    }
    expect(t.calls()).toBe(3);
    expect(t.policy.state).toBe('closed');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = new Date('2026-12-04T12:03:00.000Z');
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Fri, 04 Dec 2026 12:03:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
