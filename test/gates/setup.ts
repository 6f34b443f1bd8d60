// What the gate tests share: a real Prometheus with backfilled traffic per service, and a running
// Millwright reading it on a fixed clock, each with its own temp directory, closed in one call.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { loadConfig } from '../../src/app.js';
import { type Clock, fixedClock, type Logger, replyToText, silentLogger } from '../../src/core/index.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { evaluationEnd, type RunningPrometheus, startPrometheus } from '../doubles/prometheus.js';
import { availabilitySlo, traffic } from '../helpers/traffic.js';

/**
 * How a service's traffic behaves: 3 errors a minute in 6000, 1200 in the last 30 minutes, or the
 * errors in the minute ending at t (unix seconds), given the last sample's time.
 */
export type Health = 'healthy' | 'burning' | ((t: number, end: number) => number);

/** A real Prometheus with `days` of traffic for each service, ending on a whole minute near now. */
export function startTrafficPrometheus(
  services: Record<string, Health>,
  days = 30,
): Promise<RunningPrometheus> {
  const end = evaluationEnd();
  const start = end - days * 86_400 - 7200;
  const spike = end - 30 * 60;
  return startPrometheus({
    start,
    end,
    series: Object.entries(services).flatMap(([name, health]) =>
      traffic(
        name,
        start,
        typeof health === 'function'
          ? (t) => health(t, end)
          : health === 'burning'
            ? (t) => (t > spike ? 1200 : 3)
            : () => 3,
      ),
    ),
  });
}

/** Each service with its own channel (`C-CHECKOUT`), as a `services:` section. */
export const catalogOf = (services: readonly string[]) =>
  `services:\n${services.map((name) => `  ${name}: { channel: C-${name.toUpperCase()} }\n`).join('')}`;

/** Who may do what: ana freezes, dee approves; a pipeline is neither. */
export const GATE_ACCESS = `access:
  defaultRoles: []
  roles:
    operator: { allow: ['change.*'] }
    approver: { allow: ['change.*'] }
  subjects: { ana: [operator], dee: [approver] }
`;

/** The policy pipelines deploy under here: a paging service is refused, not held (burn-state is hard). */
export const PIPELINE_POLICY = `policy:
  rules:
    - { kind: change-class }
    - { kind: freeze }
    - { kind: open-incident }
    - { kind: error-budget, minRemainingPercent: 25 }
    - { kind: burn-state, block: [page], severity: hard }
    - { kind: lock }
`;

/** The availability SLO of each service, as a `slos:` section. */
export const slosFor = (services: readonly string[]) => `slos:${services.map(availabilitySlo).join('')}\n`;

export interface GateServer {
  running: RunningServer;
  url: string;
  /** The temp directory holding the config and the store (`data/`). */
  dir: string;
  /** Every notice posted to chat, by target. */
  posts: Array<{ target: string; text: string }>;
  close(): Promise<void>;
}

/** Millwright serving `file` on a free port, every notice it posts recorded; stopping keeps the files. */
export async function serveConfigFile(
  file: string,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger; clock: Clock },
): Promise<Omit<GateServer, 'dir' | 'close'> & { stop(): Promise<void> }> {
  const signals = new EventEmitter();
  const running = await startServer(await loadConfig(file, { env: options.env ?? {} }), {
    logger: options.logger ?? silentLogger(),
    clock: options.clock,
    signals,
  });
  const posts: GateServer['posts'] = [];
  running.runtime.services.notices.register({
    name: 'recorder',
    owns: () => true,
    post: async (target, reply) => {
      posts.push({ target, text: replyToText(reply) });
      return { update: async () => undefined };
    },
  });
  return {
    running,
    url: `http://127.0.0.1:${running.port}`,
    posts,
    stop: async () => {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
    },
  };
}

/** Millwright serving on a free port, reading `prometheus` at its last sample, with `config` after the basics. */
export async function startGateServer(
  prometheus: RunningPrometheus,
  config: string,
  options: {
    env?: NodeJS.ProcessEnv;
    logger?: Logger;
    clock?: Clock;
    /** A directory a stopped server used: its config is rewritten, its store kept (a restart); kept on close. */
    dir?: string;
  } = {},
): Promise<GateServer> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'millwright-gates-')));
  const file = path.join(dir, 'millwright.yml');
  await writeFile(
    file,
    `server: { host: 127.0.0.1, port: 0 }\nstore: { path: ./data }\nprometheus: { url: ${prometheus.url} }\n${config}`,
  );
  const { stop, ...server } = await serveConfigFile(file, {
    ...options,
    clock: options.clock ?? fixedClock(prometheus.end),
  });
  return {
    ...server,
    dir,
    close: async () => {
      await stop();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, read as text (to show what a test must never find written). */
export async function filesUnder(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const texts = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => readFile(path.join(entry.parentPath, entry.name), 'utf8')),
  );
  return texts.join('\n');
}

/** The validator of docs/schemas/gate.schema.json, the answer every pipeline gets. */
export async function gateSchemaValidator() {
  const file = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../docs/schemas/gate.schema.json',
  );
  return new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(await readFile(file, 'utf8')));
}

/**
 * The validator of one command's `data` (docs/schemas/COMMAND.schema.json, or one of its
 * `definitions`), with the other schemas it refers to loaded; fails with ajv's own words.
 *
 * @example
 * expectData('change', 'stats', reply.data);
 */
export function expectData(command: string, shape: string | undefined, data: unknown): void {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/schemas');
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (value: string) => !Number.isNaN(Date.parse(value)));
  for (const name of ['reply', 'budget', 'change'])
    ajv.addSchema(JSON.parse(readFileSync(path.join(dir, `${name}.schema.json`), 'utf8')) as object);
  const validate = ajv.getSchema(
    `https://millwright.dev/schemas/${command}.schema.json${shape ? `#/definitions/${shape}` : ''}`,
  )!;
  expect(validate(data) ? [] : validate.errors).toEqual([]);
}

/**
 * The scene most gate tests play in: checkout, search and ledger healthy, payments paging, orders
 * without an SLO, under PIPELINE_POLICY and GATE_ACCESS, with `gates` as the pipelines section.
 * Closing it stops Prometheus too.
 */
export async function startPipelineScene(
  gates: string,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<GateServer> {
  const prometheus = await startTrafficPrometheus({
    checkout: 'healthy',
    search: 'healthy',
    ledger: 'healthy',
    payments: 'burning',
  });
  try {
    const measured = ['checkout', 'payments', 'search', 'ledger'];
    const server = await startGateServer(
      prometheus,
      `${catalogOf([...measured, 'orders'])}${slosFor(measured)}${PIPELINE_POLICY}${GATE_ACCESS}${gates}`,
      options,
    );
    return {
      ...server,
      close: async () => {
        await server.close();
        await prometheus.close();
      },
    };
  } catch (error) {
    await prometheus.close();
    throw error;
  }
}
