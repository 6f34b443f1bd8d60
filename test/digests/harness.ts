// A real runtime (config file, lowdb store, audit trail, commands/) in a folder that can be opened
// again after a "restart", and a notifier that records what a chat adapter would have posted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app.js';
import {
  type ChatSurface,
  type Clock,
  type MessageHandle,
  MillwrightError,
  type Reply,
  type Router,
  replyToText,
  SurfaceHub,
  silentLogger,
} from '../../src/core/index.js';
import type { DigestRunRecord } from '../../src/digests/index.js';
import { buildRuntime, createRouter, type Runtime } from '../../src/main.js';

export const ADMIN = `
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, digest.list] }
    admin: { allow: ['*'] }
  subjects:
    ana: [admin]
`;

export interface RecordedPost {
  target: string;
  reply: Reply;
  text: string;
  /** The (possibly fake) time the post happened. */
  at: Date;
  by: string;
}

/**
 * Stands in for a running chat adapter's notifier: records each post, or fails the next ones the
 * way an adapter does (a MillwrightError with the platform's reason).
 */
export class RecordingNotifier implements ChatSurface {
  readonly posts: RecordedPost[] = [];
  #failures: string[] = [];

  constructor(
    readonly name = 'recorder',
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  owns(_target: string): boolean {
    return true;
  }

  /** The next `times` posts fail with `reason` (like Slack's not_in_channel). */
  failNext(reason: string, times = 1): void {
    for (let i = 0; i < times; i++) this.#failures.push(reason);
  }

  async post(target: string, reply: Reply): Promise<MessageHandle> {
    const failure = this.#failures.shift();
    if (failure !== undefined) {
      throw new MillwrightError(
        'millwright_dependency_unavailable',
        `the chat platform refused the post: ${failure}`,
        {
          hint: 'invite the bot to the channel',
        },
      );
    }
    this.posts.push({ target, reply, text: replyToText(reply), at: this.clock.now(), by: this.name });
    return { update: async () => {} };
  }
}

export interface DigestBot {
  dir: string;
  runtime: Runtime;
  router: Router;
  run(line: string, actor?: string): Promise<Reply>;
  /** Closes the runtime; the folder stays, so `openDigestBot({ dir })` is a restart. */
  close(): Promise<void>;
}

/** A surface hub with these surfaces registered, for a DigestService built by hand. */
export function surfacesOf(...surfaces: ChatSurface[]): SurfaceHub {
  const hub = new SurfaceHub();
  for (const surface of surfaces) hub.register(surface);
  return hub;
}

/**
 * Opens a runtime on `dir` (a new temp folder by default) with `config` after the store section.
 *
 * @example
 * const bot = await openDigestBot({ config: DIGEST, notifier });
 * await bot.runtime.services.digests.start();
 */
export async function openDigestBot(options: {
  config: string | ((dir: string) => string);
  dir?: string;
  clock?: Clock;
  notifier?: ChatSurface;
}): Promise<DigestBot> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'millwright-digests-')));
  const file = path.join(dir, 'millwright.yml');
  const extra = typeof options.config === 'function' ? options.config(dir) : options.config;
  await writeFile(file, `store:\n  path: ./data\n${extra}`);
  const loaded = await loadConfig(file, { env: {} });
  const runtime = await buildRuntime(loaded, {
    logger: silentLogger(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (options.notifier) runtime.services.notices.register(options.notifier);
  const router = createRouter(runtime);
  return {
    dir,
    runtime,
    router,
    run: (line, actor = 'ana') =>
      router.handle({ actor: { id: actor }, surface: 'shell', channel: 'shell', text: line }),
    close: () => runtime.close(),
  };
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * The standup digest's run record as a replica leaves it when it dies between claiming the
 * 2026-11-26 09:00 (Berlin) slot and hearing back from the chat platform: the slot marked as posting.
 */
export function cutShortRun(
  owner: string,
  attempts: number,
  startedAt = '2026-11-26T08:00:00.000Z',
): DigestRunRecord {
  return {
    id: 'standup',
    trackingSince: '2026-11-25T12:00:00.000Z',
    handledSlot: { key: '2026-11-26T09:00', at: '2026-11-26T08:00:00.000Z' },
    pending: {
      slot: { key: '2026-11-26T09:00', at: '2026-11-26T08:00:00.000Z' },
      kind: 'scheduled',
      attempts,
      state: 'posting',
      owner,
      startedAt,
    },
    history: [],
  };
}
