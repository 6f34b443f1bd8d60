// Bot Framework authentication on POST /api/messages: every bad token is a 401 that reaches no
// command; the endpoints come from config; unauthenticated mode is loud about itself.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/app.js';
import { ConfigError } from '../../../src/config/index.js';
import { createLogger } from '../../../src/core/index.js';
import { forgeToken, newSigningKey, signRs256 } from '../../doubles/bot-framework-auth.js';
import { APP_ID, cardOf, cardText, startTeamsBot, TENANT, type TeamsBot } from './teams-harness.js';

describe('Teams authentication (on by default)', () => {
  let bot: TeamsBot;

  beforeAll(async () => {
    bot = await startTeamsBot();
  });
  afterAll(async () => {
    await bot.close();
  });

  /** Sends `whoami` with this Authorization and checks that it was refused before any command ran. */
  async function expectRefused(authorization: string | null, changes: Record<string, unknown> = {}) {
    const calls = bot.connector.calls.length;
    const activity = await bot.activity('personal-message', changes);
    const response = await bot.send(activity, { authorization });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toEqual({ error: 'unauthorized' });
    // Nothing ran: no audit record, and nothing reached the connector.
    expect(await bot.running.runtime.services.audit.recent({ limit: 10 })).toEqual([]);
    expect(bot.connector.calls.length).toBe(calls);
  }

  const claims = () => bot.auth.channelClaims({ appId: APP_ID, serviceUrl: bot.connector.serviceUrl });

  test('a request without a token gets 401', async () => {
    await expectRefused(null);
  });

  test('a malformed token gets 401', async () => {
    await expectRefused('Bearer not-a-jwt');
    await expectRefused('Basic YWxhZGRpbjpvcGVuc2VzYW1l');
    // Names that exist on every object must not pass for an algorithm or a key.
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await expectRefused(`Bearer ${b64({ alg: 'constructor', kid: 'x' })}.${b64(claims())}.c2ln`);
    await expectRefused(`Bearer ${b64({ alg: 'RS256', kid: '__proto__' })}.${b64(claims())}.c2ln`);
    await expectRefused(`Bearer ${Buffer.from('{"alg":"RS256"').toString('base64url')}.e30.c2ln`);
  });

  test('a token signed by a key the channel does not publish gets 401', async () => {
    await expectRefused(`Bearer ${signRs256(claims(), newSigningKey('attacker-key'))}`);
  });

  test('a token that names the published key but is signed by another gets 401', async () => {
    const impostor = { ...newSigningKey(), kid: bot.auth.signingKey.kid };
    await expectRefused(`Bearer ${signRs256(claims(), impostor)}`);
  });

  test('alg: none gets 401 (an unmodified botbuilder answers 500)', async () => {
    await expectRefused(`Bearer ${forgeToken('alg-none', claims(), bot.auth.signingKey.kid)}`);
  });

  test('HS256 signed with the published public key as the secret gets 401 (an unmodified botbuilder answers 500)', async () => {
    const publicPem = bot.auth.signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expectRefused(`Bearer ${forgeToken('hs256', claims(), bot.auth.signingKey.kid, publicPem)}`);
  });

  test('a valid signature for another bot (wrong audience) gets 401', async () => {
    await expectRefused(
      bot.auth.channelAuthorization({ appId: 'someone-elses-bot', serviceUrl: bot.connector.serviceUrl }),
    );
  });

  test('a wrong issuer, an expired token or another serviceUrl gets 401', async () => {
    await expectRefused(
      bot.auth.channelAuthorization({
        appId: APP_ID,
        serviceUrl: bot.connector.serviceUrl,
        issuer: 'https://sts.windows.net/x/',
      }),
    );
    await expectRefused(
      bot.auth.channelAuthorization({
        appId: APP_ID,
        serviceUrl: bot.connector.serviceUrl,
        expiresIn: -3600,
      }),
    );
    await expectRefused(
      bot.auth.channelAuthorization({ appId: APP_ID, serviceUrl: 'https://evil.example/' }),
    );
  });

  test('junk tokens do not make Millwright re-read the keys each time', async () => {
    for (let i = 0; i < 5; i++)
      await expectRefused(`Bearer ${signRs256(claims(), newSigningKey(`junk-${i}`))}`);
    expect(bot.auth.reads.keys).toBe(1);
  });

  test('a valid channel token is accepted and the command runs', async () => {
    const response = await bot.send(await bot.activity('personal-message'));
    expect(response.status).toBe(200);
    const answer = await bot.connector.waitFor('the reply', (call) => call.method === 'POST');
    expect(cardText(cardOf(answer)).join('\n')).toContain('6f1c8a52-0c35-4c1e-9a11-7a2b53c0d001');
  });
});

