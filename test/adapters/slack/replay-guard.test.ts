// The request guard and the store-backed record of accepted signatures, as several replicas share it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SeenLedger, SlackRequestGuard } from '../../../adapters/slack/index.js';
import { fixedClock, silentLogger } from '../../../src/core/index.js';
import { LowdbStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/store.js';
import { fixture, slackSignature } from './harness.js';

describe('Slack request guard', () => {
  let dir: string;
  let store: LowdbStore;
  const clock = fixedClock('2026-11-26T09:00:00Z');
  const now = () => Math.floor(clock.now().getTime() / 1000);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-replay-'));
    store = await LowdbStore.open(dir, { clock });
    clock.set('2026-11-26T09:00:00Z');
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function replica(shared: Store = store) {
    const replays = new SeenLedger({
      store: shared,
      collection: 'slack_replay',
      windowSeconds: 360,
      clock,
      logger: silentLogger(),
    });
    return {
      replays,
      guard: new SlackRequestGuard({ signingSecret: 'shh', clock, replays, windowSeconds: 300 }),
    };
  }

  const request = (body: string, ts = now()) => ({
    headers: slackSignature(body, ts, 'shh'),
    body: Buffer.from(body),
  });

  /** A verdict with the shared record's answer awaited, for comparing. */
  async function settled(verdict: ReturnType<SlackRequestGuard['check']>) {
    return verdict.ok ? { ok: true, recorded: await verdict.recorded } : verdict;
  }

  it("accepts Slack's documented example at its own time, and refuses it the second time", async () => {
    const example = fixture<{ signingSecret: string; timestamp: string; body: string; signature: string }>(
      'signed-request.json',
    );
    clock.set(new Date(Number(example.timestamp) * 1000 + 10_000));
    const replays = new SeenLedger({
      store,
      collection: 'slack_replay',
      windowSeconds: 360,
      clock,
      logger: silentLogger(),
    });
    const guard = new SlackRequestGuard({
      signingSecret: example.signingSecret,
      clock,
      replays,
      windowSeconds: 300,
    });
    const headers = {
      'x-slack-signature': example.signature,
      'x-slack-request-timestamp': example.timestamp,
    };
    expect(await settled(guard.check(headers, Buffer.from(example.body)))).toEqual({
      ok: true,
      recorded: 'first',
    });
    expect(guard.check(headers, Buffer.from(example.body))).toEqual({
      ok: false,
      status: 401,
      reason: 'replay of a request already accepted',
    });
  });

  it('tells another replica (or this one after a restart) that a request was already accepted', async () => {
    const a = replica();
    const b = replica();
    const { headers, body } = request('command=%2Fsre&text=runbook+run+restart');
    expect(await settled(a.guard.check(headers, body))).toEqual({ ok: true, recorded: 'first' });
    // B has not seen it in memory, so only the shared record can stop it from being acted on.
    expect(await settled(b.guard.check(headers, body))).toEqual({ ok: true, recorded: 'replay' });
  });

  it('lets exactly one of identical requests arriving together through', async () => {
    const { guard } = replica();
    const { headers, body } = request('text=change+approve+CR-12');
    const verdicts = await Promise.all([1, 2, 3].map(() => settled(guard.check(headers, body))));
    expect(verdicts.filter((v) => v.ok)).toEqual([{ ok: true, recorded: 'first' }]);
  });

  it('shares one store write among requests that arrive together', async () => {
    let writes = 0;
    const counting: Store = Object.assign(Object.create(store) as Store, {
      insertNew: (...args: Parameters<Store['insertNew']>) => {
        writes++;
        return store.insertNew(...args);
      },
    });
    const { guard } = replica(counting);
    const verdicts = await Promise.all(
      Array.from({ length: 100 }, (_, i) => request(`text=ping&trigger_id=${i}`)).map((r) =>
        settled(guard.check(r.headers, r.body)),
      ),
    );
    expect(verdicts.every((v) => v.ok && v.recorded === 'first')).toBe(true);
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('keeps each signature until its timestamp is outside the window, then the sweep deletes it', async () => {
    const { guard, replays } = replica();
    const { headers, body } = request('text=ping');
    expect(await settled(guard.check(headers, body))).toEqual({ ok: true, recorded: 'first' });
    await replays.idle();
    expect(await store.deleteExpired(clock.now(), 100)).toBe(0);
    clock.set(new Date(clock.now().getTime() + 10 * 60_000));
    const later = request('text=pong');
    expect(await settled(guard.check(later.headers, later.body))).toEqual({ ok: true, recorded: 'first' });
    await replays.idle();
    // The old signature is past its window (360 s after its timestamp); the new one is not.
    expect(await store.deleteExpired(clock.now(), 100)).toBe(1);
    expect((await store.list('slack_replay')).map((record) => record.id)).toEqual([
      later.headers['x-slack-signature'],
    ]);
    // The old request itself is refused by its timestamp now, not by memory.
    expect(guard.check(headers, body)).toMatchObject({ ok: false, reason: 'timestamp is 600s old' });
  });

  it('says "unavailable" rather than guess when the store cannot record a request', async () => {
    const broken: Store = Object.assign(Object.create(store) as Store, {
      insertNew: () => Promise.reject(new Error('disk full')),
    });
    const errors: unknown[] = [];
    const replays = new SeenLedger({
      store: broken,
      collection: 'slack_replay',
      windowSeconds: 360,
      clock,
      logger: silentLogger(),
    });
    const guard = new SlackRequestGuard({
      signingSecret: 'shh',
      clock,
      replays,
      windowSeconds: 300,
      onStoreError: (e) => errors.push(e),
    });
    const { headers, body } = request('text=ping');
    expect(await settled(guard.check(headers, body))).toEqual({ ok: true, recorded: 'unavailable' });
    expect(errors).toHaveLength(1);
  });

  it('names why a request was refused', async () => {
    const { guard } = replica();
    const body = Buffer.from('text=ping');
    expect(guard.check({}, body)).toMatchObject({
      reason: 'missing x-slack-signature or x-slack-request-timestamp',
    });
    expect(
      guard.check({ 'x-slack-signature': 'v0=00', 'x-slack-request-timestamp': 'soon' }, body),
    ).toMatchObject({
      reason: 'malformed x-slack-request-timestamp',
    });
    expect(guard.check(slackSignature('text=ping', now(), 'other'), body)).toMatchObject({
      reason: 'signature mismatch',
    });
    expect(guard.check(slackSignature('text=ping', now() + 61, 'shh'), body)).toMatchObject({
      reason: 'timestamp is 61s in the future',
    });
    expect(guard.check(slackSignature('text=ping', now() - 301, 'shh'), body)).toMatchObject({
      reason: 'timestamp is 301s old',
    });
  });
});
