import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog, verifyAuditTrail } from '../../src/audit/index.js';

describe('verifyAuditTrail', () => {
  let dir: string;
  let path: string;
  let lines: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-verify-'));
    path = join(dir, 'audit.jsonl');
    const audit = await FileAuditLog.open(path);
    for (let n = 1; n <= 200; n++) {
      await audit.append({
        actor: 'ana',
        surface: 'slack',
        channel: '#ops',
        action: 'command.budget',
        args: { n },
        outcome: 'ok',
      });
    }
    await audit.close();
    lines = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rewrite = (edited: string[]) => writeFile(path, `${edited.join('\n')}\n`);

  it('passes an intact trail of 200 records', async () => {
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 200 });
  });

  it('catches an edited field', async () => {
    const record = JSON.parse(lines[56]!);
    record.outcome = 'denied';
    lines[56] = JSON.stringify(record);
    await rewrite(lines);

    expect(await verifyAuditTrail(path)).toEqual({
      ok: false,
      records: 56,
      badSeq: 57,
      problem: 'seq 57: hash does not match its content (edited)',
    });
  });

  it('catches a deleted record', async () => {
    lines.splice(99, 1);
    await rewrite(lines);

    expect(await verifyAuditTrail(path)).toMatchObject({
      ok: false,
      badSeq: 100,
      problem: expect.stringContaining('found seq 101'),
    });
  });

  it('catches two swapped records', async () => {
    [lines[120], lines[121]] = [lines[121]!, lines[120]!];
    await rewrite(lines);

    expect(await verifyAuditTrail(path)).toMatchObject({ ok: false, records: 120, badSeq: 121 });
  });

  it('catches swapped records even when their seq fields were swapped back', async () => {
    const first = JSON.parse(lines[120]!);
    const second = JSON.parse(lines[121]!);
    lines[120] = JSON.stringify({ ...second, seq: 121 });
    lines[121] = JSON.stringify({ ...first, seq: 122 });
    await rewrite(lines);

    expect(await verifyAuditTrail(path)).toMatchObject({ ok: false, badSeq: 121 });
  });

  it('catches a tail cut mid-line', async () => {
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length - 40));

    expect(await verifyAuditTrail(path)).toEqual({
      ok: false,
      records: 199,
      badSeq: 200,
      problem: 'seq 200: the last line is incomplete (truncated tail)',
      tornTail: true,
    });
  });

  it('catches a cleanly removed last record through the head file', async () => {
    await rewrite(lines.slice(0, 199));

    expect(await verifyAuditTrail(path)).toEqual({
      ok: false,
      records: 199,
      badSeq: 200,
      problem: 'records after seq 199 are missing (head says 200)',
    });
  });

  it('accepts a head that is behind the trail', async () => {
    const record = JSON.parse(lines[149]!);
    await writeFile(`${path}.head`, JSON.stringify({ seq: record.seq, hash: record.hash }));

    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 200 });
  });

  it('reports a missing trail', async () => {
    expect(await verifyAuditTrail(join(dir, 'nope.jsonl'))).toMatchObject({ ok: false, records: 0 });
  });
});
