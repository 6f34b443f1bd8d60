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
  const forms = commands.flatMap((definition) =>
    specForms(definition).map(([path, spec]) => {
      const permission = permissionOf(path, spec);
      return { command: path, summary: spec.summary, permission, allowed: can(permission) };
    }),
  );
  return {
    ...reply(
      header('Millwright commands'),
      table(
        ['command', 'what it does', ''],
        forms.map((form) => [form.command, form.summary, form.allowed ? '' : 'no access']),
      ),
      context(
        'Type help COMMAND for arguments and examples. Add --public to share a read-only answer in the channel.',
      ),
    ),
    // Shape: docs/schemas/help.schema.json.
    data: { commands: forms },
  };
}

const permissionOf = (path: string, spec: CommandSpec) => spec.permission ?? path.replace(' ', '.');

/** One form's arguments as raw values, for `--json`. */
function formData(path: string, spec: CommandSpec) {
  return {
    command: path,
    usage: usageLine(path, spec),
    summary: spec.summary,
    permission: permissionOf(path, spec),
    positionals: (spec.positionals ?? []).map((p) => ({
      name: p.name,
      description: p.description,
      required: p.required ?? false,
    })),
    options: Object.entries(spec.options ?? {}).map(([name, option]) => ({
      name,
      type: option.type,
      description: option.description,
      required: option.required ?? false,
      ...(option.default !== undefined ? { default: option.default } : {}),
      ...(option.values ? { values: [...option.values] } : {}),
    })),
    flags: Object.entries(spec.flags ?? {}).map(([name, description]) => ({ name, description })),
    examples: [...spec.examples],
  };
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
      context(`examples: ${spec.examples.join('  |  ')}    permission: ${permissionOf(path, spec)}`),
    );
  }
  return {
    ...reply(...blocks),
    data: {
      name: definition.name,
      summary: definition.summary,
      description: definition.description ?? null,
      forms: specForms(definition).map(([path, spec]) => formData(path, spec)),
    },
  };
}
