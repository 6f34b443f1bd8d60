// The one-shot tools of the command line: runbooks lint, rbac, audit verify and repair, store.
import path from 'node:path';
import { buildRuntime, loadConfig, secretsOf } from '../app.js';
import {
  type AuditLog,
  type AuditVerifyOptions,
  auditSealingFrom,
  auditVerifyReport,
  repairAuditTrail,
  type VerifiedTrail,
  verifiedChain,
  verifyTrail,
} from '../audit/index.js';
import { formatProblem } from '../config/index.js';
import { createLogger, systemClock } from '../core/index.js';
import { buildExecutorHost } from '../executors/module.js';

import type { MainIO } from './io.js';
import { currentOsUser } from './shell.js';

/** `millwright runbooks lint [DIR]`: every problem as file:line:column path: message; exit 1 if any. */
export async function lintRunbooksCommand(
  configPath: string,
  dir: string | undefined,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const refuse = async (): Promise<never> => {
    throw new Error('lint runs no executor');
  };
  const logger = createLogger({ level: 'silent' });
  const lintAudit: AuditLog = {
    append: refuse,
    recent: refuse,
    flush: async () => {},
    close: async () => {},
  };
  const host = await buildExecutorHost(loaded.config, {
    audit: lintAudit,
    logger,
    clock: systemClock,
    secrets: secretsOf(loaded),
    configDir: path.dirname(loaded.path),
  });
  const folder = path.resolve(io.cwd, dir ?? loaded.config.runbooks.dir);
  const { loadRunbooks } = await import('../runbooks/catalog.js');
  const { runbooks, problems } = await loadRunbooks(
    folder,
    { action: (uses) => host.action(uses), roles: Object.keys(loaded.config.access.roles) },
    io.cwd,
  );
  await host.close();
  if (problems.length > 0) {
    io.stderr.write(`${problems.map(formatProblem).join('\n')}\n`);
    io.stderr.write(`${problems.length} problem(s); ${runbooks.size} runbook(s) ok\n`);
    return 1;
  }
  io.stdout.write(`${runbooks.size} runbook(s) ok in ${path.relative(io.cwd, folder) || '.'}\n`);
  return 0;
}

/**
 * `millwright rbac [--namespace N]`: the Roles the configured runbooks and service catalog need,
 * derived from the API calls each kubernetes action and reader declares; warnings go to stderr.
 */
export async function rbacCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  const [
    { planRoles, rolesYaml },
    { KUBERNETES_ACTION_CALLS },
    { deploysKubernetesCalls },
    { ARGO_RELEASE_ACTIONS },
  ] = await Promise.all([
    import('../rbac/index.js'),
    import('../executors/kubernetes/api-calls.js'),
    import('../deploys/api-calls.js'),
    import('../releases/argo-cluster.js'),
  ]);
  const { loadRunbooks } = await import('../runbooks/catalog.js');
  const { runbooks, problems } = await loadRunbooks(loaded.config.runbooks.dir, undefined, io.cwd);
  for (const problem of problems)
    io.stderr.write(`warning: ${formatProblem(problem)} (left out, as the bot leaves it out)\n`);
  const plan = planRoles({
    kubernetes: loaded.config.kubernetes,
    services: loaded.config.services,
    runbooks: [...runbooks.values()].map((r) => r.spec),
    actionCalls: KUBERNETES_ACTION_CALLS,
    serviceCalls: deploysKubernetesCalls,
    rolloutReleaseActions: ARGO_RELEASE_ACTIONS,
  });
  for (const warning of plan.warnings) io.stderr.write(`warning: ${warning}\n`);
  const wanted = typeof values.namespace === 'string' ? values.namespace : undefined;
  const roles = wanted === undefined ? plan.roles : plan.roles.filter((role) => role.namespace === wanted);
  if (roles.length === 0) {
    const known = plan.roles.map((role) => role.namespace).join(', ');
    io.stderr.write(
      wanted === undefined
        ? 'millwright: nothing configured needs Kubernetes rights (no kubernetes runbook steps, no services with a kubernetes section)\n'
        : `millwright: nothing configured needs rights in namespace ${wanted}\nhint: namespaces with a Role: ${known || 'none'}\n`,
    );
    return 1;
  }
  io.stdout.write(rolesYaml(roles));
  return 0;
}

