// whoami: the identity, roles and place Millwright sees for the person asking.
import { defineCommand, fields, header, reply } from '../src/core/index.js';

export default defineCommand({
  name: 'whoami',
  summary: 'Show who Millwright thinks you are, your roles, and where you are talking from',
  examples: ['whoami'],
  services: [],
  handler: (ctx) => ({
    ...reply(
      // The name the surface knows the person by, the id after it: what access.subjects lists.
      header(
        ctx.actor.name && ctx.actor.name !== ctx.actor.id
          ? `You are ${ctx.actor.name} (${ctx.actor.id})`
          : `You are ${ctx.actor.id}`,
      ),
      fields({
        actor: ctx.actor.id,
        ...(ctx.actor.name && ctx.actor.name !== ctx.actor.id ? { name: ctx.actor.name } : {}),
        roles: ctx.actor.roles.join(', ') || 'none',
        ...(ctx.actor.groups?.length ? { groups: ctx.actor.groups.join(', ') } : {}),
        surface: ctx.surface,
        channel: ctx.channel,
      }),
    ),
    // Shape: docs/schemas/whoami.schema.json.
    data: {
      actor: ctx.actor.id,
      name: ctx.actor.name ?? null,
      via: ctx.actor.via ?? null,
      roles: [...ctx.actor.roles],
      groups: [...(ctx.actor.groups ?? [])],
      surface: ctx.surface,
      channel: ctx.channel,
    },
  }),
});
