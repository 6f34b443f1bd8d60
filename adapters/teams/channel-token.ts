// Checks the Bot Framework token on every POST to /api/messages before botbuilder sees it, so a
// forged, unsigned (alg none), HMAC-signed or misaddressed token is a 401 and never reaches a command.
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import {
  type Clock,
  isConnectionError,
  isRetryableStatus,
  type Logger,
  parseRetryAfter,
  systemClock,
  type UpstreamPolicy,
  UpstreamResilience,
} from '../../src/core/index.js';

/** Why a request was refused; `status` is 401 (bad token) or 503 (the signing keys cannot be read now). */
export class ChannelAuthError extends Error {
  constructor(
    readonly status: 401 | 503,
    /** One line for the log; never sent to the caller. */
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ChannelAuthError';
  }
}

export interface ChannelTokenOptions {
  /** The bot's app id: the token's audience. */
  appId: string;
  /** OpenID metadata document that names the JWKS (`jwks_uri`). */
  openIdMetadataUrl: string;
  /** The only accepted `iss` (https://api.botframework.com in the public cloud). */
  issuer: string;
  fetch?: typeof fetch;
  clock?: Clock;
  logger?: Logger;
  /** Allowed skew for `exp` and `nbf`; Bot Framework uses 5 minutes. */
  clockToleranceSeconds?: number;
  /** How long fetched keys are trusted before they are read again. Default 24 h. */
  keyLifetimeMs?: number;
  /** An unknown `kid` re-reads the keys at most this often (a key rotation), so junk tokens cannot hammer the endpoint. Default 5 min. */
  unknownKeyRefreshMs?: number;
  /** The shared policy for the key endpoint (retries, Retry-After, circuit); a private one when absent. */
  policy?: UpstreamPolicy;
  /** A metadata or key read not answered by then is cut (teams.timeout). Default 10 s. */
  timeoutMs?: number;
}

/** What a verified token says about the caller. */
export interface ChannelCaller {
  appId: string;
  serviceUrl: string;
  claims: Record<string, unknown>;
}

interface SigningKey {
  kid: string;
  key: KeyObject;
  endorsements: string[] | undefined;
}

/** A Map, not an object: `alg: "constructor"` must not find anything. */
const ALGORITHMS = new Map([
  ['RS256', 'sha256'],
  ['RS384', 'sha384'],
  ['RS512', 'sha512'],
]);

/**
 * Verifies `Authorization: Bearer <jwt>` the way the Bot Framework channel signs it: RS256/384/512
 * with a key from the configured JWKS, the configured issuer, the bot's app id as audience, a
 * `serviceurl` claim equal to the activity's `serviceUrl`, and the key endorsed for the channel.
 *
 * @example
 * const tokens = new ChannelTokenValidator({ appId, openIdMetadataUrl, issuer: 'https://api.botframework.com' });
 * await tokens.verify(req.headers.authorization, { serviceUrl: activity.serviceUrl, channelId: activity.channelId });
 */
export class ChannelTokenValidator {
  readonly #options: ChannelTokenOptions;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #policy: UpstreamPolicy;
  #keys: SigningKey[] = [];
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | undefined;

  constructor(options: ChannelTokenOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
    const origin = new URL(options.openIdMetadataUrl).origin;
    this.#policy =
      options.policy ??
      new UpstreamResilience({ clock: this.#clock }).policy({
        kind: 'bot_connector',
        target: origin,
        name: `the Bot Framework signing keys at ${origin}`,
      });
  }

