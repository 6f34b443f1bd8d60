// Signed, expiring button payloads: a button carries the command line it runs, bound to a channel
// and an expiry, signed with HMAC-SHA256 so a forged or replayed-late click is refused.
import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, MillwrightError } from './errors.js';

export interface ActionPayload {
  /** The command line the button runs (`change approve CR-12`). */
  command: string;
  /** The channel the button was posted in; a click elsewhere is refused. */
  channel: string;
  /** Who the message was for, when it matters (informational; the clicker is checked anyway). */
  requestedBy?: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Random nonce, so two buttons with the same command differ and a spent one can be remembered. */
  nonce: string;
}

const b64 = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/**
 * Signs a button payload.
 *
 * @example
 * const token = signAction({ command: 'change approve CR-12', channel: 'C1' }, secret, { ttlSeconds: 3600, now });
 */
export function signAction(
  payload: { command: string; channel: string; requestedBy?: string },
  secret: string | KeyObject,
  options: { ttlSeconds: number; now: Date },
): string {
  const full: ActionPayload = {
    ...payload,
    exp: Math.floor(options.now.getTime() / 1000) + options.ttlSeconds,
    nonce: randomBytes(8).toString('hex'),
  };
  const body = b64(JSON.stringify(full));
  return `${body}.${b64(createHmac('sha256', secret).update(body).digest())}`;
}

/** Checks signature, expiry and channel; returns the payload or throws a permission error. */
export function verifyAction(
  token: string,
  secret: string | KeyObject,
  options: { now: Date; channel: string },
): ActionPayload {
  const refuse = (why: string) =>
    new MillwrightError(ErrorCode.PermissionDenied, `this button ${why}`, {
      hint: 'run the command again to get a fresh message',
    });
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) throw refuse('is not a Millwright button');
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw refuse('has an invalid signature');
  let payload: ActionPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ActionPayload;
  } catch (error) {
    throw new MillwrightError(ErrorCode.PermissionDenied, 'this button is damaged', { cause: error });
  }
  if (payload.exp * 1000 < options.now.getTime()) throw refuse('has expired');
  if (payload.channel !== options.channel) throw refuse('belongs to another channel');
  return payload;
}

/**
 * Signs and checks button and form payloads with one secret and lifetime; built once in main.
 *
 * @example
 * const token = ctx.services.actions.sign({ command: 'runbook run restart-deployment deployment=checkout --yes', channel: ctx.channel });
 */
export class ActionSigner {
  /** The secret as a key made once: `createHmac` would otherwise convert the string on every click. */
  private readonly secret: KeyObject;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => Date,
  ) {
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  sign(payload: { command: string; channel: string; requestedBy?: string }): string {
    return signAction(payload, this.secret, { ttlSeconds: this.ttlSeconds, now: this.now() });
  }

  verify(token: string, channel: string): ActionPayload {
    return verifyAction(token, this.secret, { now: this.now(), channel });
  }
}
