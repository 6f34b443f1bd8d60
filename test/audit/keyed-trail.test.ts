// Someone who can write the store directory (but holds neither the key nor the checkpoint file)
// tries to change the trail; `audit verify` with the key names the first bad seq.
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAuditHead } from '../../src/audit/head.js';
import {
  type AuditRecord,
  type AuditSealing,
  auditSealingFrom,
  FileAuditLog,
  hashAuditRecord,
  macAuditRecord,
  verifyAuditTrail,
} from '../../src/audit/index.js';

const K1 = 'k1-secret-0123456789abcdef';
const K2 = 'k2-secret-fedcba9876543210';

describe('a keyed, checkpointed audit trail', () => {
  let dir: string;
  let store: string;
  let trail: string;
  let anchorFile: string;

  const sealing = (keys: Record<string, string>, activeKey?: string, every = 100): AuditSealing =>
    auditSealingFrom(
      {
        path: trail,
        keys,
        ...(activeKey === undefined ? {} : { activeKey }),
        checkpoints: { file: anchorFile, every },
      },
      store,
    );

  const append = async (options: AuditSealing | undefined, count: number, actor = 'ana') => {
    const audit = await FileAuditLog.open(trail, options === undefined ? {} : { sealing: options });
    for (let n = 1; n <= count; n++) {
      await audit.append({
        actor,
        surface: 'slack',
        channel: '#ops',
        action: 'command.budget',
        args: { n },
        outcome: 'ok',
      });
    }
    await audit.close();
  };

  const records = async (): Promise<AuditRecord[]> =>
    (await readFile(trail, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditRecord);

  const rewrite = (edited: AuditRecord[]) =>
    writeFile(trail, edited.map((record) => `${JSON.stringify(record)}\n`).join(''));

  /** What an attacker with write access can do: change seq `at`, then reseal it and every later record. */
  const forge = (all: AuditRecord[], at: number, reseal: (content: Omit<AuditRecord, 'hash'>) => string) => {
    let prevHash = all[at - 2]?.hash ?? '0'.repeat(64);
    return all.map((record) => {
      if (record.seq < at) return record;
      const { hash: _old, ...content } = record;
      const changed = { ...content, prevHash, ...(record.seq === at ? { actor: 'mallory' } : {}) };
      const hash = reseal(changed);
      prevHash = hash;
      return { ...changed, hash };
    });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-keyed-'));
    store = join(dir, 'store');
    trail = join(store, 'audit.jsonl');
    await mkdir(join(dir, 'anchor'));
    anchorFile = join(dir, 'anchor', 'audit.checkpoints');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies an intact keyed trail against its latest checkpoint, written every 100 records and on close', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 250);

    const all = await records();
    expect(all.every((record) => record.keyId === 'k1')).toBe(true);
    const anchors = (await readFile(anchorFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    // At open (the empty trail), after crossing 100 and 200, and on close.
    expect(anchors.map((anchor: { seq: number }) => anchor.seq)).toEqual([0, 100, 200, 250]);
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toEqual({
      ok: true,
      records: 250,
      keyed: { firstSeq: 1, keyIds: ['k1'] },
      checkpoint: { seq: 250, ts: expect.any(String), keyId: 'k1' },
    });
  });

  it('catches seq 138 rewritten with the unkeyed hash and every later hash and the head recomputed', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 200);
    const forged = forge(await records(), 138, (content) => hashAuditRecord(content));
    await rewrite(forged);
    await writeAuditHead(trail, { seq: 200, hash: forged[199]!.hash });

    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toEqual({
      ok: false,
      records: 137,
      badSeq: 138,
      problem: 'seq 138: HMAC under key "k1" does not match its content (edited, or sealed with another key)',
    });
  });

  it('catches the same forgery when the key ids are dropped to pass as an old unkeyed trail', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 200);
    const forged = forge(await records(), 138, ({ keyId: _k, ...content }) => hashAuditRecord(content)).map(
      (record) => {
        if (record.seq < 138) return record;
        const { keyId: _dropped, ...unkeyed } = record;
        return unkeyed;
      },
    );
    await rewrite(forged);
    await writeAuditHead(trail, { seq: 200, hash: forged[199]!.hash });

    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: false,
      badSeq: 138,
      problem: expect.stringContaining('sealed without a key after keyed records from seq 1'),
    });
  });

  it('catches a rewrite sealed with a wrong key under the right id, and one naming an unknown key', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 200);
    const original = await records();
    await rewrite(forge(original, 57, (content) => macAuditRecord(content, 'a-guessed-key-0123456789')));
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({ ok: false, badSeq: 57 });

    await rewrite(
      forge(original, 57, (content) =>
        macAuditRecord({ ...content, keyId: 'k9' }, 'attacker-key-0123456789'),
      ).map((record) => (record.seq === 57 ? { ...record, keyId: 'k9' } : record)),
    );
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: false,
      badSeq: 57,
      problem:
        'seq 57: sealed with key "k9", which is not configured (a forged record, or audit.keys lacks that key)',
    });
  });

  it('catches a cut tail with the .head file deleted through the checkpoint, and refuses to append to it', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 250);
    await rewrite((await records()).slice(0, 180));
    await unlink(`${trail}.head`);

    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toEqual({
      ok: false,
      records: 180,
      badSeq: 181,
      problem: expect.stringMatching(/^records after seq 180 are missing \(the checkpoint of .* says 250\)$/),
    });
    await expect(FileAuditLog.open(trail, { sealing: sealing({ k1: K1 }, 'k1') })).rejects.toMatchObject({
      code: 'millwright_audit_broken',
      message: expect.stringContaining('records after seq 180 are missing'),
    });
  });

  it('catches a record at a checkpoint seq replaced by a whole rewrite of the trail', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 150);
    // The attacker somehow re-seals everything after seq 99 under the right key: only the anchor knows.
    const forged = forge(await records(), 100, (content) => macAuditRecord(content, K1));
    await rewrite(forged);
    await writeAuditHead(trail, { seq: 150, hash: forged[149]!.hash });

    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: false,
      badSeq: 100,
      problem: expect.stringContaining('seq 100: does not match the checkpoint of'),
    });
  });

  it('reports a missing, unreadable or forged checkpoint file, and one left behind the trail', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 120);
    const anchors = await readFile(anchorFile, 'utf8');

    await unlink(anchorFile);
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toEqual({
      ok: false,
      records: 0,
      problem: expect.stringMatching(
        /^no checkpoints in .*audit\.checkpoints, though audit\.checkpoints is configured/,
      ),
    });

    await writeFile(anchorFile, 'not json\n');
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: false,
      problem: expect.stringContaining('holds an unreadable line'),
    });

    const lines = anchors.trim().split('\n');
    const last = JSON.parse(lines.at(-1)!);
    await writeFile(
      anchorFile,
      `${[...lines.slice(0, -1), JSON.stringify({ ...last, seq: 90 })].join('\n')}\n`,
    );
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: false,
      problem: expect.stringContaining('has a bad signature'),
    });

    // An old copy of the file: the trail goes on past it. It verifies, and says how far it is anchored.
    await writeFile(anchorFile, `${lines[0]}\n${lines[1]}\n`);
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: true,
      records: 120,
      checkpoint: { seq: 100 },
    });
  });

  it('verifies across a key rotation from k1 to k2, and needs both keys to', async () => {
    await append(sealing({ k1: K1 }, 'k1'), 150);
    await append(sealing({ k1: K1, k2: K2 }, 'k2'), 100);

    const all = await records();
    expect(all[149]).toMatchObject({ seq: 150, keyId: 'k1' });
    expect(all[150]).toMatchObject({ seq: 151, keyId: 'k2', prevHash: all[149]!.hash });
    expect(await verifyAuditTrail(trail, sealing({ k1: K1, k2: K2 }, 'k2'))).toMatchObject({
      ok: true,
      records: 250,
      keyed: { firstSeq: 1, keyIds: ['k1', 'k2'] },
      checkpoint: { seq: 250, keyId: 'k2' },
    });
    expect(await verifyAuditTrail(trail, sealing({ k2: K2 }, 'k2'))).toMatchObject({
      ok: false,
      records: 0,
      problem: expect.stringContaining('signed with key "k1", which is not configured'),
    });
  });

  it('verifies a trail written before keys as unkeyed, and seals what is appended after the key is set', async () => {
    await append(undefined, 40);
    expect(await verifyAuditTrail(trail)).toEqual({ ok: true, records: 40 });

    await append(sealing({ k1: K1 }, 'k1'), 10);
    const all = await records();
    expect(all[39]!.keyId).toBeUndefined();
    expect(all[40]).toMatchObject({ seq: 41, keyId: 'k1' });
    expect(await verifyAuditTrail(trail, sealing({ k1: K1 }, 'k1'))).toMatchObject({
      ok: true,
      records: 50,
      keyed: { firstSeq: 41, keyIds: ['k1'] },
    });
  });

  it('refuses a checkpoint file inside the store its writer could rewrite', () => {
    expect(() =>
      auditSealingFrom(
        {
          path: trail,
          keys: { k1: K1 },
          activeKey: 'k1',
          checkpoints: { file: join(store, 'cp'), every: 100 },
        },
        store,
      ),
    ).toThrow(expect.objectContaining({ code: 'millwright_config_invalid' }));
  });
});
