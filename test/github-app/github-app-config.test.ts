// `githubApp:` in millwright.yml: config check refuses what the App could not serve (an App ID that
// is not a number, a key that is not an RSA private key, a short webhook secret, a service the
// catalog lacks, a repository two services claim) in one line each, never printing a secret.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { generateKeyPairSync } from 'node:crypto';
import { checkConfig } from '../../src/app.js';
import { serviceFor } from '../../src/github-app/index.js';
import { type TempConfigDir, tempConfigDir } from '../config/temp-config.js';

const pem = (type: 'rsa' | 'ec') =>
  type === 'rsa'
    ? generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      }).privateKey
    : generateKeyPairSync('ec', {
        namedCurve: 'P-256',
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      }).privateKey;
const KEY = pem('rsa');
const SECRET = 'whsec-7c1e9a3f5b2d4068';
// One-line variables often carry the key's newlines as "\n".
const ENV = { GITHUB_APP_PRIVATE_KEY: KEY.replace(/\n/g, '\\n'), GITHUB_WEBHOOK_SECRET: SECRET };

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

const CATALOG = `services:
  checkout: { github: { repo: acme/shop, environments: [production] } }
  cart: {}
`;
const check = async (
  extra: string,
  options: { env?: NodeJS.ProcessEnv; catalog?: string; appId?: string } = {},
) => {
  await temp.write(`${options.catalog ?? CATALOG}githubApp:
  appId: ${options.appId ?? '123456'}
  privateKey: \${GITHUB_APP_PRIVATE_KEY}
  webhookSecret: \${GITHUB_WEBHOOK_SECRET}
${extra}`);
  return checkConfig('millwright.yml', options.env ?? ENV, { cwd: temp.dir });
};

test('an App with its key and secret from the environment and a repository map is ok', async () => {
  const result = await check('  repositories:\n    acme/cart: { production: cart, "*": cart }\n');
  expect(result).toEqual({ ok: true, lines: expect.any(Array) });
});

test('each mistake is refused in one line, and no secret is printed', async () => {
  const results = {
    appId: await check('', { appId: 'my-app' }),
    key: await check('', { env: { ...ENV, GITHUB_APP_PRIVATE_KEY: 'not a key' } }),
    ecKey: await check('', { env: { ...ENV, GITHUB_APP_PRIVATE_KEY: pem('ec') } }),
    secret: await check('', { env: { ...ENV, GITHUB_WEBHOOK_SECRET: 'short' } }),
    service: await check('  repositories:\n    acme/cart: { production: carts }\n'),
    repo: await check('  repositories:\n    cart: { production: cart }\n'),
    twice: await check('', {
      catalog: `${CATALOG}  shop: { github: { repo: acme/shop } }\n`,
    }),
  };
  const lines = Object.fromEntries(
    Object.entries(results).map(([name, result]) => [name, result.lines.join('\n')]),
  );
  for (const result of Object.values(results)) expect(result.ok).toBe(false);
  expect(lines.appId).toMatch(/githubApp\.appId: expected the App ID, a whole number like 123456$/);
  expect(lines.key).toMatch(
    /githubApp\.privateKey: expected the PEM private key GitHub generated for the App/,
  );
  expect(lines.ecKey).toContain('githubApp.privateKey is an EC key; GitHub Apps sign with RSA');
  expect(lines.secret).toMatch(/githubApp\.webhookSecret: must be at least 16 characters/);
  expect(lines.service).toContain(
    'githubApp.repositories.acme/cart.production: carts is not in the service catalog (known services: checkout, cart)',
  );
  expect(lines.repo).toMatch(
    /githubApp\.repositories\.cart: invalid key: expected owner\/repo like acme\/checkout$/,
  );
  expect(lines.twice).toContain(
    'services.checkout.github and services.shop.github both deploy acme/shop to production',
  );
  const all = Object.values(lines).join('\n');
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(KEY.split('\n')[1]);
  for (const text of Object.values(lines)) expect(text.split('\n').length).toBeLessThanOrEqual(2);
});

test('a deployment maps through githubApp.repositories first, then the catalog', () => {
  const catalog = {
    checkout: { github: { repo: 'acme/shop', environments: ['production', 'staging'] } },
    cart: {},
  } as unknown as Parameters<typeof serviceFor>[1];
  const config = { repositories: { 'acme/cart': { production: 'cart', '*': 'checkout' } } };
  expect(serviceFor(config, catalog, 'acme/shop', 'production')).toBe('checkout');
  expect(serviceFor(config, catalog, 'ACME/Shop', 'Staging')).toBe('checkout');
  expect(serviceFor(config, catalog, 'acme/shop', 'preview')).toBeUndefined();
  expect(serviceFor(config, catalog, 'acme/cart', 'production')).toBe('cart');
  expect(serviceFor(config, catalog, 'acme/cart', 'qa')).toBe('checkout');
  expect(serviceFor(config, catalog, 'acme/other', 'production')).toBeUndefined();
});
