// The one schema for millwright.yml: strict sections so a misspelt key is an error, defaults so an
// empty file runs a local shell bot.
import { join } from 'node:path';
import { z } from 'zod';
import { policySchema } from '../changes/policy-schema.js';
import { isDuration, parseDuration } from '../core/duration.js';
import { closest } from '../core/suggest.js';
import { digestsSchema } from '../digests/schema.js';
import { alertmanagerSchema } from '../incidents/alert-schema.js';
import { sloSpecSchema } from '../slo/spec.js';

// Schemas here parse once per start (and per reload); zod's JIT compile costs more than it saves then.
z.config({ jitless: true });

const text = z.string().min(1, { error: 'must not be empty' });
/** Optional text where empty (`key:`, or `${VAR:-}` with VAR unset) means "not set", the usual way to switch a secret off. */
const optionalText = z.preprocess(
  (value) => (value === '' || value === null ? undefined : value),
  text.optional(),
);
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL like https://host/path' });
const duration = z.string().refine(isDuration, { error: 'expected a duration like 10s, 5m or 1h30m' });

// An interpolated scalar is always a string (`port: ${PORT}` gives "8080"), so fields that want a
// number or a switch also take its string form.
const portMessage = 'expected a whole number between 0 and 65535';
const port = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.int({ error: portMessage }).min(0, { error: portMessage }).max(65535, { error: portMessage }),
);
const flag = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'expected true or false' }),
);

const permission = z.string().regex(/^(\*|[a-z][a-z0-9-]*(\.([a-z][a-z0-9-]*|\*))*)$/, {
  error: 'expected a permission like help, runbook.list, runbook.* or *',
});
const role = z.strictObject({ allow: z.array(permission), channels: z.array(text).optional() });
const defaultRoles = () => ({ viewer: { allow: ['help', 'whoami', 'audit'] } });

const access = z
  .strictObject({
    defaultRoles: z.array(text).default(() => ['viewer']),
    roles: z.record(text, role).default(defaultRoles),
    subjects: z.record(text, z.array(text)).default(() => ({})),
    // Where a break-glass run is announced (a Slack channel id or a stored Teams conversation).
    breakGlass: z.strictObject({ notify: optionalText }).prefault({}),
  })
  .superRefine((section, ctx) => {
    const known = Object.keys(section.roles);
    const check = (name: string, path: (string | number)[], fix = '') => {
      if (known.includes(name)) return;
      const suggestion = closest(name, known);
      const hint = suggestion
        ? `; did you mean "${suggestion}"?`
        : ` (defined: ${known.join(', ') || 'none'})${fix}`;
      ctx.addIssue({
        code: 'custom',
        path,
        message: `role ${JSON.stringify(name)} is not defined in access.roles${hint}`,
      });
    };
    // defaultRoles is [viewer] when not written, so a file that defines its own roles may trip on it unseen.
    const defaultFix = '; define it or set access.defaultRoles';
    for (const [i, name] of section.defaultRoles.entries()) check(name, ['defaultRoles', i], defaultFix);
    for (const [subject, names] of Object.entries(section.subjects)) {
      for (const [i, name] of names.entries()) check(name, ['subjects', subject, i]);
    }
  });

const slack = z
  .strictObject({
    botToken: text,
    signingSecret: text,
    appToken: optionalText,
    socketMode: flag.default(false),
    command: z
      .string()
      .regex(/^\/[^\s/]+$/, { error: 'expected a slash command like /sre' })
      .default('/sre'),
    apiUrl: httpUrl.default('https://slack.com/api/'),
    // Requests older than this are refused, and accepted signatures are remembered this long (replays).
    replayWindow: duration.default('5m'),
    // How long Slack user-group membership (usergroups.users.list) is trusted before asking again.
    groupCacheTtl: duration.default('5m'),
    // A slash command still running after this gets a private "still working" note; 0s turns it off.
    stillWorkingAfter: duration.default('3s'),
  })
  .superRefine((section, ctx) => {
    if (isDuration(section.replayWindow) && parseDuration(section.replayWindow) > 5 * 60_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['replayWindow'],
        message: 'must be 5m or less (Slack and Bolt refuse older requests anyway)',
      });
    }
    if (section.socketMode && section.appToken === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['appToken'],
        message: 'required when socketMode is true (Socket Mode connects with an app-level xapp- token)',
      });
    }
  });

const teams = z
  .strictObject({
    appId: text,
    appPassword: optionalText,
    tenantId: optionalText,
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
  });

// The service catalog: everything Millwright says about "a service" comes from here.
const serviceName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
  error: 'expected a service name like checkout (lowercase letters, digits, -)',
});
const serviceEntry = z.strictObject({
  description: optionalText,
  owners: z.array(text).default(() => []),
  // Home channel: a Slack channel id or a stored Teams conversation.
  channel: optionalText,
  // Invited into incident channels: a Slack user group id or a user id.
  oncall: optionalText,
  tags: z.array(text).default(() => []),
  kubernetes: z
    .strictObject({
      context: optionalText,
      namespace: text,
      deployments: z.array(text).default(() => []),
      selector: optionalText,
    })
    .optional(),
  github: z
    .strictObject({
      repo: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, {
        error: 'expected owner/repo like acme/checkout',
      }),
      environments: z.array(text).default(() => ['production']),
    })
    .optional(),
  slos: z.array(text).default(() => []),
  rollbackRunbook: optionalText,
});

