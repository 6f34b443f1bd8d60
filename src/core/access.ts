// The answer access control gives for one permission in one channel (src/auth decides it), and the
// refusal a person reads, which names the groups a surface could not read when those mattered.
import { ErrorCode, MillwrightError } from './errors.js';

export interface AccessDecision {
  allowed: boolean;
  /** Why, in one line a person can act on. */
  reason: string;
}

/**
 * Groups a surface could not read for the person asking (Slack user groups when Slack refused
 * usergroups.list). Access fails closed: none of their roles apply until the surface can read them.
 */
export interface UnreadGroups {
  /** What the groups are, in the person's words: `Slack user groups`. */
  source: string;
  /** The configured groups whose members are unknown. */
  groups: readonly string[];
  /** The upstream's error and its fix, no secrets: `usergroups.list: missing_scope; the app needs usergroups:read`. */
  cause: string;
}

/**
 * The refusal for a denied permission. When `unread` is given (the caller found the permission would
 * have been granted had those groups been read), the line says the groups could not be read and why,
 * and the ordinary reason moves to the hint.
 *
 * @example
 * throw permissionDenied(decision.reason, 'ask an admin for a role that allows runbook.run');
 * // permission denied: ana (roles: viewer) may not run runbook.run
 */
export function permissionDenied(reason: string, hint: string, unread?: UnreadGroups): MillwrightError {
  if (!unread)
    return new MillwrightError(ErrorCode.PermissionDenied, `permission denied: ${reason}`, { hint });
  return new MillwrightError(
    ErrorCode.PermissionDenied,
    `permission denied: your roles from ${unread.source} could not be read (${unread.cause}), so only roles given to you by name apply`,
    { hint: `run it again once they can be read; without them: ${reason}; ${hint}` },
  );
}

/**
 * The actor with every group it could not read counted as its own: what access would decide had the
 * lookup answered and found them a member of all of them.
 *
 * @example
 * const hoped = withUnreadGroups(actor);
 * if (hoped && access.check(hoped, permission, channel).allowed) throw permissionDenied(reason, hint, actor.unreadGroups);
 */
export function withUnreadGroups<T extends { groups?: readonly string[]; unreadGroups?: UnreadGroups }>(
  actor: T,
): T | undefined {
  if (!actor.unreadGroups?.groups.length) return undefined;
  return { ...actor, groups: [...new Set([...(actor.groups ?? []), ...actor.unreadGroups.groups])] };
}