  async verify(
    authorization: string | undefined,
    activity: { serviceUrl?: string | undefined; channelId?: string | undefined },
  ): Promise<ChannelCaller> {
    const refuse = (reason: string) => new ChannelAuthError(401, reason);
    const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/.exec(
      authorization?.trim() ?? '',
    );
    if (!authorization) throw refuse('no Authorization header');
    if (!match) throw refuse('Authorization is not a Bearer JWT');
    const [, headerPart, payloadPart, signaturePart] = match as unknown as [string, string, string, string];
    const header = decodeJson(headerPart);
    const claims = decodeJson(payloadPart);
    if (!header || !claims) throw refuse('token header or payload is not JSON');
    const digest = typeof header.alg === 'string' ? ALGORITHMS.get(header.alg) : undefined;
    if (!digest) throw refuse(`token algorithm ${JSON.stringify(header.alg)} is not allowed`);
    if (typeof header.kid !== 'string' || header.kid === '') throw refuse('token names no signing key (kid)');
    if (signaturePart === '') throw refuse('token carries no signature');

    const key = await this.#key(header.kid);
    if (!key) throw refuse(`token is signed by an unknown key ${JSON.stringify(header.kid.slice(0, 64))}`);
    const signed = verifySignature(
      digest,
      Buffer.from(`${headerPart}.${payloadPart}`),
      key.key,
      Buffer.from(signaturePart, 'base64url'),
    );
    if (!signed) throw refuse(`token signature does not match key ${header.kid}`);

    const { appId, issuer } = this.#options;
    if (claims.iss !== issuer) throw refuse(`token issuer ${JSON.stringify(claims.iss)} is not ${issuer}`);
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(appId))
      throw refuse(`token audience ${JSON.stringify(claims.aud)} is not this bot`);
    const now = this.#clock.now().getTime() / 1000;
    const tolerance = this.#options.clockToleranceSeconds ?? 300;
    if (typeof claims.exp !== 'number') throw refuse('token has no expiry');
    if (claims.exp + tolerance < now) throw refuse('token has expired');
    if (typeof claims.nbf === 'number' && claims.nbf - tolerance > now)
      throw refuse('token is not valid yet');
    // The Connector answers at the activity's serviceUrl: a token for one service URL must not send
    // the bot's replies (and its own token) somewhere else, and an activity without one is not checked.
    const serviceUrl = typeof claims.serviceurl === 'string' ? claims.serviceurl : undefined;
    if (activity.serviceUrl === undefined) throw refuse('the activity has no serviceUrl');
    if (serviceUrl !== activity.serviceUrl) {
      throw refuse('token serviceurl claim does not match the activity serviceUrl');
    }
    if (key.endorsements?.length && !key.endorsements.includes(activity.channelId ?? '')) {
      throw refuse(`key ${key.kid} is not endorsed for channel ${JSON.stringify(activity.channelId)}`);
    }
    return { appId, serviceUrl: activity.serviceUrl, claims };
  }

  async #key(kid: string): Promise<SigningKey | undefined> {
    const now = this.#clock.now().getTime();
    if (now - this.#readAt > (this.#options.keyLifetimeMs ?? 24 * 3600_000)) await this.#read();
    let key = this.#keys.find((candidate) => candidate.kid === kid);
    if (!key && now - this.#readAt > (this.#options.unknownKeyRefreshMs ?? 5 * 60_000)) {
      await this.#read();
      key = this.#keys.find((candidate) => candidate.kid === kid);
    }
    return key;
  }

  /** One read at a time; concurrent requests wait for the same one. */
  #read(): Promise<void> {
    this.#reading ??= this.#load().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #load(): Promise<void> {
    const { openIdMetadataUrl, logger } = this.#options;
    try {
      const metadata = await this.#json(openIdMetadataUrl);
      const jwksUri = metadata.jwks_uri;
      if (typeof jwksUri !== 'string') throw new Error('the OpenID metadata names no jwks_uri');
      const jwks = await this.#json(jwksUri);
      const keys = Array.isArray(jwks.keys) ? (jwks.keys as Array<Record<string, unknown>>) : [];
      this.#keys = keys.flatMap((jwk) => {
        if (
          jwk.kty !== 'RSA' ||
          typeof jwk.kid !== 'string' ||
          typeof jwk.n !== 'string' ||
          typeof jwk.e !== 'string'
        )
          return [];
        try {
          const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
          const endorsements = Array.isArray(jwk.endorsements)
            ? jwk.endorsements.filter((item): item is string => typeof item === 'string')
            : undefined;
          return [{ kid: jwk.kid, key, endorsements }];
        } catch (error) {
          // One malformed key must not hide the others.
          logger?.warn(
            { err: error, kid: jwk.kid },
            'teams: skipped a signing key that is not a valid RSA key',
          );
          return [];
        }
      });
      this.#readAt = this.#clock.now().getTime();
    } catch (error) {
      logger?.warn({ err: error, url: openIdMetadataUrl }, 'teams: could not read the channel signing keys');
      // Fail closed: keys already known stay usable, but with none the request cannot be verified.
      if (this.#keys.length === 0) throw new ChannelAuthError(503, 'the channel signing keys cannot be read');
    }
  }

  /** One GET through the key endpoint's shared policy: bounded retries, Retry-After, a timeout, the circuit. */
  async #json(url: string): Promise<Record<string, unknown>> {
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    return this.#policy.call(
      async (_attempt, signal) => {
        const response = await this.#fetch(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
        if (!response.ok) {
          await response.arrayBuffer();
          throw new HttpStatusError(url, response.status, response.headers.get('retry-after'));
        }
        return (await response.json()) as Record<string, unknown>;
      },
      {
        idempotent: true,
        transient: (error) =>
          isConnectionError(error) ||
          // A hang cut by the timeout (a DOMException, of another realm under test runners: by name).
          (error as { name?: unknown } | null)?.name === 'TimeoutError' ||
          (error instanceof HttpStatusError && isRetryableStatus(error.status)),
        retryAfterMs: (error) =>
          error instanceof HttpStatusError ? parseRetryAfter(error.retryAfter, this.#clock.now()) : undefined,
      },
    );
  }
}

class HttpStatusError extends Error {
  constructor(
    url: string,
    readonly status: number,
    readonly retryAfter: string | null,
  ) {
    super(`GET ${url} answered ${status}`);
  }
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    // Not JSON: the caller refuses the token; the detail is not worth more than that.
    return undefined;
  }
}
