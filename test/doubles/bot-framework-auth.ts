// Local doubles of the two identity services a Teams bot meets: the Bot Framework channel's OpenID
// metadata and signing keys (incoming tokens), and Entra ID's v2 token endpoint (outgoing tokens).
import {
  constants,
  createHmac,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  verify as verifySignature,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { INetworkModule, NetworkResponse } from '@azure/msal-node';
import { dropConnection, json, readBody } from './http-body.js';

export const CHANNEL_ISSUER = 'https://api.botframework.com';
/** The https authority MSAL is configured with; {@link BotFrameworkAuthDouble.networkClient} routes it here. */
export const ENTRA_HOST = 'login.test';

export interface SigningKeyPair {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface ChannelTokenClaims {
  /** The bot's app id (`aud`). */
  appId: string;
  serviceUrl?: string;
  issuer?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  extra?: Record<string, unknown>;
}

interface AppRegistration {
  clientId: string;
  secret?: string;
  /** Public key of the certificate whose private key signs client assertions. */
  certificate?: KeyObject;
}

export interface TokenRequestRecord {
  tenant: string;
  clientId: string;
  grantType: string;
  scope: string;
  credential: 'secret' | 'assertion' | 'none';
}

export function newSigningKey(kid = `key-${randomBytes(4).toString('hex')}`): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** Signs a JWT with RS256 the way the Bot Framework channel does (`kid` and `x5t` in the header). */
export function signRs256(claims: Record<string, unknown>, key: SigningKeyPair): string {
  const header = b64(JSON.stringify({ alg: 'RS256', kid: key.kid, x5t: key.kid, typ: 'JWT' }));
  const payload = b64(JSON.stringify(claims));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key.privateKey);
  return `${header}.${payload}.${b64(signature)}`;
}

/** The classic forgeries: no signature at all, or an HMAC keyed with something public. */
export function forgeToken(
  kind: 'alg-none' | 'hs256',
  claims: Record<string, unknown>,
  kid: string,
  hmacKey = 'public-key-used-as-a-secret',
): string {
  const alg = kind === 'alg-none' ? 'none' : 'HS256';
  const header = b64(JSON.stringify({ alg, kid, typ: 'JWT' }));
  const payload = b64(JSON.stringify(claims));
  if (kind === 'alg-none') return `${header}.${payload}.`;
  return `${header}.${payload}.${b64(createHmac('sha256', hmacKey).update(`${header}.${payload}`).digest())}`;
}

export interface BotFrameworkAuthDouble {
  /** `teams.openIdMetadataUrl` for the bot under test. */
  openIdMetadataUrl: string;
  /** The key the JWKS publishes (endorsed for msteams). */
  signingKey: SigningKeyPair;
  /** Claims of a real channel token for this bot and activity. */
  channelClaims(claims: ChannelTokenClaims): Record<string, unknown>;
  /** `Authorization` header value of a valid channel token. */
  channelAuthorization(claims: ChannelTokenClaims, key?: SigningKeyPair): string;
  /** `teams.loginAuthority` for a tenant (an https URL served by this double through {@link networkClient}). */
  authority(tenant: string): string;
  /** MSAL's HTTP client, sending `https://login.test/...` here and refusing every other host. */
  networkClient: INetworkModule;
  /** Registers an app (client) that may ask for tokens. */
  registerApp(app: AppRegistration): void;
  /** Whether a bearer token was issued by this double's token endpoint. */
  issued(token: string): boolean;
  tokenRequests: TokenRequestRecord[];
  /** Hosts MSAL tried to reach that are not this double (none, when known authorities work). */
  refusedHosts: string[];
  /** How often the OpenID metadata and the key set were read. */
  reads: { metadata: number; keys: number };
  /**
   * Makes the next `times` reads of the OpenID metadata or the key set fail: a status (with
   * Retry-After, as a throttled endpoint sends), a dropped connection, or no answer at all.
   */
  failKeyReads(fault: KeyReadFault, times?: number): void;
  /** Key reads answered with a fault, in order. */
  faultedKeyReads: KeyReadFault[];
  close(): Promise<void>;
}

export type KeyReadFault = { status: number; retryAfterSeconds?: number } | 'reset' | 'hang';

/**
 * Starts the identity double on 127.0.0.1 with a random port.
 *
 * @example
 * const auth = await startBotFrameworkAuth();
 * const authorization = auth.channelAuthorization({ appId: 'app', serviceUrl: connector.serviceUrl });
 */
export async function startBotFrameworkAuth(): Promise<BotFrameworkAuthDouble> {
  const signingKey = newSigningKey();
  const apps = new Map<string, AppRegistration>();
  const issuedTokens = new Set<string>();
  const tokenRequests: TokenRequestRecord[] = [];
  const refusedHosts: string[] = [];
  const reads = { metadata: 0, keys: 0 };
  const keyFaults: KeyReadFault[] = [];
  const faultedKeyReads: KeyReadFault[] = [];
  const hung = new Set<ServerResponse>();
  let base = '';

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      json(res, 500, { error: 'double_failed', error_description: String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const body = await readBody(req);
    const keyRead =
      req.method === 'GET' &&
      (url.pathname === '/v1/.well-known/openidconfiguration' || url.pathname === '/v1/.well-known/keys');
    const fault = keyRead ? keyFaults.shift() : undefined;
    if (fault !== undefined) {
      faultedKeyReads.push(fault);
      if (typeof fault !== 'object') return dropConnection(fault, req, res, hung);
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('retry-after', String(fault.retryAfterSeconds));
      return json(res, fault.status, { error: 'unavailable' });
    }
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
      reads.metadata++;
      return json(res, 200, {
        issuer: CHANNEL_ISSUER,
        authorization_endpoint: 'https://invalid.botframework.com',
        jwks_uri: `${base}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/keys') {
      reads.keys++;
      const jwk = signingKey.publicKey.export({ format: 'jwk' });
      return json(res, 200, {
        keys: [
          {
            kty: 'RSA',
            use: 'sig',
            kid: signingKey.kid,
            x5t: signingKey.kid,
            n: jwk.n,
            e: jwk.e,
            endorsements: ['msteams'],
          },
        ],
      });
    }
    const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (req.method === 'GET' && discovery) {
      const tenant = discovery[1]!;
      const authority = `https://${ENTRA_HOST}/${tenant}`;
      return json(res, 200, {
        token_endpoint: `${authority}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${authority}/discovery/v2.0/keys`,
        issuer: `${authority}/v2.0`,
        authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
      });
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (req.method === 'POST' && token) return tokenEndpoint(res, token[1]!, new URLSearchParams(body));
    return json(res, 404, { error: 'not_found' });
  }

  /** Entra ID's client-credentials grant: a secret, or a client assertion signed with the app's certificate. */
  function tokenEndpoint(res: ServerResponse, tenant: string, form: URLSearchParams): void {
    const clientId = form.get('client_id') ?? '';
    const grantType = form.get('grant_type') ?? '';
    const scope = form.get('scope') ?? '';
    const assertion = form.get('client_assertion');
    const secret = form.get('client_secret');
    tokenRequests.push({
      tenant,
      clientId,
      grantType,
      scope,
      credential: assertion ? 'assertion' : secret ? 'secret' : 'none',
    });
    const aadError = (status: number, error: string, code: number, description: string) =>
      json(res, status, {
        error,
        error_description: `AADSTS${code}: ${description}`,
        error_codes: [code],
        timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    if (grantType !== 'client_credentials') {
      aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
      return;
    }
    const app = apps.get(clientId);
    if (!app) {
      aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
      return;
    }
    if (!scope.endsWith('/.default')) {
      aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid.`);
      return;
    }
    const audience = `https://${ENTRA_HOST}/${tenant}/oauth2/v2.0/token`;
    const valid = assertion
      ? app.certificate !== undefined && checkAssertion(assertion, app.certificate, clientId, audience)
      : secret !== null && secret === app.secret;
    if (!valid) {
      aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
      return;
    }
    const accessToken = `eyJ0eXAiOiJKV1QifQ.${b64(JSON.stringify({ aud: scope, appid: clientId, tid: tenant }))}.${randomBytes(16).toString('base64url')}`;
    issuedTokens.add(accessToken);
    json(res, 200, {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: accessToken,
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('identity double did not bind');
  base = `http://127.0.0.1:${address.port}`;

  const send = async <T>(
    url: string,
    method: string,
    options?: { headers?: Record<string, string>; body?: string },
  ) => {
    const target = new URL(url);
    if (target.host !== ENTRA_HOST) {
      refusedHosts.push(target.host);
      throw new Error(`the test network reaches only ${ENTRA_HOST}, not ${target.host}`);
    }
    const response = await fetch(`${base}${target.pathname}${target.search}`, {
      method,
      ...(options?.headers ? { headers: options.headers } : {}),
      ...(options?.body !== undefined ? { body: options.body } : {}),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return {
      headers,
      body: (await response.json()) as T,
      status: response.status,
    } satisfies NetworkResponse<T>;
  };

  const channelClaims = (claims: ChannelTokenClaims): Record<string, unknown> => {
    const now = Math.floor(Date.now() / 1000);
    return {
      serviceurl: claims.serviceUrl,
      nbf: now - 60,
      exp: now + (claims.expiresIn ?? 3600),
      iss: claims.issuer ?? CHANNEL_ISSUER,
      aud: claims.appId,
      ...claims.extra,
    };
  };

  return {
    openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`,
    signingKey,
    channelClaims,
    channelAuthorization: (claims, key = signingKey) => `Bearer ${signRs256(channelClaims(claims), key)}`,
    authority: (tenant) => `https://${ENTRA_HOST}/${tenant}`,
    networkClient: {
      sendGetRequestAsync: (url, options) => send(url, 'GET', options),
      sendPostRequestAsync: (url, options) => send(url, 'POST', options),
    },
    registerApp: (app) => {
      apps.set(app.clientId, app);
    },
    issued: (candidate) => issuedTokens.has(candidate),
    tokenRequests,
    refusedHosts,
    reads,
    failKeyReads: (fault, times = 1) => {
      for (let i = 0; i < times; i++) keyFaults.push(fault);
    },
    faultedKeyReads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A client assertion (RFC 7523): signed by the app's certificate, for this token endpoint, not expired. */
function checkAssertion(
  assertion: string,
  certificate: KeyObject,
  clientId: string,
  audience: string,
): boolean {
  const [header, payload, signature] = assertion.split('.');
  if (!header || !payload || !signature) return false;
  const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string };
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const data = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  const signed =
    head.alg === 'PS256'
      ? verifySignature(
          'sha256',
          data,
          { key: certificate, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          sig,
        )
      : head.alg === 'RS256' && verifySignature('sha256', data, certificate, sig);
  return (
    signed &&
    claims.iss === clientId &&
    claims.sub === clientId &&
    claims.aud === audience &&
    typeof claims.exp === 'number' &&
    claims.exp > Date.now() / 1000
  );
}
