// The access and security sections of millwright.yml: roles, subjects, break-glass, and the button secret.
import { z } from 'zod';
import { duration, optionalText, text } from '../config/fields.js';
import { lazySchema } from '../core/lazy-schema.js';
import { closest } from '../core/suggest.js';

const permission = lazySchema(() =>
  z.string().regex(/^(\*|[a-z][a-z0-9-]*(\.([a-z][a-z0-9-]*|\*))*)$/, {
    error: 'expected a permission like help, runbook.list, runbook.* or *',
  }),
);
// Login names as Linux and macOS allow them (Samba's trailing `$` included); no `:`, so `os:alice` is caught.
const OS_USER = /^[A-Za-z0-9_][A-Za-z0-9._@-]*\$?$/;
const role = lazySchema(() =>
  z.strictObject({ allow: z.array(permission), channels: z.array(text).optional() }),
);
const defaultRoles = () => ({ viewer: { allow: ['help', 'whoami', 'audit'] } });

export const accessSchema = lazySchema(() =>
  z
    .strictObject({
      defaultRoles: z.array(text).default(() => ['viewer']),
      roles: z.record(text, role).default(defaultRoles),
      subjects: z.record(text, z.array(text)).default(() => ({})),
      // Who an OS user is in the shell (`alice: ana`); an unmapped OS user is the subject of its own name.
      osUsers: z.record(text, text).default(() => ({})),
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
      for (const [osUser, subject] of Object.entries(section.osUsers)) {
        if (!OS_USER.test(osUser)) {
          ctx.addIssue({
            code: 'custom',
            path: ['osUsers', osUser],
            message: `${JSON.stringify(osUser)} is not an OS user name; write the login as the OS knows it, like alice: ana`,
          });
        }
        // A person acts as one subject; groups give roles to subjects, they do not act.
        if (subject.startsWith('group:')) {
          ctx.addIssue({
            code: 'custom',
            path: ['osUsers', osUser],
            message: `an OS user maps to one subject, not a group (${subject}); write a subject like ana and give it roles in access.subjects`,
          });
        }
      }
    }),
);

export const securitySchema = lazySchema(() =>
  z
    .strictObject({
      // Signs buttons and forms; without it a random secret is kept in the store (fine for one replica).
      actionSecret: optionalText,
      actionTtl: duration.default('1h'),
    })
    .prefault({}),
);
