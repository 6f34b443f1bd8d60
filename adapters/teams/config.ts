// The teams section of millwright.yml.
import { z } from 'zod';
import { duration, flag, httpUrl, optionalText, text } from '../../src/config/fields.js';
import { lazySchema } from '../../src/core/index.js';

export const teamsSchema = lazySchema(() =>
  z
    .strictObject({
      appId: text,
      appPassword: optionalText,
      tenantId: optionalText,
      // The Entra ID tenants whose activities are answered; defaults to [tenantId] when that is set,
      // and to any tenant when neither is (an older multi-tenant bot).
      allowedTenants: z
        .array(text)
        .min(1, { error: 'list at least one tenant id, or leave it out' })
        .optional(),
      // Defaults live in adapters/teams (SingleTenant; the public cloud's endpoints), so sovereign
      // clouds override only what differs.
      appType: z.enum(['SingleTenant', 'MultiTenant']).optional(),
      // Instead of appPassword: a certificate credential (PEM private key, SHA-256 or SHA-1 thumbprint).
      certificate: z.strictObject({ thumbprint: text, privateKey: text, x5c: optionalText }).optional(),
      // Incoming requests: where the channel publishes its signing keys, and who issues its tokens.
      openIdMetadataUrl: httpUrl.optional(),
      tokenIssuer: optionalText,
      // Outgoing calls: the authority that issues the bot's tokens, the hosts trusted without an online
      // authority check, and the scope asked for.
      loginAuthority: z
        .url({
          protocol: /^https$/,
          error: 'expected an https URL like https://login.microsoftonline.com/TENANT',
        })
        .optional(),
      knownAuthorities: z.array(text).optional(),
      oauthScope: optionalText,
      allowUnauthenticated: flag.default(false),
      // A Bot Connector request or a signing-key read that has not answered by then is cut and counts
      // as an outage (retried when safe, and towards that service URL's circuit).
      timeout: duration.default('10s'),
    })
    .superRefine((section, ctx) => {
      // Without a password the bot cannot verify who is calling; that must be a deliberate choice.
      if (
        section.appPassword === undefined &&
        section.certificate === undefined &&
        !section.allowUnauthenticated
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['appPassword'],
          message: 'required (or certificate) unless allowUnauthenticated is true (local development only)',
        });
      }
      if (section.appPassword !== undefined && section.certificate !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificate'],
          message: 'give appPassword or certificate, not both',
        });
      }
    }),
);
