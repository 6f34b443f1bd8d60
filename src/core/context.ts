// The one typed context that flows through a command: who asked, where, the services they may
// use, and a way to post progress while long work runs.

import type { AuditLog, AuditOutcome, AuditRecord } from '../audit/types.js';
import type { AccessControl, ActionSigner } from '../auth/index.js';
import type { ChangeService } from '../changes/index.js';
import type { MillwrightConfig } from '../config/index.js';
import type { Deploys } from '../deploys/deploys.js';
import type { DigestService } from '../digests/index.js';
import type { ExecutorHost } from '../executors/host.js';
import type { IncidentRoom, IncidentService } from '../incidents/index.js';
import type { RunbookService } from '../runbooks/service.js';
import type { SloService } from '../slo/index.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { CommandRegistry } from './registry.js';
import type { Reply } from './reply.js';

/** Where a command came from. */
export type Surface = 'shell' | 'slack' | 'teams' | 'alertmanager' | 'scheduler' | (string & {});

/** The person (or system) a command runs as. */
export interface Actor {
  id: string;
  name?: string;
  groups?: readonly string[];
  /** Resolved by access control before the command runs. */
  roles: readonly string[];
}

/** A message already posted, which can be edited in place (chat.update, updateActivity). */
export interface MessageHandle {
  update(reply: Reply): Promise<void>;
}

/** How an adapter receives the replies a command posts while it runs. */
export interface ReplySink {
  send(reply: Reply): Promise<MessageHandle>;
}

/** Everything a command may use; built once in src/main.ts. Later features add services here. */
export interface Services {
  config: MillwrightConfig;
  store: Store;
  audit: AuditLog;
  registry: CommandRegistry;
  access: AccessControl;
  /** Signs the buttons and forms a reply carries; adapters verify them on click. */
  actions: ActionSigner;
  executors: ExecutorHost;
  runbooks: RunbookService;
  changes: ChangeService;
  incidents: IncidentService;
  /** Deployment status per service (Kubernetes rollouts merged with GitHub deployments). */
  deploys: Deploys;
  /** Creates incident channels; set by the Slack adapter when it runs. */
  incidentRoom?: IncidentRoom;
  /** Posts messages nobody asked for (break-glass notices, digests) through the running chat adapter. */
  notifier?: Notifier;
  /** SLOs and error budgets; present only when `prometheus` is configured. */
  slo?: SloService;
  /** Scheduled digests: their state, previews and posts on demand; the server runs the schedule. */
  digests: DigestService;
}

/** Who asked, from where: what services record with every decision they make for a command. */
export interface Origin {
  actor: Actor;
  channel: string;
  surface: string;
  ref: string;
}

/** The origin of the command a context belongs to. */
export function originOf(ctx: Context): Origin {
  return { actor: ctx.actor, channel: ctx.channel, surface: ctx.surface, ref: ctx.ref };
}

/** Where unsolicited messages go: the chat adapter that is running (or the shell's output). */
export interface Notifier {
  post(target: string, reply: Reply): Promise<MessageHandle>;
}

/**
 * What a command handler receives.
 *
 * @example
 * handler: async (ctx, args) => {
 *   const progress = await ctx.reply(reply(text('restarting...')));
 *   await progress.update(reply(text('restarted')));
 *   return reply(text('done'));
 * }
 */
export interface Context {
  /** Correlation id shared by the reply, the logs and the audit records of this command. */
  readonly ref: string;
  readonly actor: Actor;
  readonly surface: Surface;
  readonly channel: string;
  readonly services: Services;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted when the command's deadline passes or the surface goes away. */
  readonly signal: AbortSignal;
  /** Posts a reply now (progress during long work); the handle edits it in place later. */
  reply(reply: Reply): Promise<MessageHandle>;
  /** Whether the actor may do `permission` in this channel. */
  can(permission: string): boolean;
  /** Appends an audit record for a decision or an effect inside this command. */
  audit(action: string, args: Record<string, unknown>, outcome: AuditOutcome): Promise<AuditRecord>;
}
