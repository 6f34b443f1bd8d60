// digest list | digest run NAME [--here]: the scheduled digests with their next and last runs, and a
// digest posted now or previewed in this channel.
import {
  type AnswerProblem,
  type Block,
  context,
  defineCommand,
  formatWhen,
  partialAnswer,
  type Reply,
  reply,
  table,
  text,
  viaOf,
} from '../src/core/index.js';
import type { DigestStatus, RunHistoryEntry } from '../src/digests/index.js';

const EXAMPLE = `digests:
  - name: morning
    schedule: "0 9 * * 1-5"
    timeZone: Europe/Berlin
    target: C0123ABCD
    sections: [budgets, deploys, changes, incidents, toil]`;

/** One digest's schedule and runs as raw values (shape: docs/schemas/digest.schema.json). */
function digestStatusData(status: DigestStatus) {
  const { digest, pending, lastRun } = status;
  return {
    name: digest.name,
    description: digest.description ?? null,
    schedule: digest.schedule,
    timeZone: digest.timeZone,
    target: digest.target,
    sections: [...digest.sections],
    nextRun: status.nextRun?.toISOString() ?? null,
    lastRun: lastRun ? runData(lastRun) : null,
    lastPostedAt: status.lastPostedAt?.toISOString() ?? null,
    pending: pending
      ? {
          state: pending.state,
          kind: pending.kind,
          attempts: pending.attempts,
          startedAt: pending.startedAt,
          nextAttemptAt: pending.nextAttemptAt ?? null,
          lastError: pending.lastError ?? null,
        }
      : null,
  };
}

function runData(entry: RunHistoryEntry) {
  return {
    at: entry.at,
    kind: entry.kind,
    slot: entry.slot ?? null,
    result: entry.result,
    attempt: entry.attempt,
    detail: entry.detail ?? null,
    by: entry.by,
  };
}

function lastRunText(entry: RunHistoryEntry | undefined, now: Date, timeZone: string): string {
  if (!entry) return 'never';
  const how =
    entry.kind === 'scheduled' ? '' : entry.kind === 'manual' ? ` (by ${entry.by})` : ` (${entry.kind})`;
  return `${formatWhen(new Date(entry.at), now, timeZone)}${how}`;
}

function resultText(status: DigestStatus, now: Date): string {
  const { pending, lastRun, digest } = status;
  if (pending?.state === 'waiting' && pending.nextAttemptAt) {
    const next = formatWhen(new Date(pending.nextAttemptAt), now, digest.timeZone);
    return `retrying: attempt ${pending.attempts} of ${digest.retry.attempts} failed (${pending.lastError ?? 'unknown error'}); next attempt ${next}`;
  }
  if (pending?.state === 'posting') return `posting now (attempt ${pending.attempts})`;
  if (!lastRun) return '-';
  const attempts = lastRun.attempt > 1 ? ` after ${lastRun.attempt} attempts` : '';
  switch (lastRun.result) {
    case 'posted':
      return `posted${attempts}`;
    case 'skipped':
      return `skipped: ${lastRun.detail ?? ''}`;
    default:
      return `failed: ${lastRun.detail ?? 'unknown error'}`;
  }
}

/** The answer first: which digests need a look, or that all is well. */
function lead(statuses: DigestStatus[], now: Date): string {
  const troubled = statuses.filter(
    (status) => status.pending?.state === 'waiting' || status.lastRun?.result === 'failed',
  );
  if (troubled.length === 0) {
    const count = `${statuses.length} digest${statuses.length === 1 ? '' : 's'}`;
    const next = statuses
      .filter((status) => status.nextRun)
      .sort((a, b) => a.nextRun!.getTime() - b.nextRun!.getTime())[0];
    return next
      ? `${count}, none failing; next: ${next.digest.name} ${formatWhen(next.nextRun!, now, next.digest.timeZone)}`
      : `${count}, none failing`;
  }
  return troubled.map((status) => `${status.digest.name}: ${resultText(status, now)}`).join('\n');
}

export default defineCommand({
  name: 'digest',
  summary: 'Scheduled digests: budgets, deploys, changes, incidents and toil saved',
  examples: ['digest list', 'digest run morning --here'],
  subcommands: {
    list: {
      summary: 'Every digest with its schedule, next run (in its time zone), target and last run',
      examples: ['digest list'],
      handler: async (ctx): Promise<Reply> => {
        const { digests } = ctx.services;
        const statuses = await digests.status(ctx.clock.now());
        const data = { digests: statuses.map(digestStatusData), scheduling: digests.scheduling };
        if (statuses.length === 0) {
          return {
            ...reply(
              text('No digests are configured.'),
              context(`Add one to millwright.yml:\n\`\`\`${EXAMPLE}\`\`\``),
            ),
            data,
          };
        }
        const now = ctx.clock.now();
        const blocks: Block[] = [
          text(`*${lead(statuses, now)}*`),
          table(
            ['digest', 'schedule', 'next run', 'target', 'last run', 'result'],
            statuses.map((status) => [
              status.digest.name,
              `${status.digest.schedule} (${status.digest.timeZone})`,
              status.nextRun ? formatWhen(status.nextRun, now, status.digest.timeZone) : 'never',
              status.digest.target,
              lastRunText(status.lastRun, now, status.digest.timeZone),
              resultText(status, now),
            ]),
          ),
          context(
            digests.scheduling
              ? `This replica (${digests.instanceId}) posts them on schedule; digest run NAME posts one now.`
              : 'Nothing posts on schedule here: the server (millwright serve) does. digest run NAME --here previews one.',
          ),
        ];
        return { ...reply(...blocks), data };
      },
    },
    run: {
      summary: 'Post a digest to its target now, or preview it here with --here',
      examples: ['digest run morning', 'digest run morning --here'],
      positionals: [{ name: 'name', description: 'the digest, as in digest list', required: true }],
      flags: { here: 'show the digest in this channel instead of posting it to its target' },
      timeoutMs: 150_000,
      handler: async (ctx, args): Promise<Reply> => {
        const name = args.positionals.name!;
        const { digests } = ctx.services;
        if (args.flags.has('here')) {
          // A section that could not be read makes the preview partial; the others still show.
          const preview = await digests.preview(name, ctx.clock.now());
          return partialAnswer(preview, (preview.data?.problems ?? []) as AnswerProblem[]);
        }
        const digest = digests.get(name);
        const posted = await digests.postNow(
          name,
          { actor: ctx.actor.id, ...viaOf(ctx.actor), surface: ctx.surface },
          ctx.clock.now(),
        );
        return {
          ...reply(
            text(`Posted the ${name} digest to ${digest.target}.`),
            context(
              'The scheduled runs still report from the last scheduled digest. digest list shows them.',
            ),
          ),
          data: { posted: { digest: name, target: digest.target, run: runData(posted) } },
        };
      },
    },
  },
});
