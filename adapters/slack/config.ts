// The slack section of millwright.yml.
import { z } from 'zod';
import { duration, flag, httpUrl, optionalText, text } from '../../src/config/fields.js';
import { isDuration, lazySchema, parseDuration } from '../../src/core/index.js';

export const slackSchema = lazySchema(() =>
  z
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
      // How long Slack user-group membership (usergroups.users.list) and people's names (users.info)
      // are trusted before asking again.
      groupCacheTtl: duration.default('5m'),
      // A slash command still running after this gets a private "still working" note; 0s turns it off.
      stillWorkingAfter: duration.default('3s'),
      // Socket Mode: start-up fails with a clear message if Slack has not accepted the connection by
      // then (its client would otherwise retry for half an hour with nothing listening).
      startTimeout: duration.default('30s'),
      // One Web API call or response_url post that has not answered by then is cut and counts as an
      // outage (retried for reads, and towards the Slack circuit).
      timeout: duration.default('10s'),
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
    }),
);
