import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { buildRuntime, loadConfig } from '../../src/app.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { LowdbStore, type StoredRecord } from '../../src/store/index.js';
import { storeContract } from './store-contract.js';

interface Counter extends StoredRecord {
  n: number;
}

describe('LowdbStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-store-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('the Store contract', () => {
    storeContract((options) => LowdbStore.open(dir, options));
  });

  it('keeps 200 concurrent increments across a reopen', async () => {
    let store = await LowdbStore.open(dir);
    await Promise.all(
      Array.from({ length: 200 }, () =>
        store.update<Counter>('counters', 'deploys', (counter) => ({
          id: 'deploys',
          n: (counter?.n ?? 0) + 1,
        })),
      ),
    );
    await store.close();
    store = await LowdbStore.open(dir);
    expect(await store.get<Counter>('counters', 'deploys')).toEqual({ id: 'deploys', n: 200 });
    await store.close();
  });

  it('a failed write fails every change it and the next write would have carried, and memory goes back to the disk', async () => {
    const store = await LowdbStore.open(dir);
    await store.put('things', { id: 'kept', n: 1 });
    // The folder goes away under the store: the next file writes cannot even create their temp file.
    await rm(dir, { recursive: true, force: true });
    const changes = [
      store.put('things', { id: 'lost-1', n: 2 }),
      store.update<Counter>('things', 'kept', (thing) => ({ id: 'kept', n: (thing?.n ?? 0) + 10 })),
      store.delete('things', 'kept'),
    ];
    const outcomes = await Promise.allSettled(changes);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'millwright_store_unavailable',
      message: expect.stringMatching(/^could not save things\/lost-1: /),
    });
    // What the failed writes carried is gone from memory too: the store is what the disk last held.
    expect(await store.get('things', 'lost-1')).toBeUndefined();
    expect(await store.get<Counter>('things', 'kept')).toEqual({ id: 'kept', n: 1 });
    // Once the disk is back, changes go through again and survive a reopen.
    await mkdir(dir, { recursive: true });
    await store.put('things', { id: 'later', n: 3 });
    await store.close();
    const reopened = await LowdbStore.open(dir);
    expect((await reopened.list('things')).map((thing) => thing.id)).toEqual(['kept', 'later']);
    await reopened.close();
  });

  it('keeps records across a reopen, in a version 1 store.json with no temp files left', async () => {
    let store = await LowdbStore.open(dir);
    await store.put('incidents', { id: 'INC-7', title: 'checkout 5xx' });
    await store.close();

    store = await LowdbStore.open(dir);
    expect(await store.get('incidents', 'INC-7')).toEqual({ id: 'INC-7', title: 'checkout 5xx' });
    await store.close();

    expect(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'))).toEqual({
      version: 1,
      collections: { incidents: { 'INC-7': { id: 'INC-7', title: 'checkout 5xx' } } },
    });
    expect(await readdir(dir)).toEqual(['store.json']);
  });

  it('starts empty when there is no store.json yet, creating the directory', async () => {
    const store = await LowdbStore.open(join(dir, 'fresh', '.millwright'));
    expect(await store.list('changes')).toEqual([]);
    await store.close();
  });

  it.each([
    ['is not JSON', '{"version": 1, "collections": {"changes": {'],
    ['is JSON of the wrong shape', '[1, 2, 3]\n'],
  ])('refuses to start on a store.json that %s and leaves the file untouched', async (_, content) => {
    const file = join(dir, 'store.json');
    await writeFile(file, content);

    await expect(LowdbStore.open(dir)).rejects.toMatchObject({
      code: 'millwright_store_corrupt',
      message: expect.stringContaining(file),
      hint: expect.stringContaining('restore'),
    });
    expect(await readFile(file, 'utf8')).toBe(content);
    expect(await readdir(dir)).toEqual(['store.json']);
  });
});

describe('what the store trusts when it opens', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-store-open-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const storeFile = (collections: Record<string, Record<string, unknown>>) =>
    writeFile(join(dir, 'store.json'), JSON.stringify({ version: 1, collections }));
  const spentSchema = z.looseObject({ id: z.string(), by: z.string(), expiresAt: z.iso.datetime() });

  it('a record of the wrong shape stops the open, naming the file, collection and id, never the value', async () => {
    await storeFile({
      spent_actions: {
        n1: { id: 'n1', by: 'ana', expiresAt: '2026-12-01T00:00:00.000Z' },
        n2: { id: 'n2', by: 'xoxb-secret-token', expiresAt: 17 },
      },
    });

    const opened = LowdbStore.open(dir, { schemas: { spent_actions: spentSchema } });

    await expect(opened).rejects.toMatchObject({
      code: 'millwright_store_corrupt',
      message: `the store file ${join(dir, 'store.json')} has a damaged record (collection "spent_actions", id "n2"): expiresAt: expected string`,
      hint: expect.stringContaining('fix or remove that record'),
    });
    await expect(opened).rejects.not.toMatchObject({ message: expect.stringContaining('xoxb') });
  });

  it('a record whose id is not its key, or that is not an object, is damaged in any collection', async () => {
    await storeFile({ changes: { 'CR-1': { id: 'CR-2' } } });
    await expect(LowdbStore.open(dir)).rejects.toMatchObject({
      message: expect.stringContaining(
        '(collection "changes", id "CR-1"): has an id field that does not match its key',
      ),
    });
    await storeFile({ changes: { 'CR-1': 'CR-1' } });
    await expect(LowdbStore.open(dir)).rejects.toMatchObject({
      message: expect.stringContaining('(collection "changes", id "CR-1"): is not an object'),
    });
  });

  it('removes temp files a crash left behind, but not one a write may be using right now', async () => {
    const now = new Date('2026-12-04T12:00:00Z');
    const orphan = join(dir, '.store.json.0a1b2c3d4e5f.tmp');
    const fresh = join(dir, '.store.json.ffeeddccbbaa.tmp');
    await writeFile(orphan, '{"version":1');
    await writeFile(fresh, '{"version":1');
    await utimes(orphan, new Date(now.getTime() - 3_600_000), new Date(now.getTime() - 3_600_000));
    await utimes(fresh, now, now);

    const store = await LowdbStore.open(dir, { clock: fixedClock(now.toISOString()) });
    await store.close();

    expect((await readdir(dir)).sort()).toEqual(['.store.json.ffeeddccbbaa.tmp']);
  });
});

describe('start-up with a damaged record', () => {
  it('stops with the file, collection and id, from the schema the owning module declares', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'millwright-store-start-'));
    try {
      await writeFile(join(dir, 'millwright.yml'), 'store:\n  path: ./data\n');
      await mkdir(join(dir, 'data'));
      await writeFile(
        join(dir, 'data', 'store.json'),
        JSON.stringify({
          version: 1,
          collections: { spent_actions: { n1: { id: 'n1', by: 'ana', at: 'yesterday' } } },
        }),
      );
      const loaded = await loadConfig(join(dir, 'millwright.yml'), { env: {} });

      await expect(buildRuntime(loaded, { logger: silentLogger(), mode: 'server' })).rejects.toMatchObject({
        code: 'millwright_store_corrupt',
        message: expect.stringContaining('has a damaged record (collection "spent_actions", id "n1"): at:'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
