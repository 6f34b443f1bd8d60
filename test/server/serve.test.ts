// The server as `millwright serve` runs it: probes over real HTTP, and SIGTERM draining a command.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { defineCommand, reply, replyToText, silentLogger, text } from '../../src/core/index.js';
import { type RunningServer, startServer } from '../../src/main.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('millwright serve', () => {
  let dir: string;
  let config: string;
  let running: RunningServer | undefined;
  const signals = new EventEmitter();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-serve-'));
    config = path.join(dir, 'millwright.yml');
    await writeFile(
      config,
      'server:\n  host: 127.0.0.1\n  port: 0\n  drain: 0s\nstore:\n  path: ./data\naccess:\n  defaultRoles: [admin]\n  roles:\n    admin: { allow: ["*"] }\n  subjects: {}\n',
    );
  });
  afterEach(async () => {
    if (running) {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
      running = undefined;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz, /readyz and /metrics, and counts commands by verb and outcome', async () => {
    running = await startServer(await loadConfig(config, { env: {} }), { logger: silentLogger(), signals });
    const base = `http://127.0.0.1:${running.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { config: 'ok', store: 'ok', audit: 'ok' },
    });
    await running.router.handle({ actor: { id: 'ana' }, surface: 'shell', channel: 'c', text: 'whoami' });
    await running.router.handle({
      actor: { id: 'ana' },
      surface: 'shell',
      channel: 'c',
      text: 'audit n=nope',
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('millwright_commands_total{verb="whoami",outcome="ok"} 1');
    expect(metrics).toContain('millwright_commands_total{verb="audit",outcome="error"} 1');
    expect(metrics).toContain('millwright_errors_total{code="millwright_bad_argument"} 1');
    expect(metrics).toMatch(/millwright_command_duration_seconds_bucket\{le="[^"]+",verb="whoami"\} 1/);
  });

  it('on SIGTERM (after the drain) stops accepting, lets an in-flight command finish and records it before stopping', async () => {
    running = await startServer(await loadConfig(config, { env: {} }), { logger: silentLogger(), signals });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    running.runtime.services.registry.register(
      defineCommand({
        name: 'slow',
        summary: 'takes its time',
        examples: ['slow'],
        handler: async () => {
          await gate;
          return reply(text('finished'));
        },
      }),
    );
    const base = `http://127.0.0.1:${running.port}`;
    const inFlight = running.router.handle({
      actor: { id: 'ana' },
      surface: 'shell',
      channel: 'c',
      text: 'slow',
    });
    signals.emit('SIGTERM', 'SIGTERM');
    let stoppedEarly = false;
    void running.stopped.then(() => {
      stoppedEarly = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stoppedEarly).toBe(false);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    release();
    const answer = await inFlight;
    expect(replyToText(answer)).toBe('finished');
    expect(await running.stopped).toEqual({ drained: true, abandoned: 0 });
    running = undefined;
    const { verifyAuditTrail } = await import('../../src/audit/index.js');
    const { readFile } = await import('node:fs/promises');
    const trail = path.join(dir, 'data', 'audit.jsonl');
    expect(await verifyAuditTrail(trail)).toMatchObject({ ok: true, records: 1 });
    expect(await readFile(trail, 'utf8')).toContain('"action":"command.slow"');
  });

  it('as a process, exits 0 after SIGTERM', async () => {
    const child = spawn('node', [path.join(ROOT, 'bin', 'millwright.js'), 'serve', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /listening on [\d.]+:(\d+)/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.msg)).toContain('shut down');
  });
});
