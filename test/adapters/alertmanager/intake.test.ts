// POST /hooks/alertmanager as Alertmanager sends it: the content type is checked, and every accepted
// webhook leaves one audit record, whether a rule matched or not.
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/core/index.js';
import { type RunningServer, startServer } from '../../../src/main.js';

const TOKEN = 'am-webhook-token-0123';

/** An Alertmanager webhook v4 body (prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
const webhook = {
  version: '4',
  groupKey: '{}:{alertname="DiskFilling"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'millwright',
  groupLabels: { alertname: 'DiskFilling' },
  commonLabels: { alertname: 'DiskFilling' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'DiskFilling', severity: 'warning', service: 'checkout' },
      annotations: { summary: 'disk 80% full' },
      startsAt: '2026-11-26T10:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus/graph',
      fingerprint: 'a1b2c3d4e5f60718',
    },
  ],
};

describe('Alertmanager intake', () => {
  let dir: string;
  let running: RunningServer;
  let url: string;
  const signals = new EventEmitter();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-am-'));
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `server: { host: 127.0.0.1, port: 0, drain: 0s }\nstore: { path: ./data }\nservices:\n  checkout: {}\nalertmanager:\n  bearerToken: ${TOKEN}\naccess:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [help] }\n  subjects: {}\n`,
    );
    running = await startServer(await loadConfig(file, { env: {} }), { logger: silentLogger(), signals });
    url = `http://127.0.0.1:${running.port}/hooks/alertmanager`;
  });
  afterEach(async () => {
    signals.emit('SIGTERM', 'SIGTERM');
    await running.stopped;
    await rm(dir, { recursive: true, force: true });
  });

  const trail = async () =>
    (await readFile(path.join(dir, 'data', 'audit.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));

  test('a valid body sent as text/plain gets 415 and changes nothing', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: JSON.stringify(webhook),
    });

    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      error: 'unsupported content type: send application/json (Alertmanager webhook v4)',
    });
    expect(await trail()).toEqual([]);
  });

  test('an accepted webhook that matches no rule is still audited, with what was done (nothing)', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(webhook),
    });

    expect(res.status).toBe(200);
    const { ref } = (await res.json()) as { ref: string };
    expect(await trail()).toEqual([
      expect.objectContaining({
        action: 'alert.received',
        surface: 'alertmanager',
        outcome: 'ok',
        ref,
        args: {
          receiver: 'millwright',
          status: 'firing',
          alerts: [
            { fingerprint: 'a1b2c3d4e5f60718', alertname: 'DiskFilling', service: 'checkout', actions: [] },
          ],
        },
      }),
    ]);
  });
});