/** `millwright audit verify`: the answer first, then what it does and does not prove. */
export async function auditVerifyCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const explicitConfig = typeof values.config === 'string' || Boolean(io.env.MILLWRIGHT_CONFIG);
  const pathFlag = typeof values.path === 'string' ? values.path : undefined;
  // --path alone is for a copied trail with no config at hand: only the unkeyed chain can be checked.
  const loaded =
    pathFlag === undefined || explicitConfig ? await loadConfig(configPath, { env: io.env }) : undefined;
  const file = pathFlag ?? loaded!.config.audit.path;
  const options: AuditVerifyOptions = loaded
    ? auditSealingFrom(loaded.config.audit, loaded.config.store.path)
    : { keys: new Map() };
  // On PostgreSQL the trail is the millwright_audit table (unless --path names a file, an old copy).
  const inDatabase = pathFlag === undefined && loaded?.config.store.kind === 'postgres';
  let verified: VerifiedTrail;
  if (inDatabase && loaded) {
    const { PostgresDatabase } = await import('../store/postgres-database.js');
    const secrets = secretsOf(loaded);
    const db = await PostgresDatabase.open(loaded.config.store, { scrub: (text) => secrets.text(text) });
    try {
      verified = await verifyTrail({ db }, options);
    } finally {
      await db.close();
    }
  } else {
    verified = await verifyTrail({ file }, options);
  }
  const { result } = verified;
  const hint =
    !result.ok && loaded === undefined && result.problem?.includes('not configured')
      ? 'pass --config so audit verify has the keys from audit.key / audit.keys'
      : undefined;
  const report = auditVerifyReport(verified, options, hint);
  if (values.json === true) {
    const { ok, lines, data, error } = report;
    io.stdout.write(
      `${JSON.stringify({ ok, text: lines.join('\n'), blocks: [], data, ...(error ? { error } : {}) })}\n`,
    );
    return ok ? 0 : 1;
  }
  if (report.error) {
    io.stderr.write(`${report.lines.join('\n')}\n`);
    if (hint) io.stderr.write(`hint: ${hint}\n`);
    return 1;
  }
  io.stdout.write(`${report.lines.join('\n')}\n`);
  return 0;
}

/** `millwright store ...`: migrations, and moving an embedded store into PostgreSQL (src/store/cli.ts). */
export async function storeCommand(argv: string[], configPath: string, io: MainIO): Promise<number> {
  const { runStoreCli } = await import('../store/cli.js');
  return runStoreCli(argv, {
    stdout: io.stdout,
    stderr: io.stderr,
    cwd: io.cwd,
    configPath,
    osUser: io.osUser ?? currentOsUser(),
    loadConfig: () => loadConfig(configPath, { env: io.env }),
    secretsOf: (loaded) => secretsOf(loaded),
    services: async (loaded, names) => {
      const runtime = await buildRuntime(loaded, {
        logger: createLogger({ level: 'silent' }),
        lazy: true,
        mode: 'tool',
      });
      try {
        await runtime.app.prepare(names);
      } catch (error) {
        await runtime.close();
        throw error;
      }
      return { services: runtime.services, close: () => runtime.close() };
    },
  });
}

/** `millwright audit repair`: cuts a torn last line after a crash and records the repair. */
export async function auditRepairCommand(
  configPath: string,
  values: Record<string, string | boolean | undefined>,
  io: MainIO,
): Promise<number> {
  const loaded = await loadConfig(configPath, { env: io.env });
  if (loaded.config.store.kind === 'postgres' && typeof values.path !== 'string') {
    io.stderr.write(
      'millwright: audit repair cuts a torn last line from a file trail; on PostgreSQL each append is one transaction, so there is none to cut\nhint: run `millwright audit verify` to find the first bad record\n',
    );
    return 2;
  }
  const file = typeof values.path === 'string' ? values.path : loaded.config.audit.path;
  const { cut, record, verified } = await repairAuditTrail(file, {
    sealing: auditSealingFrom(loaded.config.audit, loaded.config.store.path),
    actor: `os:${io.osUser ?? currentOsUser()}`,
    secrets: [...loaded.secrets],
  });
  io.stdout.write(
    `${file}: cut a torn last line (would-be seq ${cut.seq}, ${cut.bytes} bytes, sha256 ${cut.sha256.slice(0, 12)}…), kept in ${cut.savedTo}\n`,
  );
  io.stdout.write(
    `recorded as seq ${record.seq} (audit.repaired); the chain continues from seq ${record.seq - 1}\n`,
  );
  if (!verified.ok) {
    io.stderr.write(`${file}: still BROKEN after the repair: ${verified.problem}\n`);
    return 1;
  }
  io.stdout.write(`${file}: ok, ${verified.records} records, ${verifiedChain(verified)}\n`);
  return 0;
}

/**
 * Runs the command line and resolves with the process exit code.
 *
 * @example
 * process.exitCode = await main(['shell', '-e', 'whoami']);
 */
