// Refuses Slack requests before Bolt sees them: a bad signature, a timestamp outside the window or
// from the future, and an exact replay of a request already accepted (Bolt alone allows both).
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../../src/core/index.js';
import type { SeenLedger } from './seen-ledger.js';

/**
 * What the store says about an accepted request once its signature is recorded: the first time it
 * was seen anywhere, seen already (by another replica, or before a restart), or the store could not say.
 */
export type RecordOutcome = 'first' | 'replay' | 'unavailable';

export type GuardVerdict =
  | { ok: true; recorded: Promise<RecordOutcome> }
  | { ok: false; status: 401; reason: string };

export interface SlackRequestGuardOptions {
  signingSecret: string;
  clock: Clock;
  /** The record shared by every replica, where accepted signatures are kept for the window. */
  replays: SeenLedger;
  /** Oldest accepted request timestamp, seconds before now; Slack's and Bolt's window is 300. */
  windowSeconds: number;
  /** How far ahead of our clock a timestamp may be; default 60 seconds. */
  futureSeconds?: number;
  /** Called when the store could not record a signature (the request is then not acted on). */
  onStoreError?: (error: unknown) => void;
}

/**
 * Verifies Slack's request signature (`v0:{timestamp}:{body}`, HMAC-SHA256 with the signing secret)
 * against the injected clock, and refuses replays. A replay this process has seen is refused at
 * once (401); the shared record in the store answers in `recorded`, which callers must await before
 * acting, so a replay sent to another replica or after a restart runs nothing either. The
 * acknowledgement does not wait for the store.
 *
 * @example
 * const verdict = guard.check(req.headers, rawBody);
 * if (!verdict.ok) return res.writeHead(401).end();
 * ack();
 * if ((await verdict.recorded) === 'first') await runCommand();
 */
export class SlackRequestGuard {
  readonly #options: SlackRequestGuardOptions;
  /** The signing secret as a key made once: `createHmac` would otherwise convert the string on every request. */
  readonly #key: KeyObject;
  /** Signatures this process accepted, and when (epoch seconds) each stops mattering. */
  readonly #recent = new Map<string, number>();
  #nextSweep = 0;

  constructor(options: SlackRequestGuardOptions) {
    this.#options = options;
    this.#key = createSecretKey(Buffer.from(options.signingSecret, 'utf8'));
  }

  check(headers: IncomingHttpHeaders, body: Buffer): GuardVerdict {
    const refuse = (reason: string): GuardVerdict => ({ ok: false, status: 401, reason });
    const signature = single(headers['x-slack-signature']);
    const timestamp = single(headers['x-slack-request-timestamp']);
    if (!signature || !timestamp) return refuse('missing x-slack-signature or x-slack-request-timestamp');
    if (!/^\d{1,12}$/.test(timestamp)) return refuse('malformed x-slack-request-timestamp');
    const expected = createHmac('sha256', this.#key).update(`v0:${timestamp}:`).update(body).digest();
    // `v0=` and 64 hex digits; anything else cannot match.
    const given = /^v0=[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature.slice(3), 'hex') : undefined;
    if (!given || !timingSafeEqual(given, expected)) return refuse('signature mismatch');
    const ts = Number(timestamp);
    const now = Math.floor(this.#options.clock.now().getTime() / 1000);
    const { windowSeconds } = this.#options;
    if (ts < now - windowSeconds) return refuse(`timestamp is ${now - ts}s old`);
    if (ts > now + (this.#options.futureSeconds ?? 60))
      return refuse(`timestamp is ${ts - now}s in the future`);
    if (!this.#firstHere(signature, ts + windowSeconds + 1, now))
      return refuse('replay of a request already accepted');
    const recorded = this.#options.replays.firstSighting(signature, ts).then(
      (first): RecordOutcome => (first ? 'first' : 'replay'),
      (error: unknown): RecordOutcome => {
        // Without the shared record a replay cannot be told apart: the caller must not act.
        this.#options.onStoreError?.(error);
        return 'unavailable';
      },
    );
    return { ok: true, recorded };
  }

  #firstHere(signature: string, forgetAt: number, now: number): boolean {
    if (now >= this.#nextSweep) {
      for (const [key, until] of this.#recent) if (until <= now) this.#recent.delete(key);
      this.#nextSweep = now + 60;
    }
    const until = this.#recent.get(signature);
    if (until !== undefined && until > now) return false;
    this.#recent.set(signature, forgetAt);
    return true;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
