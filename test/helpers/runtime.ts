// Builds a real runtime (config file, lowdb store, audit trail, registry of commands/) in a temp
// directory, so tests drive the router the way an adapter does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app.js';
import {
  type Clock,
  type CommandRequest,
  type Reply,
  type Router,
  silentLogger,
  type UpstreamResilience,
} from '../../src/core/index.js';
import type { Logger } from '../../src/core/logger.js';
import { buildRuntime, createRouter, type Runtime } from '../../src/main.js';

export const TEST_ACCESS = `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, whoami, audit] }
    operator: { allow: ['runbook.*', 'slow', 'boom'] }
    admin: { allow: ['*'] }
  subjects:
    ana: [admin]
    group:sre: [operator]
`;

export interface TestBot {
  dir: string;
  runtime: Runtime;
  router: Router;
  /** Runs one command line as `actor` (default ana) from the shell surface. */
  run(text: string, actor?: string, extra?: Partial<CommandRequest>): Promise<Reply>;
  close(): Promise<void>;
}

export async function startTestBot(
  options: {
    config?: string | ((dir: string) => string);
    clock?: Clock;
    logger?: Logger;
    prepare?: (runtime: Runtime) => void;
    /** The upstream policies (a fake timer, small limits); default: one on `clock`. */
    upstreams?: UpstreamResilience;
  } = {},
): Promise<TestBot> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-test-'));
  const file = path.join(dir, 'millwright.yml');
  const extra = typeof options.config === 'function' ? options.config(dir) : (options.config ?? TEST_ACCESS);
  await writeFile(file, `store:\n  path: ./data\n${extra}`);
  const loaded = await loadConfig(file, { env: {} });
  const runtime = await buildRuntime(loaded, {
    logger: options.logger ?? silentLogger(),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.upstreams ? { upstreams: options.upstreams } : {}),
  });
  options.prepare?.(runtime);
  const router = createRouter(runtime);
  return {
    dir,
    runtime,
    router,
    run: (text, actor = 'ana', extra = {}) =>
      router.handle({ actor: { id: actor }, surface: 'shell', channel: 'shell', text, ...extra }),
    close: async () => {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
