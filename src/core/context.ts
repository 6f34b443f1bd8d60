// The one typed context that flows through a command: who asked, where, the services they may
// use, and a way to post progress while long work runs.

import type { AccessDecision, UnreadGroups } from './access.js';
import type { ActionSigner } from './action-token.js';
import type { AuditLog, AuditOutcome, AuditRecord } from './audit.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { MessageHandle } from './messages.js';
import type { Reply } from './reply.js';
import type { UpstreamResilience } from './resilience.js';
import type { SecretSet } from './secrets.js';
import type { SpentActions } from './spent-actions.js';

/** Where a command came from. */
export type Surface = 'shell' | 'slack' | 'teams' | 'alertmanager' | 'scheduler' | (string & {});

/** The person (or system) a command runs as. */
export interface Actor {
  id: string;
  name?: string;
  groups?: readonly string[];
  /** Groups the surface could not read for this person; none of their roles are in `roles`. */
  unreadGroups?: UnreadGroups;
  /** Resolved by access control before the command runs. */
  roles: readonly string[];
  /** The real person behind an impersonated actor (`os:alice`); every audit record names them. */
  via?: string;
}

export type { MessageHandle, Notifier, ReplySink } from './messages.js';

/**
 * Everything a command may use. Core declares only what it owns; each feature adds its own service
 * from its folder by declaration merging, so core never imports a feature:
 *
 * @example
 * declare module '../core/context.js' {
 *   interface Services { changes: ChangeService }
 * }
 */
export interface Services {
  /** The audit trail (src/audit implements it). */
  audit: AuditLog;
  /** Who may run what where (src/auth implements it). */
  access: AccessPolicy;
  /** Signs the buttons and forms a reply carries; the shared interaction flow verifies them on click. */
  actions: ActionSigner;
  /** Which signed tokens were already used; the interaction flow spends each on its first click. */
  spentActions: SpentActions;
  /** Every secret value known to the process; replies, logs, posts, the trail and the store pass through it. */
  secrets: SecretSet;
  /** The one retry and circuit-breaker policy every upstream client calls through, one circuit per upstream. */
  resilience: UpstreamResilience;
}

/** What the router and the interaction flow ask of access control. */
export interface AccessPolicy {
  rolesFor(subject: { id: string; groups?: readonly string[] }): string[];
  check(actor: Actor, permission: string, channel: string): AccessDecision;
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
