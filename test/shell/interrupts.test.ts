// The shell when it is cut short: a signal mid-runbook, a reader that goes away, escape sequences typed in.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { verifyAuditTrail } from '../../src/audit/index.js';
import { type HttpTargetDouble, startHttpTarget } from '../doubles/http-target.js';
import { BIN, runProcess } from '../helpers/spawn.js';

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

describe('the shell cut short', () => {
  let dir: string;
  let config: string;
  let cdn: HttpTargetDouble;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-shell-stop-'));
    cdn = await startHttpTarget();
    cdn.on('POST', '/purge', { hang: true });
    await mkdir(path.join(dir, 'runbooks'));
    await writeFile(path.join(dir, 'runbooks', 'purge-stuck.yml'), STUCK_RUNBOOK);
    config = path.join(dir, 'millwright.yml');
    await writeFile(
      config,
      `store:\n  path: ./data\nrunbooks:\n  dir: ./runbooks\nhttp:\n  targets:\n    cdn: { baseUrl: "${cdn.url}/", timeout: 5m }\naccess:\n  defaultRoles: [admin]\n  roles:\n    admin: { allow: ["*"] }\n  subjects: {}\n`,
    );
  });
  afterEach(async () => {
    await cdn.close();
    await rm(dir, { recursive: true, force: true });
  });

  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s mid-runbook aborts it, audits aborted and exits %i', async (signal, exitCode) => {
    const child = spawn(
      process.execPath,
      [BIN, 'shell', '--config', config, '--json', '-e', 'runbook run purge-stuck'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = once(child, 'exit');
    for (let attempt = 0; cdn.requests.length === 0; attempt++) {
      if (attempt > 600) throw new Error(`the purge never reached the CDN: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    child.kill(signal);

    expect((await exited)[0]).toBe(exitCode);
    expect(stderr).toBe('');
    const reply = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(reply).toMatchObject({ ok: false, error: { code: 'millwright_aborted' } });
    expect(reply.error.message).toContain(`interrupted (${signal})`);
    const trail = path.join(dir, 'data', 'audit.jsonl');
    const records = (await readFile(trail, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((record) => `${record.action} ${record.outcome}`)).toEqual([
      'runbook.run started',
      'executor.http.request started',
      'executor.http.request aborted',
      'runbook.run aborted',
      'command.runbook.run aborted',
    ]);
    expect(await verifyAuditTrail(trail)).toMatchObject({ ok: true, records: 5 });
  });

  test('`yes help | head -300 | millwright shell --json | head -c 100` exits 0 with nothing on stderr', async () => {
    const result = await runProcess('bash', [
      '-c',
      `yes help | head -300 | "${process.execPath}" "${BIN}" shell --config "${config}" --json | head -c 100; status=("\${PIPESTATUS[@]}"); echo; echo "shell exit \${status[2]}"`,
    ]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^\{"ok":true/);
    expect(result.stdout).toMatch(/shell exit 0\n$/);
  });

  test('escape sequences typed into a command are shown, not obeyed, in text mode', async () => {
    const result = await runProcess(process.execPath, [BIN, 'shell', '--config', config], {
      input: 'runbook show \u001b[2J\u001b]0;pwned\u0007\u009b31m\n',
    });

    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters
    expect(result.stdout).not.toMatch(/[\u001b\u0007\u009b]/);
    expect(result.stdout).toContain('\\x1b[2J');
  });
});
