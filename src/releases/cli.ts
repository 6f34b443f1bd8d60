// `millwright release start|status|promote|abort|list ...` for pipelines: the chat command's grammar,
// run like `millwright shell -e` (through the running server when it holds the store), with exit codes
// a CI step can branch on and `--wait` to follow a release until it is promoted or aborted.
import { parseArgs } from 'node:util';
import { isDuration, parseDuration } from '../core/duration.js';

/** One reply as the shell's `--json` writes it. */
export interface JsonReply {
  ok: boolean;
  text: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string };
}

export interface ReleaseCliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Runs one command line as the shell would and answers its JSON reply. */
  run: (line: string) => Promise<JsonReply>;
  /** Waits between polls; tests pass a faster one. */
  sleep?: (ms: number) => Promise<void>;
  /** The wall clock the --wait deadline is measured on. */
  now?: () => number;
}

const USAGE = `usage: millwright release start SERVICE image=TAG [steps=5,25,50,100] [interval=5m] [reason="..."]
                                 [--dry-run] [--wait[=2h]] [--poll=15s] [--json]
       millwright release status [ID|SERVICE] [--wait[=2h]] | promote ID | abort ID [reason="..."] | list

  The release command of the chat, for pipelines. exit 0 started, promoted or answered; 1 aborted, refused
  or waiting for an approval; 2 unknown (no answer, or --wait ran out while it still runs)`;

const SUBCOMMANDS = ['start', 'status', 'promote', 'abort', 'list'];
const FINAL = new Set(['promoted', 'aborted']);
/** How long `--wait` with no value follows a release. */
const DEFAULT_WAIT = '2h';

type Release = { id: string; state: string; share: number; because: string | null };

/**
 * Runs `millwright release ...` and resolves with the exit code.
 *
 * @example
 * process.exitCode = await runReleaseCli(['release', 'start', 'checkout', 'image=2.4.0', '--wait'], io);
 */
export async function runReleaseCli(argv: string[], io: ReleaseCliIO): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`millwright: ${message}\n${USAGE}\n`);
    return 2;
  };
  let parsed: ReturnType<typeof parse>;
  try {
    // `--wait` alone follows the release for the default time.
    parsed = parse(argv.map((arg) => (arg === '--wait' ? `--wait=${DEFAULT_WAIT}` : arg)));
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [, sub, ...words] = positionals;
  if (!sub || !SUBCOMMANDS.includes(sub))
    return usage(
      sub ? `unknown: release ${sub}; expected ${SUBCOMMANDS.join(', ')}` : 'release needs a subcommand',
    );
  const wait = values.wait;
  for (const [flag, text] of [
    ['--wait', wait ?? '0s'],
    ['--poll', values.poll ?? '15s'],
  ] as const) {
    if (!isDuration(text)) return usage(`${flag}=${text} is not a duration like 30s, 10m or 1h`);
  }
  if (wait !== undefined && sub !== 'start' && sub !== 'status')
    return usage('--wait follows a release from release start or release status');
  const line = ['release', sub, ...words.map(quoted), ...(values['dry-run'] ? ['--dry-run'] : [])].join(' ');
  const now = io.now ?? Date.now;
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const write = (reply: JsonReply) =>
    values.json
      ? io.stdout.write(`${JSON.stringify(reply)}\n`)
      : (reply.ok ? io.stdout : io.stderr).write(
          `${reply.ok ? reply.text : `${reply.error?.message ?? reply.text}${reply.error?.hint ? `\nhint: ${reply.error.hint}` : ''}`}\n`,
        );

  let reply: JsonReply;
  try {
    reply = await io.run(line);
  } catch (error) {
    io.stderr.write(`millwright: no answer: ${(error as Error).message}\n`);
    return 2;
  }
  let release = releaseOf(reply);
  if (wait === undefined || !reply.ok || !release || FINAL.has(release.state)) {
    write(reply);
    return exitOf(reply, release);
  }
  // Follow it: one line per move on stderr (stdout keeps the final answer), until it is over.
  const deadline = now() + parseDuration(wait);
  const pollMs = Math.max(parseDuration(values.poll ?? '15s'), 1_000);
  let seen = describe(release);
  if (!values.json) io.stderr.write(`${release.id}: ${seen}\n`);
  while (!FINAL.has(release.state)) {
    if (now() + pollMs > deadline) {
      write(reply);
      io.stderr.write(`millwright: ${release.id} is still ${release.state} after --wait=${wait}\n`);
      return 2;
    }
    await sleep(pollMs);
    try {
      reply = await io.run(`release status ${release.id}`);
    } catch (error) {
      io.stderr.write(`millwright: no answer: ${(error as Error).message}\n`);
      return 2;
    }
    const next = releaseOf(reply);
    if (!next) {
      write(reply);
      return 2;
    }
    release = next;
    const moved = describe(release);
    if (moved !== seen && !values.json) io.stderr.write(`${release.id}: ${moved}\n`);
    seen = moved;
  }
  write(reply);
  return exitOf(reply, release);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      wait: { type: 'string' },
      poll: { type: 'string' },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      config: { type: 'string' },
      as: { type: 'string' },
    },
  });
}

/** 0 ok, 1 aborted or refused (or waiting for a person), 2 anything not known. */
function exitOf(reply: JsonReply, release: Release | undefined): number {
  if (release?.state === 'aborted') return 1;
  if (reply.ok) return 0;
  const code = reply.error?.code ?? '';
  if (
    [
      'millwright_release_aborted',
      'millwright_release_refused',
      'millwright_release_waiting',
      'millwright_bad_argument',
      'millwright_permission_denied',
      'millwright_precondition_failed',
      'millwright_not_found',
    ].includes(code)
  )
    return 1;
  return 2;
}

function releaseOf(reply: JsonReply): Release | undefined {
  const release = reply.data?.release as Release | null | undefined;
  return release ?? undefined;
}

const describe = (release: Release) =>
  `${release.state} at ${release.share}%${release.because ? ` (${release.because})` : ''}`;

/** A word back into the grammar: `reason=latency looks off` → `reason="latency looks off"`. */
function quoted(word: string): string {
  if (!/[\s"]/.test(word)) return word;
  const at = word.indexOf('=');
  const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return at > 0 ? `${word.slice(0, at)}=${quote(word.slice(at + 1))}` : quote(word);
}
