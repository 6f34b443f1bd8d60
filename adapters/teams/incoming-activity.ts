// The shape a POSTed Bot Framework activity must have before botbuilder sees it, and the tenant it
// comes from. Only what Millwright relies on is checked; every other field passes through untouched.
import { z } from 'zod';

/** Issue messages that read after the field's path: "type is required", "from.id must be a string". */
const must = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${what}`;

const id = z.string({ error: must('a string') }).min(1, { error: 'must not be empty' });
const optionalString = z.string({ error: must('a string') }).optional();

/** A channel account (`from`, `recipient`): the Activity schema requires its `id`. */
const channelAccount = z.looseObject(
  { id, name: optionalString, aadObjectId: optionalString },
  { error: must('an object with an id') },
);

const incomingActivitySchema = z.looseObject(
  {
    type: z.string({ error: must('a string like "message"') }).min(1, { error: 'must not be empty' }),
    serviceUrl: optionalString,
    channelId: optionalString,
    from: channelAccount.optional(),
    recipient: channelAccount.optional(),
    conversation: z
      .looseObject(
        { id, tenantId: optionalString, conversationType: optionalString },
        { error: must('an object with an id') },
      )
      .optional(),
    channelData: z
      .looseObject(
        { tenant: z.looseObject({ id: optionalString }, { error: must('an object') }).optional() },
        { error: must('an object') },
      )
      .optional(),
  },
  { error: 'the body must be a JSON activity object' },
);

export type IncomingActivity = z.output<typeof incomingActivitySchema>;

/**
 * Checks a parsed request body against the parts of the Activity schema Millwright relies on.
 * The problem is one line naming the field, for a 400 the caller can act on.
 *
 * @example
 * const read = readActivity(JSON.parse(body));
 * if (!read.ok) return sendJson(res, 400, { error: read.problem });
 */
export function readActivity(
  body: unknown,
): { ok: true; activity: IncomingActivity } | { ok: false; problem: string } {
  const parsed = incomingActivitySchema.safeParse(body);
  if (parsed.success) return { ok: true, activity: parsed.data };
  const [issue] = parsed.error.issues;
  if (!issue || issue.path.length === 0)
    return { ok: false, problem: issue?.message ?? 'not a Bot Framework activity' };
  return { ok: false, problem: `not a Bot Framework activity: ${issue.path.join('.')} ${issue.message}` };
}

/** Every tenant id an activity names (Teams puts it in `channelData.tenant` and on the conversation). */
export function tenantsOf(activity: IncomingActivity): string[] {
  const named = [activity.channelData?.tenant?.id, activity.conversation?.tenantId];
  return [...new Set(named.filter((tenant): tenant is string => !!tenant).map((t) => t.toLowerCase()))];
}
