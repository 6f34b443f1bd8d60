// Who the shell runs as: the OS user's subject (access.osUsers), or with `--as` another subject,
// which only a subject holding the `impersonate` permission may name.
import type { AccessPolicy } from '../core/context.js';

/** The permission to act as another subject (`millwright shell --as bob`); `*` covers it. */
export const IMPERSONATE = 'impersonate';

export type ShellIdentity =
  | {
      allowed: true;
      /** The subject commands run as. */
      actor: string;
      /** `os:alice` when the actor is someone else than the OS user's own subject. */
      via?: string;
    }
  | {
      allowed: false;
      /** The OS user's own subject, who asked. */
      subject: string;
      via: string;
      /** One line: what was refused, why, and how to allow it. */
      message: string;
    };

/**
 * Decides who a shell started by `osUser` runs as, with `requested` from `--as` when given.
 *
 * @example
 * const who = shellIdentity(access, config.access.osUsers, 'alice', 'bob', 'shell');
 * if (who.allowed) shell.run({ actor: who.actor, via: who.via });
 */
export function shellIdentity(
  access: AccessPolicy,
  osUsers: Readonly<Record<string, string>>,
  osUser: string,
  requested: string | undefined,
  channel: string,
): ShellIdentity {
  const mapped = Object.hasOwn(osUsers, osUser) ? osUsers[osUser] : undefined;
  const subject = mapped ?? osUser;
  if (requested === undefined || requested === subject) return { allowed: true, actor: subject };
  const via = `os:${osUser}`;
  const roles = access.rolesFor({ id: subject });
  const decision = access.check({ id: subject, roles }, IMPERSONATE, channel);
  if (decision.allowed) return { allowed: true, actor: requested, via };
  const who = mapped
    ? `OS user ${osUser} acts as ${subject} (access.osUsers)`
    : `OS user ${osUser} is not in access.osUsers, so acts as ${subject}`;
  const fix = mapped
    ? `give ${subject} a role that allows ${IMPERSONATE} in access.subjects`
    : `map ${osUser} in access.osUsers to a subject whose role allows ${IMPERSONATE}`;
  return {
    allowed: false,
    subject,
    via,
    message: `--as ${requested} refused: ${who}, and ${decision.reason}; to allow it, ${fix}, or run without --as`,
  };
}
