// Runs one command line through the real shell adapter on a router and keeps what it printed, in
// text or in `--json` (one object per line), as a terminal or a script would see it.
import { PassThrough } from 'node:stream';
import { ShellAdapter } from '../../adapters/shell/index.js';
import type { CommandRequest, Reply } from '../../src/core/index.js';

/**
 * The reply and everything printed for it (progress, edits, the answer).
 *
 * @example
 * const { printed } = await shellOutput(bot.router, 'deploys search --watch');
 */
export async function shellOutput(
  router: { handle(request: CommandRequest): Promise<Reply> },
  line: string,
  options: { actor?: string; json?: boolean } = {},
): Promise<{ answer: Reply; printed: string }> {
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
  });
  const shell = new ShellAdapter({
    handle: (request) => router.handle(request),
    actor: options.actor ?? 'ana',
    input: new PassThrough(),
    output,
    ...(options.json ? { json: true } : {}),
  });
  const answer = await shell.runLine(line);
  return { answer, printed };
}

/** The last object a `--json` shell printed for `line`: the answer itself. */
export async function jsonAnswer<T = Record<string, unknown>>(
  router: { handle(request: CommandRequest): Promise<Reply> },
  line: string,
  actor = 'ana',
): Promise<T> {
  const { printed } = await shellOutput(router, line, { actor, json: true });
  return JSON.parse(printed.trim().split('\n').at(-1) ?? '{}') as T;
}
