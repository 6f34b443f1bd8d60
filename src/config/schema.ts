// The schema of millwright.yml: the base sections, composed with the sections each module declares.
// Strict sections so a misspelt key is an error, defaults so an empty file runs a local shell bot.
import { join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '../core/lazy-schema.js';
import { duration, optionalText, port, positiveCount, text } from './fields.js';

// Schemas here parse once per start (and per reload); zod's JIT compile costs more than it saves then.
z.config({ jitless: true });

// The service catalog: everything Millwright says about "a service" comes from here.
const serviceName = lazySchema(() =>
  z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    error: 'expected a service name like checkout (lowercase letters, digits, -)',
  }),
);
const serviceEntry = lazySchema(() =>
  z.strictObject({
    description: optionalText,
    owners: z.array(text).default(() => []),
    // The team that owns the service: change stats and digests sum delivery figures per team.
    team: optionalText,
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
        // An Argo Rollout (argoproj.io/v1alpha1) with a canary strategy: releases drive its steps.
        rollout: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
            error: 'expected the name of an Argo Rollout, like checkout (lowercase letters, digits, - and .)',
          })
          .max(253)
          .optional(),
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
  }),
);

// The audit trail's keys: one (`key`, `keyId`) or several for rotation (`keys`, `activeKey`).
const auditKeyId = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, {
  error: 'expected a key id like k1 (letters, digits, . _ -, at most 32)',
});
const auditSecret = z.preprocess(
  (value) => (value === '' || value === null ? undefined : value),
  z
    .string()
    .min(16, { error: 'an audit key must be at least 16 characters (try: openssl rand -hex 32)' })
    .optional(),
);
const auditSection = z
  .strictObject({
    path: optionalText,
    key: auditSecret,
    keyId: auditKeyId.optional(),
    keys: z.record(auditKeyId, auditSecret).optional(),
    activeKey: auditKeyId.optional(),
    checkpoints: z
      .strictObject({
        file: text,
        every: z.preprocess(
          (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
          z.int({ error: 'expected a whole number of records' }).min(1).default(100),
        ),
      })
      .optional(),
  })
  .superRefine((audit, ctx) => {
    const keys = Object.entries(audit.keys ?? {}).filter(([, secret]) => secret !== undefined);
    if (audit.key !== undefined && audit.keys !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['keys'],
        message: 'set either audit.key (one key) or audit.keys (rotation), not both',
      });
    if (audit.activeKey !== undefined && !keys.some(([id]) => id === audit.activeKey))
      ctx.addIssue({
        code: 'custom',
        path: ['activeKey'],
        message: `no key "${audit.activeKey}" under audit.keys`,
      });
    if (audit.activeKey === undefined && keys.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['keys'],
        message: 'with several keys, name the one new records use in audit.activeKey',
      });
    if (audit.checkpoints !== undefined && audit.key === undefined && keys.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['checkpoints'],
        message: 'checkpoints are signed: set audit.key (or audit.keys) too',
      });
  })
  .prefault({});

/** The audit section once parsed: every key by id, and the one new records are sealed with. */
export interface AuditConfig {
  path: string;
  /** Secrets by key id; empty means the trail is unkeyed (plain SHA-256). */
  keys: Record<string, string>;
  /** The id of the key new records are sealed with; absent when there are no keys. */
  activeKey?: string;
  checkpoints?: { file: string; every: number };
}

// Where state lives: the embedded lowdb file and file trail under `path` (one process), or PostgreSQL
// (several replicas; `path` still holds the log and the shell's history).
const storeSection = z
  .strictObject({
    kind: z.preprocess(
      // `lowdb` is the embedded store's older name in the architecture sketch.
      (value) => (value === 'lowdb' ? 'embedded' : value),
      z.enum(['embedded', 'postgres'], { error: 'expected embedded or postgres' }).default('embedded'),
    ),
    path: text.default('./.millwright'),
    /** postgres only: postgres://user:password@host:5432/db, usually `${DATABASE_URL}`. */
    url: optionalText,
    pool: z
      .strictObject({
        max: positiveCount.default(10),
        /** How long one connection attempt may take. */
        connectTimeout: duration.default('5s'),
        /** Tries to reach the database at start before giving up (waiting 1 s, 2 s, 4 s between them). */
        connectAttempts: positiveCount.default(4),
      })
      .prefault({}),
    ssl: z
      .strictObject({
        mode: z
          .enum(['disable', 'require', 'verify-full'], { error: 'expected disable, require or verify-full' })
          .default('disable'),
        /** PEM file of the CA that signed the server's certificate (verify-full). */
        ca: optionalText,
      })
      .prefault({}),
    /** Whether `serve` applies pending migrations at start (onStart) or refuses a schema that is behind. */
    migrate: z.enum(['onStart', 'never'], { error: 'expected onStart or never' }).default('never'),
  })
  .superRefine((store, ctx) => {
    if (store.kind !== 'postgres') return;
    if (store.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} syntax, shown to the user
        message: 'store.kind postgres needs store.url (for example url: ${DATABASE_URL})',
      });
    } else if (!/^postgres(ql)?:\/\//.test(store.url)) {
      // The value may hold a password: the message never echoes it.
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'expected a URL like postgres://user:password@host:5432/millwright',
      });
    }
  })
  .prefault({});

