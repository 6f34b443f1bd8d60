// help [COMMAND]: generated from the registry's definitions.
import { badArgument, defineCommand, helpFor, helpOverview, nearest } from '../src/core/index.js';

export default defineCommand({
  name: 'help',
  summary: 'List commands, or show one command with its arguments and examples',
  examples: ['help', 'help audit'],
  positionals: [{ name: 'command', description: 'the command to explain' }],
  services: ['registry'],
  handler: (ctx, args) => {
    const { registry } = ctx.services;
    const name = args.positionals.command;
    if (name === undefined) return helpOverview(registry.list(), ctx.can);
    const definition = registry.get(name.toLowerCase());
    if (!definition) {
      const guess = nearest(
        name,
        registry.list().map((c) => c.name),
      );
      throw badArgument(
        `there is no command "${name}"`,
        guess ? `did you mean "help ${guess}"?` : 'type help for the list',
      );
    }
    return helpFor(definition);
  },
});
