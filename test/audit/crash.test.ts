import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileAuditLog, verifyAuditTrail } from '../../src/audit/index.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const burst = fileURLToPath(new URL('./append-burst.ts', import.meta.url));

describe('audit trail under SIGKILL', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'millwright-crash-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every record it acknowledged, and the trail still verifies', async () => {
    const path = join(dir, 'audit.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', burst, path], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const acknowledged: number[] = [];
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = pending + chunk.toString();
      const complete = text.split('\n');
      pending = complete.pop() ?? '';
      acknowledged.push(...complete.map(Number));
      if (acknowledged.length >= 400) child.kill('SIGKILL');
    });

    const signal = await exited;
    expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    expect(acknowledged.length).toBeGreaterThanOrEqual(400);

    const onDisk = new Set(
      (await readFile(path, 'utf8'))
        .split('\n')
        .slice(0, -1) // whatever follows the last newline is '' or a line cut short
        .map((line) => (JSON.parse(line) as { seq: number }).seq),
    );
    expect(acknowledged.filter((seq) => !onDisk.has(seq))).toEqual([]);

    const result = await verifyAuditTrail(path);
    if (!result.ok) {
      // Each batch is one write(), but Linux may still cut a multi-page write short on SIGKILL.
      // That can only touch a batch nobody was told about, so it must lie past every acknowledged seq.
      expect(result.problem).toContain('truncated tail');
      expect(result.badSeq).toBeGreaterThan(Math.max(...acknowledged));
      return;
    }
    const audit = await FileAuditLog.open(path);
    const next = await audit.append({
      actor: 'ana',
      surface: 'shell',
      channel: 'tty',
      action: 'audit',
      args: {},
      outcome: 'ok',
    });
    await audit.close();
    expect(next.seq).toBe(result.records + 1);
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: result.records + 1 });
  });
});