const configObject = z.strictObject({
  server: z.strictObject({ port: port.default(3000), host: text.default('0.0.0.0') }).prefault({}),
  store: z.strictObject({ path: text.default('./.millwright') }).prefault({}),
  audit: z.strictObject({ path: optionalText }).prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  slack: slack.optional(),
  teams: teams.optional(),
  prometheus: z
    .strictObject({
      url: httpUrl,
      bearerToken: optionalText,
      // Basic auth, for a Prometheus behind a proxy or with web.config basic_auth_users.
      basicAuth: z.strictObject({ username: text, password: text }).optional(),
      timeout: duration.default('10s'),
      // Queries in flight at once, so `budget` over many SLOs does not flood Prometheus.
      concurrency: z.int().min(1).max(64).default(8),
    })
    .optional(),
  // Error budgets: where SLO files live, and whether `budget` reads the rules `millwright slo rules` writes.
  slo: z.strictObject({ dir: text.default('./slos'), useRecordingRules: flag.default(false) }).prefault({}),
  github: z
    .strictObject({
      baseUrl: httpUrl.default('https://api.github.com'),
      token: optionalText,
      // Repositories per GraphQL query when `deploys` lists every service; lower it if GitHub times out.
      batchSize: z.int().min(1).max(100).default(50),
      // Repositories runbooks may change (owner/repo or owner/*); absent means any the token reaches.
      allowedRepos: z
        .array(
          z.string().regex(/^[A-Za-z0-9_.-]+\/([A-Za-z0-9_.-]+|\*)$/, {
            error: 'expected owner/repo or owner/*, like acme/shop',
          }),
        )
        .optional(),
    })
    .optional(),
  // The http executor: requests go only to these named targets, under their baseUrl.
  http: z
    .strictObject({
      targets: z
        .record(
          z
            .string()
            .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'target names are lowercase letters, digits and -' }),
          z.strictObject({
            baseUrl: httpUrl,
            // Values usually come from ${ENV}; all but Accept/Content-Type/User-Agent-like ones are redacted.
            headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), text).optional(),
            timeout: duration.default('10s'),
          }),
        )
        .default(() => ({})),
    })
    .optional(),
  kubernetes: z
    .strictObject({
      kubeconfig: optionalText,
      context: optionalText,
      allowedNamespaces: z.array(text).default(() => []),
      // Replica counts the kubernetes executor's `scale` accepts (default 1..20).
      scaleBounds: z
        .strictObject({ min: z.int().min(0), max: z.int().min(0) })
        .refine((b) => b.min <= b.max, { error: 'min must not be above max' })
        .optional(),
    })
    .optional(),
  access: access.prefault({}),
  runbooks: z.strictObject({ dir: text.default('./runbooks') }).prefault({}),
  // Sections that later features define; accepted loosely until they own their schema.
  services: z.record(serviceName, serviceEntry).default(() => ({})),
  slos: z.array(sloSpecSchema).default(() => []),
  policy: policySchema,
  alertmanager: alertmanagerSchema.optional(),
  digests: digestsSchema,
  // Third-party executor plugins: a package name or a path (relative to this file), and its config block.
  executors: z.array(z.strictObject({ module: text, config: z.unknown().optional() })).default(() => []),
  security: z
    .strictObject({
      // Signs buttons and forms; without it a random secret is kept in the store (fine for one replica).
      actionSecret: optionalText,
      actionTtl: duration.default('1h'),
    })
    .prefault({}),
});

/** The whole of millwright.yml. `audit.path` defaults to `<store.path>/audit.jsonl`. */
export const millwrightConfigSchema = configObject.transform((config) => ({
  ...config,
  audit: { path: config.audit.path ?? join(config.store.path, 'audit.jsonl') },
}));

/** A validated config. Paths are absolute once it comes out of `loadConfig`. */
export type MillwrightConfig = z.infer<typeof millwrightConfigSchema>;

/**
 * Whether a chat platform is set up; without one `npm start` runs the shell.
 *
 * @example
 * if (!isChatPlatformConfigured(config)) startShell();
 */
export function isChatPlatformConfigured(config: Pick<MillwrightConfig, 'slack' | 'teams'>): boolean {
  return config.slack !== undefined || config.teams !== undefined;
}

/** The fields of a zod definition that lead from a schema to the ones nested in it. */
interface NestingDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
}

/** The keys the strict mapping at `path` accepts, for "did you mean" hints on unknown keys. */
export function knownKeysAt(
  path: readonly PropertyKey[],
  root: z.ZodType = millwrightConfigSchema,
): string[] {
  let schema = unwrap(root);
  for (const segment of path) {
    const def = nestingDef(schema);
    const next = def.shape?.[String(segment)] ?? def.element ?? def.valueType;
    if (next === undefined) return [];
    schema = unwrap(next);
  }
  const shape = nestingDef(schema).shape;
  return shape ? Object.keys(shape) : [];
}

function nestingDef(schema: z.ZodType): NestingDef {
  return schema.def as unknown as NestingDef;
}

/** Looks through optional, default, prefault and pipes to the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = nestingDef(current);
    if (def.innerType) current = def.innerType;
    // A preprocess pipe starts with a transform; a transform pipe ends with one.
    else if (def.type === 'pipe' && def.in && def.out)
      current = def.in.def.type === 'transform' ? def.out : def.in;
    else return current;
  }
}
