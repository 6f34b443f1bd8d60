// Help generated from the command definitions, never written by hand.
import type { CommandDefinition, CommandSpec } from './registry.js';
import { type Block, context, header, list, type Reply, reply, table, text } from './reply.js';

/** `runbook run NAME [REST...] key=VALUE [opt=VALUE] [--flag]`, derived from the spec. */
export function usageLine(path: string, spec: CommandSpec): string {
  const parts = [path];
  for (const positional of spec.positionals ?? []) {
    const name = positional.name.toUpperCase() + (positional.rest ? '...' : '');
    parts.push(positional.required ? name : `[${name}]`);
  }
  for (const [key, option] of Object.entries(spec.options ?? {})) {
    const value = option.type === 'enum' ? option.values!.join('|') : option.type;
    parts.push(option.required ? `${key}=${value}` : `[${key}=${value}]`);
  }
  if (spec.extraOptions !== undefined) parts.push('[key=value...]');
  for (const flag of Object.keys(spec.flags ?? {})) parts.push(`[--${flag}]`);
  return parts.join(' ');
}

function specForms(definition: CommandDefinition): Array<[string, CommandSpec]> {
  const forms: Array<[string, CommandSpec]> = [];
  if (definition.handler) forms.push([definition.name, definition as CommandSpec]);
  for (const [sub, spec] of Object.entries(definition.subcommands ?? {})) {
    forms.push([`${definition.name} ${sub}`, spec]);
  }
  return forms;
}

/** The overview: every command with its one-line summary. */
export function helpOverview(commands: CommandDefinition[], can: (permission: string) => boolean): Reply {
  const rows = commands.flatMap((definition) =>
    specForms(definition).map(([path, spec]) => [
      path,
      spec.summary,
      can(spec.permission ?? path.replace(' ', '.')) ? '' : 'no access',
    ]),
  );
  return reply(
    header('Millwright commands'),
    table(['command', 'what it does', ''], rows),
    context(
      'Type help COMMAND for arguments and examples. Add --public to share a read-only answer in the channel.',
    ),
  );
}

/** Everything about one verb: forms, arguments, flags, examples, permission. */
export function helpFor(definition: CommandDefinition): Reply {
  const blocks: Block[] = [header(`${definition.name}: ${definition.summary}`)];
  if (definition.description) blocks.push(text(definition.description));
  for (const [path, spec] of specForms(definition)) {
    blocks.push(text(`*${usageLine(path, spec)}*\n${spec.summary}`));
    const details = [
      ...(spec.positionals ?? []).map(
        (p) => `${p.name.toUpperCase()}: ${p.description}${p.required ? '' : ' (optional)'}`,
      ),
      ...Object.entries(spec.options ?? {}).map(
        ([key, option]) =>
          `${key}=: ${option.description}${option.default !== undefined ? ` (default ${String(option.default)})` : ''}`,
      ),
      ...(spec.extraOptions !== undefined ? [`key=value: ${spec.extraOptions}`] : []),
      ...Object.entries(spec.flags ?? {}).map(([flag, description]) => `--${flag}: ${description}`),
    ];
    if (details.length) blocks.push(list(details));
    blocks.push(
      context(
        `examples: ${spec.examples.join('  |  ')}    permission: ${spec.permission ?? path.replace(' ', '.')}`,
      ),
    );
  }
  return reply(...blocks);
}
