// The Store contract as one suite, run against every implementation (the embedded lowdb store and
// PostgreSQL): what a feature may rely on whichever store the config names.
import type { Clock } from '../../src/core/clock.js';
import { fixedClock } from '../../src/core/clock.js';
import type { Store, StoredRecord } from '../../src/store/index.js';

interface ChangeRequest extends StoredRecord {
  service: string;
  state: 'requested' | 'approved' | 'denied';
}

interface Counter extends StoredRecord {
  n: number;
}

export type OpenStore = (options?: { clock?: Clock; scrub?: <T>(record: T) => T }) => Promise<Store>;

/** Registers the contract's tests in the calling `describe`; `open` gives a store on an empty backing. */
export function storeContract(open: OpenStore): void {
  it('puts, gets, lists, updates and deletes records', async () => {
    const store = await open();
    await store.put<ChangeRequest>('changes', { id: 'CR-1', service: 'checkout', state: 'requested' });
    await store.put<ChangeRequest>('changes', { id: 'CR-2', service: 'search', state: 'requested' });

    expect(await store.get('changes', 'CR-1')).toEqual({
      id: 'CR-1',
      service: 'checkout',
      state: 'requested',
    });
    expect(await store.get('changes', 'CR-404')).toBeUndefined();
    expect(await store.get('incidents', 'INC-1')).toBeUndefined();

    const approved = await store.update<ChangeRequest>(
      'changes',
      'CR-2',
      (cr) => cr && { ...cr, state: 'approved' },
    );
    expect(approved?.state).toBe('approved');
    expect(
      (await store.list<ChangeRequest>('changes', (cr) => cr.state === 'approved')).map((cr) => cr.id),
    ).toEqual(['CR-2']);

    expect(await store.delete('changes', 'CR-1')).toBe(true);
    expect(await store.delete('changes', 'CR-1')).toBe(false);
    expect((await store.list('changes')).map((cr) => cr.id)).toEqual(['CR-2']);

    await store.update('changes', 'CR-2', () => undefined);
    expect(await store.list('changes')).toEqual([]);
    await store.close();
  });

  it('lists records in the order they were first written, an update keeping its place', async () => {
    const store = await open();
    for (const id of ['b', 'a', 'c']) await store.put('things', { id, v: 1 });
    await store.update<Counter>('things', 'b', (thing) => thing && { ...thing, v: 2 });
    await store.put('things', { id: 'a', v: 3 });
    expect(await store.list('things')).toEqual([
      { id: 'b', v: 2 },
      { id: 'a', v: 3 },
      { id: 'c', v: 1 },
    ]);
    await store.close();
  });

  it('hands out copies, so only the store methods change what is stored', async () => {
    const store = await open();
    const record = { id: 'CR-1', service: 'checkout', state: 'requested' as const };
    await store.put<ChangeRequest>('changes', record);
    record.service = 'mutated';
    const read = await store.get<ChangeRequest>('changes', 'CR-1');
    read!.service = 'mutated too';

    expect((await store.get<ChangeRequest>('changes', 'CR-1'))?.service).toBe('checkout');
    await store.close();
  });

  it('refuses a record without an id, and an update that changes the id', async () => {
    const store = await open();
    await expect(store.put('changes', { id: '' })).rejects.toMatchObject({ code: 'millwright_bad_argument' });
    await expect(store.update('changes', 'CR-1', () => ({ id: 'CR-2' }))).rejects.toMatchObject({
      code: 'millwright_bad_argument',
    });
    expect(await store.list('changes')).toEqual([]);
    await store.close();
  });

  it('ends 200 concurrent increments of one counter at 200', async () => {
    const store = await open();
    await Promise.all(
      Array.from({ length: 200 }, () =>
        store.update<Counter>('counters', 'deploys', (counter) => ({
          id: 'deploys',
          n: (counter?.n ?? 0) + 1,
        })),
      ),
    );
    expect(await store.get<Counter>('counters', 'deploys')).toEqual({ id: 'deploys', n: 200 });
    await store.close();
  });

  it('keeps going after one update fails, and the failed one changed nothing', async () => {
    const store = await open();
    const failing = store.update('counters', 'x', () => {
      throw new Error('bad change');
    });
    const next = store.put('counters', { id: 'y', n: 1 });

    await expect(failing).rejects.toThrow('bad change');
    await next;
    expect(await store.list('counters')).toEqual([{ id: 'y', n: 1 }]);
    await store.close();
  });

  it('leases locks by owner and lets another owner take an expired one', async () => {
    const clock = fixedClock('2025-03-01T10:00:00Z');
    const store = await open({ clock });

    expect(await store.tryLock('deploy:checkout', 'ana', 60_000)).toBe(true);
    expect(await store.tryLock('deploy:checkout', 'bo', 60_000)).toBe(false);
    expect(await store.tryLock('deploy:checkout', 'ana', 60_000)).toBe(true);

    clock.set('2025-03-01T10:00:59Z');
    expect(await store.tryLock('deploy:checkout', 'bo', 60_000)).toBe(false);
    clock.set('2025-03-01T10:01:01Z');
    expect(await store.tryLock('deploy:checkout', 'bo', 60_000)).toBe(true);
    expect(await store.get('locks', 'deploy:checkout')).toMatchObject({
      owner: 'bo',
      expiresAt: '2025-03-01T10:02:01.000Z',
    });

    await store.unlock('deploy:checkout', 'ana');
    expect(await store.tryLock('deploy:checkout', 'ana', 60_000)).toBe(false);
    await store.unlock('deploy:checkout', 'bo');
    expect(await store.tryLock('deploy:checkout', 'ana', 60_000)).toBe(true);
    await store.close();
  });

  it('inserts only the records it does not hold yet, and one of racing inserts of an id wins', async () => {
    const store = await open();
    await store.put('claims', { id: 'taken', by: 'first' });
    const inserted = await store.insertNew('claims', [
      { id: 'taken', by: 'second' },
      { id: 'new-1', by: 'second' },
      { id: 'new-1', by: 'third' },
      { id: 'new-2', by: 'second' },
    ]);
    expect([...inserted].sort()).toEqual(['new-1', 'new-2']);
    expect(await store.get('claims', 'taken')).toEqual({ id: 'taken', by: 'first' });
    expect(await store.get('claims', 'new-1')).toEqual({ id: 'new-1', by: 'second' });
    const racing = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.insertNew('claims', [{ id: 'race', by: `caller-${i}` }])),
    );
    expect(racing.filter((ids) => ids.has('race'))).toHaveLength(1);
    await expect(store.insertNew('claims', [{ id: '' }])).rejects.toMatchObject({
      code: 'millwright_bad_argument',
    });
    await store.close();
  });

  it('deletes records past their retainUntil, a batch at a time, and keeps every other record', async () => {
    const clock = fixedClock('2025-03-01T10:00:00Z');
    const store = await open({ clock });
    await store.put('changes', { id: 'CR-1', expiresAt: '2025-03-01T09:00:00Z' });
    await store.insertNew('slack_replay', [
      { id: 'a', retainUntil: '2025-03-01T09:59:00.000Z' },
      { id: 'b', retainUntil: '2025-03-01T09:59:30.000Z' },
      { id: 'c', retainUntil: '2025-03-01T10:05:00.000Z' },
    ]);
    await store.put('claims', { id: 'old', retainUntil: '2025-03-01T09:00:00.000Z' });
    expect(await store.tryLock('job', 'ana', 60_000)).toBe(true);

    expect(await store.deleteExpired(clock.now(), 2)).toBe(2);
    expect(await store.deleteExpired(clock.now(), 2)).toBe(1);
    expect(await store.deleteExpired(clock.now(), 2)).toBe(0);
    expect((await store.list('slack_replay')).map((record) => record.id)).toEqual(['c']);
    expect(await store.list('claims')).toEqual([]);
    // A change's own expiresAt is not a retention: only retainUntil is.
    expect(await store.get('changes', 'CR-1')).toBeDefined();
    // A live lease is kept; an expired one goes, and is free either way.
    expect(await store.get('locks', 'job')).toMatchObject({ owner: 'ana' });
    clock.set('2025-03-01T10:01:01Z');
    expect(await store.deleteExpired(clock.now(), 10)).toBe(1);
    expect(await store.get('locks', 'job')).toBeUndefined();
    expect(await store.tryLock('job', 'bo', 60_000)).toBe(true);
    await store.close();
  });

  it('keeps what the scrub takes out of every record it writes', async () => {
    const store = await open({
      scrub: (record) => JSON.parse(JSON.stringify(record).replaceAll('hunter2hunter2', '[redacted]')),
    });
    await store.put('incidents', { id: 'INC-1', note: 'token hunter2hunter2 leaked' });
    await store.update('incidents', 'INC-2', () => ({ id: 'INC-2', note: 'again hunter2hunter2' }));
    expect(await store.list('incidents')).toEqual([
      { id: 'INC-1', note: 'token [redacted] leaked' },
      { id: 'INC-2', note: 'again [redacted]' },
    ]);
    await store.close();
  });

  it('rejects work after close', async () => {
    const store = await open();
    await store.close();
    await expect(store.get('changes', 'CR-1')).rejects.toMatchObject({
      code: 'millwright_store_unavailable',
    });
  });
}
