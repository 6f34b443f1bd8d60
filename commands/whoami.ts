// whoami: the identity, roles and place Millwright sees for the person asking.
import { defineCommand, fields, header, reply } from '../src/core/index.js';

export default defineCommand({
  name: 'whoami',
  summary: 'Show who Millwright thinks you are, your roles, and where you are talking from',
  examples: ['whoami'],
  services: [],
  handler: (ctx) =>
    reply(
      header(`You are ${ctx.actor.name ?? ctx.actor.id}`),
      fields({
        actor: ctx.actor.id,
        roles: ctx.actor.roles.join(', ') || 'none',
        ...(ctx.actor.groups?.length ? { groups: ctx.actor.groups.join(', ') } : {}),
        surface: ctx.surface,
        channel: ctx.channel,
      }),
    ),
});