describe('Teams authentication settings', () => {
  test('when the channel keys cannot be read, requests are refused with 503 (closed, not open)', async () => {
    const bot = await startTeamsBot({
      teams: (auth) =>
        `teams:\n  appId: ${APP_ID}\n  appPassword: secret\n  tenantId: ${TENANT}\n  openIdMetadataUrl: http://127.0.0.1:9/nothing-here\n  loginAuthority: ${auth.authority(TENANT)}\n`,
    });
    try {
      const response = await bot.send(await bot.activity('personal-message'));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(await bot.running.runtime.services.audit.recent({ limit: 10 })).toEqual([]);
    } finally {
      await bot.close();
    }
  });

  test('a certificate credential gets the bot its outgoing token with a signed client assertion', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const thumbprint = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const bot = await startTeamsBot({
      teams: (auth) => {
        auth.registerApp({ clientId: APP_ID, certificate: publicKey });
        return `teams:\n  appId: ${APP_ID}\n  tenantId: ${TENANT}\n  certificate:\n    thumbprint: ${thumbprint}\n    privateKey: ${JSON.stringify(pem)}\n  openIdMetadataUrl: ${auth.openIdMetadataUrl}\n  loginAuthority: ${auth.authority(TENANT)}\n`;
      },
    });
    try {
      await bot.send(await bot.activity('personal-message'));
      const answer = await bot.connector.waitFor('the reply', (call) => call.method === 'POST');
      expect(bot.auth.issued(answer.authorization!.replace('Bearer ', ''))).toBe(true);
      expect(bot.auth.tokenRequests.map((request) => request.credential)).toEqual(['assertion']);
    } finally {
      await bot.close();
    }
  });

  test('allowUnauthenticated accepts requests without a token and warns loudly at start', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(line) },
    });
    const bot = await startTeamsBot({
      logger,
      connectorRequiresToken: false,
      teams: () => `teams:\n  appId: ${APP_ID}\n  allowUnauthenticated: true\n`,
    });
    try {
      const warning = lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .find((line) => line.level === 40);
      expect(warning?.msg).toMatch(/^TEAMS AUTHENTICATION IS OFF/);
      const response = await bot.send(await bot.activity('personal-message'), { authorization: null });
      expect(response.status).toBe(200);
      const answer = await bot.connector.waitFor('the reply', (call) => call.method === 'POST');
      expect(answer.authorization).toBeUndefined();
    } finally {
      await bot.close();
    }
  });

  test('a single-tenant bot (the default) without tenantId does not start, and says why', async () => {
    await expect(
      startTeamsBot({ teams: () => `teams:\n  appId: ${APP_ID}\n  appPassword: secret\n` }),
    ).rejects.toMatchObject({
      code: 'millwright_not_configured',
      message: expect.stringContaining('teams.tenantId is required'),
      hint: expect.stringContaining('appType: MultiTenant'),
    });
  });

  test('config refuses a bot with neither password nor certificate, or with both', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-teams-config-'));
    try {
      const file = path.join(dir, 'millwright.yml');
      const problems = async (teams: string) => {
        await writeFile(file, teams);
        const error = await loadConfig(file, { env: {} }).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      };
      expect(await problems(`teams:\n  appId: a\n`)).toContain(
        'teams.appPassword: required (or certificate) unless allowUnauthenticated is true',
      );
      expect(
        await problems(
          `teams:\n  appId: a\n  appPassword: p\n  certificate:\n    thumbprint: ab\n    privateKey: k\n`,
        ),
      ).toContain('teams.certificate: give appPassword or certificate, not both');
      expect(
        await problems(`teams:\n  appId: a\n  appPassword: p\n  loginAuthority: http://login.test/t\n`),
      ).toContain('teams.loginAuthority: expected an https URL');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
