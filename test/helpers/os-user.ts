// The OS user running the tests is the shell's real user: `--as` is checked against their subject.
import os from 'node:os';

/** The login of whoever runs the tests, as the shell sees it. */
export const OS_USER = os.userInfo().username;

interface AccessSection {
  defaultRoles?: string[];
  roles?: Record<string, { allow: string[]; channels?: string[] }>;
  subjects?: Record<string, string[]>;
}

/**
 * An `access:` section (YAML) where the OS user running the tests acts as `tester`, who holds the
 * `impersonate` permission, so a test may pick its actor with `--as`. Roles default to the
 * built-in viewer.
 *
 * @example
 * await writeFile(config, `store:\n  path: ./data\n${accessWithImpersonator({ subjects: { ana: ['admin'] } })}`);
 */
export function accessWithImpersonator(access: AccessSection = {}): string {
  const section = {
    ...access,
    roles: {
      ...(access.roles ?? { viewer: { allow: ['help', 'whoami', 'audit'] } }),
      impersonator: { allow: ['impersonate'] },
    },
    subjects: { ...access.subjects, tester: ['impersonator'] },
    osUsers: { [OS_USER]: 'tester' },
  };
  // JSON is YAML, so the section can be written as one flow mapping.
  return `access: ${JSON.stringify(section)}\n`;
}