const baseObject = z.strictObject({
  store: storeSection,
  audit: auditSection,
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

// Base sections a one-shot command need not build: the HTTP server's limits, the upstream call policy
// and the catalog. Like module sections, each is parsed when the file has it and otherwise filled with
// its defaults when first read (see composeConfigSchema).
const lazyBaseSections = {
  server: lazySchema(() =>
    z
      .strictObject({
        port: port.default(3000),
        host: text.default('0.0.0.0'),
        // Against slow and greedy clients (slowloris): see "Limits and shutdown" in the README.
        headersTimeout: duration.default('10s'),
        bodyTimeout: duration.default('10s'),
        keepAliveTimeout: duration.default('5s'),
        maxConnections: positiveCount.default(4096),
        maxBodyReads: positiveCount.default(64),
        // On SIGTERM: /readyz fails for `drain` while everything else serves, then the listener stops
        // and running commands get `shutdownGrace`; the process exits by `shutdownDeadline` regardless.
        drain: duration.default('5s'),
        shutdownGrace: duration.default('10s'),
        shutdownDeadline: duration.default('30s'),
      })
      .prefault({}),
  ),
  // The one retry and circuit-breaker policy every upstream call goes through (Prometheus, Kubernetes,
  // GitHub, http targets, the Slack API, the Bot Connector): see "Upstream calls" in the README.
  resilience: lazySchema(() =>
    z
      .strictObject({
        // Tries of a read (or of any call after a 429), the first included.
        attempts: positiveCount.default(3),
        // First wait between tries, doubled each time (with jitter), up to maxBackoff.
        backoff: duration.default('200ms'),
        maxBackoff: duration.default('5s'),
        // A Retry-After longer than this is not waited for: the call fails at once and says when.
        maxRetryAfter: duration.default('10s'),
        // Failed calls in a row (each after its retries) that open an upstream's circuit.
        failureThreshold: positiveCount.default(5),
        // How long an open circuit fails calls fast before one probe is let through.
        halfOpenAfter: duration.default('30s'),
      })
      .prefault({}),
  ),
  // The service catalog every feature reads.
  services: lazySchema(() => z.record(serviceName, serviceEntry).default(() => ({}))),
};

/** What the base sections hold once parsed. */
export type BaseConfig = Omit<z.output<typeof baseObject>, 'audit'> & {
  audit: AuditConfig;
} & { [K in keyof typeof lazyBaseSections]: z.output<(typeof lazyBaseSections)[K]> };

/**
 * A validated config. Paths are absolute once it comes out of `loadConfig`. Each module adds the
 * sections it owns from its own folder:
 *
 * @example
 * declare module '../config/schema.js' {
 *   interface MillwrightConfig { policy: z.output<typeof policySchema> }
 * }
 */
export interface MillwrightConfig extends BaseConfig {}

/** A composed schema: the base sections plus every module's, and which values are file paths. */
export interface ConfigSchema {
  schema: z.ZodType<MillwrightConfig>;
  /** Dotted paths of values that are file paths, resolved against the config file's directory. */
  paths: readonly string[];
  /**
   * Module sections the file may leave out, which then hold their schema's defaults: the loader
   * fills each in when it is first read, so a start never builds the schema of a section it neither
   * has nor reads.
   */
  defaulted: ReadonlyMap<string, z.ZodType>;
}

/**
 * Composes the base sections with the sections modules declare; a key declared twice (or one that
 * shadows a base section) is an error naming both.
 *
 * @example
 * const schema = composeConfigSchema([{ owner: 'changes', sections: { policy: policySchema } }]);
 */
export function composeConfigSchema(
  parts: readonly {
    owner: string;
    sections?: Readonly<Record<string, z.ZodType>>;
    paths?: readonly string[];
  }[],
): ConfigSchema {
  const owners = new Map<string, string>(Object.keys(baseObject.shape).map((key) => [key, 'config']));
  const sections: Record<string, z.ZodType> = {};
  const defaulted = new Map<string, z.ZodType>();
  const paths = ['store.path', 'store.ssl.ca', 'audit.path', 'audit.checkpoints.file'];
  for (const part of [{ owner: 'config', sections: lazyBaseSections, paths: [] }, ...parts]) {
    for (const [key, section] of Object.entries(part.sections ?? {})) {
      const owner = owners.get(key);
      if (owner) throw new Error(`config section "${key}" is declared by both ${owner} and ${part.owner}`);
      owners.set(key, part.owner);
      if (deferredSections.has(section)) sections[key] = section;
      else {
        // Parsed (and its schema built) only when the file has it; otherwise its defaults, on first read.
        sections[key] = optionalSection(section);
        defaulted.set(key, section);
      }
    }
    paths.push(...(part.paths ?? []));
  }
  // The base sections first, in the order the README lists them, then the modules'.
  const { server, resilience, services, ...moduleSections } = sections;
  const { store, audit, log } = baseObject.shape;
  const shape = { server, store, audit, log, resilience, services, ...moduleSections };
  const schema = z.strictObject(shape).transform((config) => {
    const base = config as unknown as z.output<typeof baseObject>;
    return { ...config, audit: auditConfig(base.audit, base.store.path) };
  });
  return { schema: schema as unknown as z.ZodType<MillwrightConfig>, paths, defaulted };
}

function auditConfig(audit: z.output<typeof auditSection>, storePath: string): AuditConfig {
  const keys: Record<string, string> = {};
  if (audit.key !== undefined) keys[audit.keyId ?? 'k1'] = audit.key;
  for (const [id, secret] of Object.entries(audit.keys ?? {})) if (secret !== undefined) keys[id] = secret;
  const activeKey = audit.activeKey ?? Object.keys(keys)[0];
  return {
    path: audit.path ?? join(storePath, 'audit.jsonl'),
    keys,
    ...(activeKey === undefined ? {} : { activeKey }),
    ...(audit.checkpoints === undefined ? {} : { checkpoints: audit.checkpoints }),
  };
}

/** What a deferred section takes in before its own schema sees it; one for all of them. */
let anyValue: z.ZodUnknown | undefined;

/** Each deferred section's schema, for the walks below (they run only to explain a problem). */
const deferredSections = new WeakMap<z.ZodType, z.ZodType>();

/**
 * An optional config section whose schema is built only when the file has the section: wrap the
 * section's schema in `lazySchema` and declare it with this instead of `.optional()`. A start whose
 * config leaves out slack, teams, alertmanager or gates then never builds their schemas (building a
 * zod schema is most of what loading costs). Problems inside the section keep their paths and
 * messages, and "did you mean" hints still see its keys.
 *
 * @example
 * config: { slack: optionalSection(slackSchema) },   // slackSchema = lazySchema(() => z.strictObject(...))
 */
export function optionalSection<T extends z.ZodType>(section: T): z.ZodOptional<T> {
  // `.optional()` over a lazy would ask the section whether it has a default, building it; over a
  // pipe from unknown it asks unknown. A value that is there flows through the lazy into the section,
  // with the same parse context (so the loader's messages apply) and the same issue paths.
  anyValue ??= z.unknown();
  const deferred = anyValue.pipe(z.lazy(() => section)).optional();
  deferredSections.set(deferred, section);
  return deferred as unknown as z.ZodOptional<T>;
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
  options?: z.ZodType[];
  values?: unknown[];
}

/** The keys the strict mapping at `path` accepts, for "did you mean" hints on unknown keys. */
export function knownKeysAt(path: readonly PropertyKey[], root: z.ZodType): string[] {
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

/**
 * The values a discriminated union at `path` accepts for its `key` (`kind: freeze`, ...), for a
 * problem that would otherwise only say no form matched.
 */
export function discriminatorValuesAt(path: readonly PropertyKey[], key: string, root: z.ZodType): string[] {
  let schema = unwrap(root);
  for (const segment of path) {
    const def = nestingDef(schema);
    const next = def.shape?.[String(segment)] ?? def.element ?? def.valueType;
    if (next === undefined) return [];
    schema = unwrap(next);
  }
  const values = (nestingDef(schema).options ?? []).flatMap((option) => {
    const field = nestingDef(unwrap(option)).shape?.[key];
    return field ? (nestingDef(unwrap(field)).values ?? []) : [];
  });
  return values.map(String);
}

function nestingDef(schema: z.ZodType): NestingDef {
  return schema.def as unknown as NestingDef;
}

/** Looks through optional, default, prefault and pipes to the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const deferred = deferredSections.get(current);
    if (deferred) {
      current = deferred;
      continue;
    }
    const def = nestingDef(current);
    if (def.innerType) current = def.innerType;
    // A preprocess pipe starts with a transform; a transform pipe ends with one.
    else if (def.type === 'pipe' && def.in && def.out)
      current = def.in.def.type === 'transform' ? def.out : def.in;
    else return current;
  }
}
