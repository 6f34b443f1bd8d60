// Bot Framework authentication from config: the endpoints for incoming tokens and the MSAL client
// that gets the bot's own tokens for outgoing calls, with the authority trusted from a known list.
import { ConfidentialClientApplication, type INetworkModule, type NodeAuthOptions } from '@azure/msal-node';
import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { MillwrightConfig } from '../../src/config/index.js';
import { ErrorCode, MillwrightError } from '../../src/core/index.js';

export type TeamsConfig = NonNullable<MillwrightConfig['teams']>;

/** Public-cloud values; sovereign clouds set the matching `teams.*` keys. */
export const PUBLIC_CLOUD = {
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  tokenIssuer: 'https://api.botframework.com',
  oauthScope: 'https://api.botframework.com',
  loginHost: 'https://login.microsoftonline.com',
  /** Multi-tenant bots get their tokens from the botframework.com tenant. */
  multiTenantAuthority: 'https://login.microsoftonline.com/botframework.com',
} as const;

/** The endpoints and credentials the adapter runs with, every default filled in. */
export interface ResolvedTeamsAuth {
  appId: string;
  /** False only with `allowUnauthenticated: true`: incoming tokens are not checked. */
  verifyIncoming: boolean;
  openIdMetadataUrl: string;
  tokenIssuer: string;
  oauthScope: string;
  /** Undefined when there is no credential to get outgoing tokens with (local development). */
  loginAuthority: string | undefined;
  knownAuthorities: string[];
  /** Lower-cased tenant ids whose activities are answered; undefined: any tenant. */
  allowedTenants: string[] | undefined;
}

/**
 * Fills in the defaults for a `teams:` section and refuses a single-tenant bot without its tenant.
 *
 * @example
 * const auth = resolveTeamsAuth({ appId: 'a', appPassword: 'p', tenantId: 't', allowUnauthenticated: false });
 * auth.loginAuthority // 'https://login.microsoftonline.com/t'
 */
export function resolveTeamsAuth(config: TeamsConfig): ResolvedTeamsAuth {
  const hasCredential = config.appPassword !== undefined || config.certificate !== undefined;
  const appType = config.appType ?? 'SingleTenant';
  let loginAuthority = config.loginAuthority;
  if (loginAuthority === undefined && hasCredential) {
    if (appType === 'MultiTenant') loginAuthority = PUBLIC_CLOUD.multiTenantAuthority;
    else if (config.tenantId !== undefined) loginAuthority = `${PUBLIC_CLOUD.loginHost}/${config.tenantId}`;
    else {
      throw new MillwrightError(
        ErrorCode.NotConfigured,
        'teams.tenantId is required: Millwright registers as a single-tenant bot unless told otherwise',
        {
          hint: 'set teams.tenantId to your Entra ID tenant (directory) id, or teams.appType: MultiTenant for an older multi-tenant bot registration',
        },
      );
    }
  }
  return {
    appId: config.appId,
    verifyIncoming: !config.allowUnauthenticated,
    openIdMetadataUrl: config.openIdMetadataUrl ?? PUBLIC_CLOUD.openIdMetadataUrl,
    tokenIssuer: config.tokenIssuer ?? PUBLIC_CLOUD.tokenIssuer,
    oauthScope: config.oauthScope ?? PUBLIC_CLOUD.oauthScope,
    loginAuthority,
    knownAuthorities:
      config.knownAuthorities ?? (loginAuthority === undefined ? [] : [new URL(loginAuthority).host]),
    allowedTenants: (config.allowedTenants ?? (config.tenantId ? [config.tenantId] : undefined))?.map(
      (tenant) => tenant.toLowerCase(),
    ),
  };
}

/** What botbuilder asks of a credentials factory (structurally its `ServiceClientCredentialsFactory`). */
interface RequestToSign {
  headers: { set(name: string, value: string): void };
}

/**
 * Gets the bot's outgoing tokens from MSAL with the configured authority. `knownAuthorities` makes
 * MSAL trust that authority without asking login.microsoftonline.com (sovereign clouds, tests).
 */
