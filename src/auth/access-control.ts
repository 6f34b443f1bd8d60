// Who may run what, where: roles grant permission patterns, subjects (users and groups) get
// roles, and a role may be limited to some channels. Deny by default.
import type { AccessDecision } from '../core/access.js';

export type { AccessDecision };

export interface RoleSpec {
  /** Permission patterns: `audit`, `runbook.*`, `*`. */
  allow: readonly string[];
  /** When present, the role only counts in these channels (`*` for any). */
  channels?: readonly string[];
}

export interface AccessSpec {
  defaultRoles: readonly string[];
  roles: Readonly<Record<string, RoleSpec>>;
  /** `alice` or `group:sre` -> role names. */
  subjects: Readonly<Record<string, readonly string[]>>;
  /** OS user -> the subject they are in the shell (`alice: ana`). */
  osUsers?: Readonly<Record<string, string>>;
}

export interface Subject {
  id: string;
  groups?: readonly string[];
}

/** Whether a permission pattern covers a permission (`runbook.*` covers `runbook.run`). */
export function patternCovers(pattern: string, permission: string): boolean {
  if (pattern === '*' || pattern === permission) return true;
  if (pattern.endsWith('.*')) return permission.startsWith(pattern.slice(0, -1));
  return permission.startsWith(`${pattern}.`);
}

/**
 * Access decisions from the `access:` section of the config.
 *
 * @example
 * const access = new AccessControl(config.access);
 * access.check({ id: 'ana' }, 'runbook.run', 'C123').allowed
 */
export class AccessControl {
  constructor(private readonly spec: AccessSpec) {}

  /** Every role the subject holds: the defaults, its own, and its groups'. */
  rolesFor(subject: Subject): string[] {
    const roles = new Set(this.spec.defaultRoles);
    for (const role of this.#subjectRoles(subject.id)) roles.add(role);
    for (const group of subject.groups ?? []) {
      for (const role of this.#subjectRoles(`group:${group}`)) roles.add(role);
    }
    return [...roles].sort();
  }

  // Own keys only: chat user ids are any text, and `constructor` or `valueOf` is nobody's role list.
  #subjectRoles(id: string): readonly string[] {
    return Object.hasOwn(this.spec.subjects, id) ? (this.spec.subjects[id] ?? []) : [];
  }

  #role(name: string): RoleSpec | undefined {
    return Object.hasOwn(this.spec.roles, name) ? this.spec.roles[name] : undefined;
  }

  check(subject: Subject, permission: string, channel: string): AccessDecision {
    const roles = this.rolesFor(subject);
    let channelBlocked: string | undefined;
    for (const name of roles) {
      const role = this.#role(name);
      if (!role?.allow.some((pattern) => patternCovers(pattern, permission))) continue;
      if (role.channels && !role.channels.includes('*') && !role.channels.includes(channel)) {
        channelBlocked = name;
        continue;
      }
      return { allowed: true, reason: `role ${name} allows ${permission}` };
    }
    if (channelBlocked) {
      return {
        allowed: false,
        reason: `role ${channelBlocked} allows ${permission} only in ${this.#role(channelBlocked)?.channels?.join(', ')}`,
      };
    }
    return {
      allowed: false,
      reason: `${subject.id} (roles: ${roles.join(', ') || 'none'}) may not run ${permission}`,
    };
  }
}
