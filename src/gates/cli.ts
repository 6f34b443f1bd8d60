// `millwright gate evaluate SERVICE [version=V] [environment=E] [kind=K] [--wait=10m] [--json]`:
// a CI shell step that asks a running Millwright's policy gate and exits 0 pass, 1 fail, 2 unknown.
import { parseArgs } from 'node:util';
import { isDuration, parseDuration } from '../core/duration.js';
import { type GateAnswer, ruleLines } from './decision.js';

export interface GateCliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Waits between polls; tests may pass a faster one. */
  sleep?: (ms: number) => Promise<void>;
}

const USAGE = `usage: millwright gate evaluate SERVICE [version=V] [environment=E] [kind=K] [risk=R] [reason="..."]
                                  [--emergency] [--wait=10m] [--interval=10s] [--json] [--url URL]

  Asks the policy gate of a running Millwright (--url, or MILLWRIGHT_URL) with the pipeline token
  in MILLWRIGHT_GATE_TOKEN, and waits up to --wait (default 0: do not wait) while an approval is pending.
  --emergency (with reason=) passes a freeze of the error-budget policy: a fix for the outage itself.
  exit 0 pass, 1 fail (or still pending when --wait ran out), 2 unknown or no answer`;

const EXIT = { pass: 0, fail: 1, pending: 1, unknown: 2 } as const;
const FIELDS = ['version', 'environment', 'kind', 'risk', 'reason'] as const;
/** How long one HTTP call may take before the step gives up on the server. */
const CALL_TIMEOUT_MS = 30_000;

class NoAnswer extends Error {}

/**
 * Runs `millwright gate ...` and resolves with the exit code.
 *
 * @example
 * process.exitCode = await runGateCli(['gate', 'evaluate', 'checkout', 'version=1.4.2', '--wait=10m'], io);
 */
export async function runGateCli(argv: string[], io: GateCliIO): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`millwright: ${message}\n${USAGE}\n`);
    return 2;
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [, sub, service, ...pairs] = positionals;
  if (sub !== 'evaluate')
    return usage(sub ? `unknown: gate ${sub}; did you mean "gate evaluate"?` : 'gate needs a subcommand');
  if (!service || service.includes('=')) return usage('gate evaluate needs a SERVICE');
  const body: Record<string, string | boolean> = {
    service,
    ...(values.emergency ? { emergency: true } : {}),
  };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at) as (typeof FIELDS)[number];
    if (at < 1 || !FIELDS.includes(key))
      return usage(`unknown argument "${pair}"; expected ${FIELDS.map((f) => `${f}=`).join(', ')}`);
    body[key] = pair.slice(at + 1);
  }
  for (const [flag, text] of [
    ['--wait', values.wait ?? '0s'],
    ['--interval', values.interval ?? '10s'],
  ] as const) {
    if (!isDuration(text)) return usage(`${flag}=${text} is not a duration like 30s, 10m or 1h`);
  }
  const waitMs = parseDuration(values.wait ?? '0s');
  const intervalMs = Math.max(parseDuration(values.interval ?? '10s'), 1_000);
  const url = (values.url ?? io.env.MILLWRIGHT_URL ?? '').replace(/\/+$/, '');
  if (!url) return usage('say where Millwright runs: --url http://millwright:3000 or MILLWRIGHT_URL');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    return usage(
      `--url (or MILLWRIGHT_URL) ${JSON.stringify(url)} is not an http(s) URL like http://millwright:3000`,
    );
  const token = io.env.MILLWRIGHT_GATE_TOKEN ?? '';
  if (!token) return usage('MILLWRIGHT_GATE_TOKEN is not set: give the step its pipeline token');
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  try {
    let answer = await call(`${url}/api/v1/gates/evaluate`, token, body);
    const deadline = Date.now() + waitMs;
    while (answer.awaiting && Date.now() + intervalMs <= deadline) {
      if (!values.json)
        io.stderr.write(`${answer.decision}: ${answer.reason}; asking again in ${intervalMs / 1000}s\n`);
      await sleep(intervalMs);
      answer = await call(`${url}/api/v1/gates/${encodeURIComponent(answer.changeId)}`, token);
    }
    io.stdout.write(values.json ? `${JSON.stringify(answer)}\n` : describe(answer, waitMs));
    return EXIT[answer.decision] ?? 2;
  } catch (error) {
    if (error instanceof NoAnswer) {
      io.stderr.write(`millwright: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      wait: { type: 'string' },
      interval: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      emergency: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
    },
  });
}

/** One call to the gate; anything but an answer is a `NoAnswer` with one line saying why. */
async function call(
  url: string,
  token: string,
  body?: Record<string, string | boolean>,
): Promise<GateAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new NoAnswer(
      `cannot reach Millwright at ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not Millwright answering (a proxy's error page): say so, not its HTML.
    throw new NoAnswer(
      `${new URL(url).origin} answered HTTP ${response.status} without JSON; is --url Millwright?`,
    );
  }
  if (!response.ok) {
    const { error, hint } = json as { error?: string; hint?: string };
    throw new NoAnswer(
      `gate refused (HTTP ${response.status}): ${error ?? 'no reason given'}${hint ? ` (${hint})` : ''}`,
    );
  }
  return json as GateAnswer;
}

/** The answer as people read it in a CI log: the decision first, then each rule. */
function describe(answer: GateAnswer, waitMs: number): string {
  const what = [answer.service, answer.kind, answer.version, answer.environment && `to ${answer.environment}`]
    .filter(Boolean)
    .join(' ');
  const still =
    answer.awaiting && waitMs > 0
      ? ` (still ${answer.awaiting === 'lock' ? 'queued' : 'awaiting approval'} after ${waitMs / 1000}s)`
      : '';
  const lines = [
    `${answer.decision}: ${what} — ${answer.reason}${still}`,
    ...ruleLines(answer).map((line) => `  ${line}`),
    `change ${answer.changeId} (${answer.state}); "change show ${answer.changeId}" in chat has its timeline`,
  ];
  return `${lines.join('\n')}\n`;
}
