// The `githubApp:` section: Millwright as a GitHub App that answers custom deployment protection
// rules. The app id, its private key and the webhook secret come from the environment.
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { duration, httpUrl, text } from '../config/fields.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { lazySchema } from '../core/index.js';

const REPO = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const ENVIRONMENT = /^[^\s/][^/]{0,254}$/;

/** A PEM private key; `\n` written as two characters (one-line environment variables) is read as a newline. */
const privateKey = z
  .string({
    error:
      'required: the App private key in PEM (from an environment variable such as GITHUB_APP_PRIVATE_KEY)',
  })
  .transform((value) => value.replace(/\\n/g, '\n').trim())
  .refine(
    (value) => /^-----BEGIN (RSA )?PRIVATE KEY-----\n[\s\S]+\n-----END (RSA )?PRIVATE KEY-----$/.test(value),
    {
      error:
        'expected the PEM private key GitHub generated for the App (-----BEGIN RSA PRIVATE KEY----- ...)',
    },
  );

export const githubAppSchema = lazySchema(() =>
  z.strictObject({
    // The App ID from the App's settings page (a number; `${GITHUB_APP_ID}` gives its string form).
    appId: z.preprocess(
      (value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value),
      z.int({ error: 'expected the App ID, a whole number like 123456' }).min(1),
    ),
    privateKey,
    // The webhook secret set on the App; every delivery's X-Hub-Signature-256 is checked against it.
    webhookSecret: z
      .string({
        error:
          'required: the App webhook secret (from an environment variable such as GITHUB_WEBHOOK_SECRET)',
      })
      .min(16, { error: 'must be at least 16 characters (openssl rand -hex 32)' }),
    // REST API root for the App's calls: GitHub Enterprise Server (https://ghe.example.com/api/v3) or a
    // test double; default github.baseUrl, else https://api.github.com.
    baseUrl: httpUrl.optional(),
    // One call to GitHub without an answer by then is cut (and retried under the resilience policy).
    timeout: duration.default('10s'),
    // The risk a deployment through the App carries; high makes every one wait for a person.
    risk: z.enum(['low', 'medium', 'high']).default('low'),
    // repository -> environment -> service; "*" for any other environment of that repository. Without
    // an entry, the catalog's services.NAME.github (repo and environments) decides.
    repositories: z
      .record(
        z.string().regex(REPO, { error: 'expected owner/repo like acme/checkout' }),
        z.record(
          z.string().regex(ENVIRONMENT, { error: 'expected an environment name like production, or "*"' }),
          text,
        ),
      )
      .default(() => ({})),
  }),
);

export type GitHubAppConfig = z.output<typeof githubAppSchema>;

/**
 * `config check` and start-up: the key must be one Node can read as an RSA private key, so a key
 * pasted wrong is one line now, not a 401 from GitHub on the first deployment.
 */
export function checkPrivateKey(pem: string): void {
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch (error) {
    throw new MillwrightError(
      ErrorCode.ConfigInvalid,
      `githubApp.privateKey is not a readable private key: ${(error as Error).message.split('\n', 1)[0]}`,
      { hint: 'paste the whole .pem file GitHub generated for the App, BEGIN and END lines included' },
    );
  }
  if (type !== 'rsa')
    throw new MillwrightError(
      ErrorCode.ConfigInvalid,
      `githubApp.privateKey is an ${String(type).toUpperCase()} key; GitHub Apps sign with RSA`,
      {
        hint: "generate a private key on the App's settings page and use that .pem",
      },
    );
}
