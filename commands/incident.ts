// incident declare|note|status|role|resolve|list|postmortem|brief: an incident channel with the
// facts pinned, a timeline that keeps itself, and a blameless postmortem draft.

import {
  type AnswerProblem,
  badArgument,
  type Context,
  context,
  defineCommand,
  formatWhen,
  header,
  originOf,
  partialAnswer,
  publicReply,
  type Reply,
  reply,
  table,
  text,
} from '../src/core/index.js';
import { impactData, incidentData, suspectData } from '../src/incidents/incident-data.js';
import type { Incident, IncidentStatus } from '../src/incidents/index.js';
import { INCIDENT_STATUSES } from '../src/incidents/types.js';

const person = (value: string) => value.replace(/^<@([A-Z0-9]+)(\|[^>]*)?>$/, '$1').replace(/^@/, '');
const incidentOption = {
  id: { type: 'string' as const, description: 'the incident, when not typed in its channel (INC-3)' },
};

async function current(ctx: Context, id: unknown) {
  return ctx.services.incidents.find(ctx.channel, typeof id === 'string' ? id : undefined);
}

/** The reply with the incident's raw values (shape: docs/schemas/incident.schema.json). */
function withIncident(
  ctx: Context,
  answer: Reply,
  incident: Incident,
  extra: Record<string, unknown> = {},
): Reply {
  return { ...answer, data: { incident: incidentData(incident, ctx.clock.now()), ...extra } };
}

/** What could not be read for a brief or a draft makes the answer partial (exit non-zero). */
function partial(answer: Reply): Reply {
  return partialAnswer(answer, (answer.data?.problems ?? []) as AnswerProblem[]);
}

