import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEntry, type AuditRecord, FileAuditLog, verifyAuditTrail } from '../../src/audit/index.js';
import { fixedClock } from '../../src/core/clock.js';

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  actor: 'ana',
  surface: 'shell',
  channel: 'tty',
  action: 'command.deploys',
  args: {},
  outcome: 'ok',
  ...overrides,
});

const readRecords = async (path: string): Promise<AuditRecord[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);

describe('FileAuditLog', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-audit-'));
    path = join(dir, 'nested', 'audit.jsonl');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the trail with mode 0600 and chains the first record to 64 zeros', async () => {
    const audit = await FileAuditLog.open(path);
    const first = await audit.append(entry({ ref: 'r-1' }));
    await audit.close();

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(first).toMatchObject({ seq: 1, prevHash: '0'.repeat(64), ref: 'r-1' });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await readRecords(path)).toEqual([first]);
  });

  it('gives 500 concurrent appends seq 1..500 with no gaps and a valid chain', async () => {
    const audit = await FileAuditLog.open(path);
    const records = await Promise.all(
      Array.from({ length: 500 }, (_, n) => audit.append(entry({ args: { n } }))),
    );
    await audit.close();

    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 500 }, (_, n) => n + 1));
    expect((await readRecords(path)).map((record) => record.seq)).toEqual(
      records.map((record) => record.seq),
    );
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 500 });
  });

  it('continues the seq and the chain after a reopen', async () => {
    let audit = await FileAuditLog.open(path);
    for (let n = 0; n < 3; n++) await audit.append(entry());
    await audit.close();

    audit = await FileAuditLog.open(path);
    const next = await audit.append(entry({ action: 'command.budget' }));
    await audit.close();

    const records = await readRecords(path);
    expect(next.seq).toBe(4);
    expect(next.prevHash).toBe(records[2]!.hash);
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 4 });
  });

  it('recovers the tail when the last record is longer than the read window', async () => {
    let audit = await FileAuditLog.open(path);
    await audit.append(entry());
    const long = await audit.append(entry({ args: { note: 'x'.repeat(50_000) } }));
    await audit.close();

    audit = await FileAuditLog.open(path);
    const next = await audit.append(entry());
    await audit.close();

    expect(next).toMatchObject({ seq: 3, prevHash: long.hash });
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 3 });
  });

  it('redacts secrets in args before they reach the disk', async () => {
    const audit = await FileAuditLog.open(path, { secrets: ['hunter2-prod-db'] });
    const record = await audit.append(
      entry({
        args: { token: 'plain-value', note: 'rotated hunter2-prod-db', header: 'Bearer abcdefghijkl' },
      }),
    );
    await audit.close();

    const onDisk = await readFile(path, 'utf8');
    expect(onDisk).not.toContain('plain-value');
    expect(onDisk).not.toContain('hunter2-prod-db');
    expect(onDisk).not.toContain('abcdefghijkl');
    expect(record.args).toEqual({ token: '[redacted]', note: 'rotated [redacted]', header: '[redacted]' });
    expect(await verifyAuditTrail(path)).toMatchObject({ ok: true });
  });

  it('refuses to open a trail whose last line was cut mid-write, and leaves it as it is', async () => {
    const audit = await FileAuditLog.open(path);
    for (let n = 0; n < 5; n++) await audit.append(entry());
    await audit.close();
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length - 30));
    const before = await readFile(path);

    await expect(FileAuditLog.open(path)).rejects.toMatchObject({
      code: 'millwright_audit_broken',
      message: expect.stringMatching(/torn line \(seq 5 was cut short/),
      hint: expect.stringContaining('millwright audit repair'),
    });
    expect(await readFile(path)).toEqual(before);
  });

  it('refuses to continue a trail whose last records were removed cleanly', async () => {
    const audit = await FileAuditLog.open(path);
    for (let n = 0; n < 5; n++) await audit.append(entry());
    await audit.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n`);

    await expect(FileAuditLog.open(path)).rejects.toMatchObject({
      code: 'millwright_audit_broken',
      message: expect.stringContaining('records after seq 3 are missing'),
    });
  });

  describe('recent', () => {
    it('lists newest first, filtered by actor and time, reading only what it needs', async () => {
      const clock = fixedClock('2025-03-01T10:00:00Z');
      const audit = await FileAuditLog.open(path, { clock });
      for (let minute = 0; minute < 30; minute++) {
        clock.set(new Date(Date.parse('2025-03-01T10:00:00Z') + minute * 60_000));
        await audit.append(entry({ actor: minute % 2 === 0 ? 'ana' : 'bo', args: { minute } }));
      }

      const latest = await audit.recent();
      const bo = await audit.recent({ actor: 'bo', limit: 3 });
      const lastFive = await audit.recent({ since: new Date('2025-03-01T10:25:00Z') });
      await audit.close();

      expect(latest.map((record) => record.seq)).toEqual(Array.from({ length: 20 }, (_, n) => 30 - n));
      expect(bo.map((record) => record.args.minute)).toEqual([29, 27, 25]);
      expect(lastFive.map((record) => record.args.minute)).toEqual([29, 28, 27, 26, 25]);
    });

    it('returns nothing on an empty trail', async () => {
      const audit = await FileAuditLog.open(path);
      expect(await audit.recent()).toEqual([]);
      await audit.close();
    });
  });

  it('rejects appends after close', async () => {
    const audit = await FileAuditLog.open(path);
    await audit.close();
    await expect(audit.append(entry())).rejects.toMatchObject({ code: 'millwright_audit_unavailable' });
  });
});
