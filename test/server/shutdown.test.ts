// Shutdown as a load balancer and an on-call engineer see it, on the real process: SIGTERM while a
// runbook waits on an upstream that never answers.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { verifyAuditTrail } from '../../src/audit/index.js';
import { type HttpTargetDouble, startHttpTarget } from '../doubles/http-target.js';
import { BIN } from '../helpers/spawn.js';

const STUCK_RUNBOOK = `apiVersion: millwright/v1
kind: Runbook
metadata:
  name: purge-stuck
  description: Purges through a CDN API that never answers
spec:
  permissions:
    roles: [admin]
  confirm: false
  timeout: 5m
  steps:
    - uses: http.request
      with: { target: cdn, method: POST, path: /purge, body: { prefix: /static } }
`;

/** A Teams personal message as the Bot Framework posts it (test/fixtures/teams), with our text. */
async function teamsMessage(text: string): Promise<string> {
  const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'teams', 'personal-message.activity.json');
  return JSON.stringify({
    ...JSON.parse(await readFile(fixture, 'utf8')),
    text,
    serviceUrl: 'http://127.0.0.1:9/',
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('SIGTERM during a command stuck on an upstream', () => {
  let dir: string;
  let cdn: HttpTargetDouble;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-shutdown-'));
    cdn = await startHttpTarget();
    cdn.on('POST', '/purge', { hang: true });
    await mkdir(path.join(dir, 'runbooks'));
    await writeFile(path.join(dir, 'runbooks', 'purge-stuck.yml'), STUCK_RUNBOOK);
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await cdn.close();
    await rm(dir, { recursive: true, force: true });
  });

  let stderrText = '';
  const stderrOf = () => stderrText;

  async function serve(
    server: string,
    extra = '',
  ): Promise<{ base: string; exited: Promise<number | null> }> {
    await writeFile(
      path.join(dir, 'millwright.yml'),
      `server:\n  host: 127.0.0.1\n  port: 0\n${server}store:\n  path: ./data\nrunbooks:\n  dir: ./runbooks\nhttp:\n  targets:\n    cdn: { baseUrl: "${cdn.url}/", timeout: 5m }\naccess:\n  defaultRoles: [admin]\n  roles:\n    admin: { allow: ["*"] }\n  subjects: {}\nteams:\n  appId: shutdown-test\n  allowUnauthenticated: true\n${extra}`,
    );
    const started = spawn(process.execPath, [BIN, 'serve', '--config', 'millwright.yml'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    const exited = once(started, 'exit').then(([code]) => code as number | null);
    let stdout = '';
    let stderr = '';
    stderrText = '';
    started.stderr.on('data', (chunk) => {
      stderr += chunk;
      stderrText += chunk;
    });
    const port = await new Promise<number>((resolve, reject) => {
      started.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /listening on [\d.]+:(\d+)/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      void exited.then(() => reject(new Error(`serve exited early: ${stderr}`)));
    });
    return { base: `http://127.0.0.1:${port}`, exited };
  }

  async function startStuckRunbook(base: string): Promise<void> {
    const posted = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await teamsMessage('runbook run purge-stuck'),
    });
    expect(posted.status).toBeLessThan(300);
    await until('the purge to reach the CDN', () => cdn.requests.length === 1);
  }

  async function trail(): Promise<Array<{ action: string; outcome: string; code?: string }>> {
    const text = await readFile(path.join(dir, 'data', 'audit.jsonl'), 'utf8');
    return text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  test('/readyz fails during the drain, the command is aborted and audited, and the process exits 0', async () => {
    const { base, exited } = await serve('  drain: 1s\n  shutdownGrace: 200ms\n  shutdownDeadline: 1m\n');
    await startStuckRunbook(base);

    child!.kill('SIGTERM');
    await until('/readyz to fail', async () => (await fetch(`${base}/readyz`)).status === 503);
    // Everything but readiness still serves while the load balancer notices.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // 0, not the 1 of the hard deadline: shutdown finished by itself.
    expect(await exited).toBe(0);
    const records = await trail();
    expect(records.map((record) => `${record.action} ${record.outcome}`)).toEqual([
      'runbook.run started',
      'executor.http.request started',
      'executor.http.request aborted',
      'runbook.run aborted',
      'command.runbook.run aborted',
    ]);
    expect(records.at(-1)?.code).toBe('millwright_aborted');
    expect(await verifyAuditTrail(path.join(dir, 'data', 'audit.jsonl'))).toMatchObject({
      ok: true,
      records: 5,
    });
  });

  test('a second SIGTERM cuts a long drain and grace short', async () => {
    const { base, exited } = await serve('  drain: 10m\n  shutdownGrace: 10m\n  shutdownDeadline: 20m\n');
    await startStuckRunbook(base);

    child!.kill('SIGTERM');
    await until('/readyz to fail', async () => (await fetch(`${base}/readyz`)).status === 503);
    child!.kill('SIGTERM');

    expect(await exited).toBe(0);
    expect((await trail()).map((record) => record.outcome)).toContain('aborted');
  });

  test('when shutdown itself hangs, the process still exits at server.shutdownDeadline, with 1', async () => {
    // A plugin whose close() never settles keeps runtime.close() waiting for ever.
    await writeFile(
      path.join(dir, 'stuck-close.mjs'),
      `export default function createExecutor() {
  return {
    metadata: () => ({
      name: 'stuck', version: '1.0.0', protocolVersion: 1, description: 'never closes',
      actions: { noop: { description: 'nothing', effect: 'read', dryRun: 'describe', input: { type: 'object', properties: {}, additionalProperties: false } } },
    }),
    execute: async () => ({ summary: 'ok', output: {} }),
    close: () => new Promise(() => {}),
  };
}
`,
    );
    const { exited } = await serve(
      '  drain: 0s\n  shutdownGrace: 100ms\n  shutdownDeadline: 1s\n',
      'executors:\n  - module: ./stuck-close.mjs\n',
    );

    child!.kill('SIGTERM');

    expect(await exited).toBe(1);
    expect(stderrOf()).toContain('shutdown did not finish by server.shutdownDeadline; exiting');
  });
});