export class BotCredentials {
  readonly #client: ConfidentialClientApplication | undefined;
  readonly #scope: string;

  constructor(
    private readonly config: TeamsConfig,
    private readonly auth: ResolvedTeamsAuth,
    options: { networkClient?: INetworkModule } = {},
  ) {
    this.#scope = `${auth.oauthScope.replace(/\/$/, '')}/.default`;
    if (auth.loginAuthority === undefined) return;
    const msalAuth: NodeAuthOptions = {
      clientId: config.appId,
      authority: auth.loginAuthority,
      knownAuthorities: auth.knownAuthorities,
    };
    if (config.certificate) {
      const thumbprint = config.certificate.thumbprint.replace(/[:\s]/g, '');
      msalAuth.clientCertificate = {
        ...(thumbprint.length === 64 ? { thumbprintSha256: thumbprint } : { thumbprint }),
        privateKey: config.certificate.privateKey,
        ...(config.certificate.x5c ? { x5c: config.certificate.x5c } : {}),
      };
    } else {
      msalAuth.clientSecret = config.appPassword ?? '';
    }
    this.#client = new ConfidentialClientApplication({
      auth: msalAuth,
      ...(options.networkClient ? { system: { networkClient: options.networkClient } } : {}),
    });
  }

  /** Keeps the secret out of logs if the factory is ever serialised. */
  toJSON(): Record<string, string> {
    return { name: 'BotCredentials', appId: this.config.appId };
  }

  async isValidAppId(appId: string): Promise<boolean> {
    return appId === this.config.appId;
  }

  async isAuthenticationDisabled(): Promise<boolean> {
    return !this.auth.verifyIncoming;
  }

  async createCredentials(): Promise<{ signRequest<T extends RequestToSign>(request: T): Promise<T> }> {
    return {
      signRequest: async (request) => {
        if (this.#client) request.headers.set('authorization', `Bearer ${await this.#token()}`);
        return request;
      },
    };
  }

  async #token(): Promise<string> {
    // MSAL caches the token and renews it shortly before it expires.
    const result = await this.#client!.acquireTokenByClientCredential({ scopes: [this.#scope] });
    if (!result?.accessToken) {
      throw new MillwrightError(ErrorCode.DependencyUnavailable, 'Entra ID returned no token for the bot', {
        hint: 'check teams.appId, the password or certificate, and teams.loginAuthority',
      });
    }
    return result.accessToken;
  }
}

/**
 * botbuilder's authentication in parameterized mode: every endpoint comes from config (public-cloud
 * defaults), and outgoing credentials from {@link BotCredentials}.
 *
 * @example
 * const auth = resolveTeamsAuth(config.teams);
 * const botAuth = createBotAuthentication(auth, new BotCredentials(config.teams, auth), config.teams.tenantId);
 * const adapter = new CloudAdapter(botAuth);
 */
export function createBotAuthentication(
  auth: ResolvedTeamsAuth,
  credentials: BotCredentials,
  tenantId: string | undefined,
): ConfigurationBotFrameworkAuthentication {
  type Factory = ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1];
  return new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: auth.appId,
      ...(tenantId ? { MicrosoftAppTenantId: tenantId } : {}),
      ToBotFromChannelOpenIdMetadataUrl: auth.openIdMetadataUrl,
      ToBotFromChannelTokenIssuer: auth.tokenIssuer,
      // Emulator tokens are checked against the channel's keys too, so nothing is fetched from elsewhere.
      ToBotFromEmulatorOpenIdMetadataUrl: auth.openIdMetadataUrl,
      // Only passed back to BotCredentials, which already holds the authority.
      ToChannelFromBotLoginUrl: auth.loginAuthority ?? PUBLIC_CLOUD.multiTenantAuthority,
      ToChannelFromBotOAuthScope: auth.oauthScope,
      OAuthUrl: auth.oauthScope,
      CallerId: 'urn:botframework:azure',
      ValidateAuthority: true,
    },
    credentials as unknown as Factory,
  );
}