export default defineCommand({
  name: 'incident',
  summary: 'Declare and run incidents: channel, brief, timeline, postmortem',
  examples: [
    'incident declare "checkout errors" service=checkout sev=2',
    'incident note "rolled back to v41"',
  ],
  subcommands: {
    declare: {
      summary: 'Declare an incident: opens a channel, invites people, pins the brief',
      examples: ['incident declare "checkout 5xx spike" service=checkout sev=2 commander=@ana'],
      positionals: [
        { name: 'title', description: 'what is wrong, in a few words', required: true, rest: true },
      ],
      options: {
        service: { type: 'string', required: true, description: 'the affected service' },
        sev: { type: 'int', required: true, min: 1, max: 4, description: 'severity, 1 (worst) to 4' },
        commander: { type: 'string', description: 'who leads (defaults to you)' },
      },
      handler: async (ctx, args) => {
        const { service, sev, commander } = args.options as {
          service: string;
          sev: number;
          commander?: string;
        };
        if (!ctx.services.config.services[service] && Object.keys(ctx.services.config.services).length > 0) {
          throw badArgument(
            `${service} is not in the service catalog`,
            `known services: ${Object.keys(ctx.services.config.services).join(', ')}`,
            'service',
          );
        }
        const incident = await ctx.services.incidents.declare(originOf(ctx), {
          title: args.positionals.title!,
          service,
          severity: sev,
          ...(commander ? { commander: person(commander) } : {}),
        });
        const moved = incident.channel !== ctx.channel;
        const brief = moved ? undefined : await ctx.services.incidents.brief(incident);
        const answer = publicReply(
          header(`${incident.id} declared: SEV${incident.severity} ${service}`),
          text(moved ? `Follow it in <#${incident.channel}>; the brief is pinned there.` : incident.title),
          ...(brief ? brief.blocks.slice(1) : []),
          ...(sev <= 2
            ? [context(`While ${incident.id} is open, the change gate holds changes to ${service}.`)]
            : []),
        );
        // Declared here, the reply carries the brief; its missing parts make the answer partial.
        return partial(
          brief
            ? { ...answer, data: brief.data ?? {} }
            : withIncident(ctx, answer, incident, { problems: [] }),
        );
      },
    },
    note: {
      summary: 'Add a note to the incident timeline',
      examples: ['incident note "db failover done"'],
      positionals: [{ name: 'text', description: 'the note', required: true, rest: true }],
      options: incidentOption,
      handler: async (ctx, args) => {
        const incident = await current(ctx, args.options.id);
        const noted = await ctx.services.incidents.note(originOf(ctx), incident, args.positionals.text!);
        return withIncident(
          ctx,
          publicReply(context(`${incident.id} noted by ${ctx.actor.id}: ${args.positionals.text}`)),
          noted,
        );
      },
    },
    status: {
      summary: 'Set the incident status',
      examples: ['incident status identified'],
      positionals: [{ name: 'status', description: INCIDENT_STATUSES.join('|'), required: true }],
      options: incidentOption,
      handler: async (ctx, args) => {
        const status = args.positionals.status!.toLowerCase();
        if (!(INCIDENT_STATUSES as readonly string[]).includes(status)) {
          throw badArgument(
            `status must be one of ${INCIDENT_STATUSES.join(', ')}; got "${status}"`,
            undefined,
            'status',
          );
        }
        const incident = await ctx.services.incidents.setStatus(
          originOf(ctx),
          await current(ctx, args.options.id),
          status as IncidentStatus,
        );
        return withIncident(ctx, publicReply(text(`${incident.id} is now *${incident.status}*.`)), incident);
      },
    },
    role: {
      summary: 'Hand over the commander role',
      examples: ['incident role commander=@bo'],
      options: {
        commander: { type: 'string', required: true, description: 'the new commander' },
        ...incidentOption,
      },
      handler: async (ctx, args) => {
        const incident = await ctx.services.incidents.setCommander(
          originOf(ctx),
          await current(ctx, args.options.id),
          person(args.options.commander as string),
        );
        return withIncident(
          ctx,
          publicReply(text(`${incident.commander} is now commander of ${incident.id}.`)),
          incident,
        );
      },
    },
    resolve: {
      summary: 'Resolve the incident',
      examples: ['incident resolve summary="bad config rolled back"'],
      options: {
        summary: { type: 'string', description: 'what happened, in a sentence' },
        ...incidentOption,
      },
      handler: async (ctx, args) => {
        const summary = args.options.summary as string | undefined;
        const incident = await ctx.services.incidents.resolve(
          originOf(ctx),
          await current(ctx, args.options.id),
          summary,
        );
        const lasted = new Date(incident.resolvedAt!).getTime() - new Date(incident.startedAt).getTime();
        return withIncident(
          ctx,
          publicReply(
            header(`${incident.id} resolved after ${Math.round(lasted / 60_000)} min`),
            text('Run incident postmortem for a blameless draft with the numbers and the timeline.'),
          ),
          incident,
        );
      },
    },
    list: {
      summary: 'List open (or all) incidents',
      examples: ['incident list', 'incident list all'],
      positionals: [{ name: 'which', description: 'open (default) or all' }],
      handler: async (ctx, args) => {
        const which = (args.positionals.which ?? 'open').toLowerCase();
        if (which !== 'open' && which !== 'all')
          throw badArgument(`incident list takes open or all, not "${which}"`);
        const incidents = await ctx.services.incidents.list(which);
        const data = { incidents: incidents.map((i) => incidentData(i, ctx.clock.now())) };
        if (incidents.length === 0)
          return { ...reply(text(which === 'open' ? 'No open incidents.' : 'No incidents yet.')), data };
        const answer = reply(
          table(
            ['id', 'sev', 'service', 'title', 'status', 'commander', 'declared'],
            incidents.map((i) => [
              i.id,
              `SEV${i.severity}`,
              i.service,
              i.title,
              i.status,
              i.commander,
              formatWhen(new Date(i.declaredAt), ctx.clock.now()),
            ]),
          ),
        );
        return { ...answer, data };
      },
    },
    brief: {
      summary: 'Show the incident brief again: budget, suspects, runbooks',
      examples: ['incident brief'],
      options: incidentOption,
      handler: async (ctx, args) =>
        partial(await ctx.services.incidents.brief(await current(ctx, args.options.id))),
    },
    postmortem: {
      summary: 'Draft a blameless postmortem in Markdown, saved with the incident',
      examples: ['incident postmortem', 'incident postmortem id=INC-3'],
      options: incidentOption,
      handler: async (ctx, args) => {
        const id = args.options.id as string | undefined;
        // A resolved incident's channel has no open incident left; fall back to the newest one here.
        const incident = id
          ? await ctx.services.incidents.find(ctx.channel, id)
          : ((await ctx.services.incidents.list('all')).find((i) => i.channel === ctx.channel) ??
            (await current(ctx, undefined)));
        const draft = await ctx.services.incidents.postmortem(originOf(ctx), incident);
        const answer = publicReply(
          header(`Postmortem draft for ${incident.id}`),
          text(`\`\`\`\n${draft.markdown}\n\`\`\``),
          context('Saved with the incident; edit it and share it.'),
        );
        return partial(
          withIncident(ctx, answer, incident, {
            markdown: draft.markdown,
            impact: draft.impact?.map(impactData) ?? null,
            timeline: draft.timeline,
            suspects: draft.suspects.map(suspectData),
            problems: draft.problems,
          }),
        );
      },
    },
  },
});
