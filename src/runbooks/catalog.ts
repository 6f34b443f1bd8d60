// Loads runbooks from a folder and lints them: schema errors with file:line, unknown executor
// actions, input keys an action does not take, and parameters used but not declared or unused.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ConfigProblem, checkYaml } from '../config/index.js';
import type { ActionMetadata } from '../executors/types.js';
import { type RunbookSpec, runbookSchema, type WithValue } from './schema.js';
import { findReferences } from './template.js';

export interface LoadedRunbook {
  spec: RunbookSpec;
  file: string;
}

export interface RunbookCatalogResult {
  runbooks: Map<string, LoadedRunbook>;
  problems: ConfigProblem[];
}

export interface LintOptions {
  /** The action a `uses:` names, or undefined when no executor offers it. */
  action: (uses: string) => ActionMetadata | undefined;
  /** Roles defined in the access config, to catch a permission naming a role nobody has. */
  roles?: readonly string[];
}

/**
 * Reads every `*.yml`/`*.yaml` in `dir`. A runbook with a problem is left out of `runbooks` and
 * its problems are returned; with `lint`, executor and reference checks run too.
 *
 * @example
 * const { runbooks, problems } = await loadRunbooks('runbooks', { action: (uses) => host.action(uses) });
 */
export async function loadRunbooks(
  dir: string,
  lint?: LintOptions,
  displayBase = process.cwd(),
): Promise<RunbookCatalogResult> {
  const runbooks = new Map<string, LoadedRunbook>();
  const problems: ConfigProblem[] = [];
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { runbooks, problems };
    throw error;
  }
  for (const file of files) {
    const absolute = path.join(dir, file);
    const relative = path.relative(displayBase, absolute);
    const shown = relative && !relative.startsWith('..') ? relative : absolute;
    const checked = checkYaml(await readFile(absolute, 'utf8'), shown, runbookSchema);
    if (!checked.ok) {
      problems.push(...checked.problems);
      continue;
    }
    const spec = checked.data;
    const at = (where: PropertyKey[], message: string): ConfigProblem => ({
      file: shown,
      ...checked.positionOf(where),
      path: where
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, ''),
      message,
    });
    const own = lint ? lintRunbook(spec, lint, at) : [];
    const previous = runbooks.get(spec.metadata.name);
    if (previous)
      own.push(at(['metadata', 'name'], `runbook ${spec.metadata.name} is also defined in ${previous.file}`));
    if (own.length > 0) {
      problems.push(...own);
      continue;
    }
    runbooks.set(spec.metadata.name, { spec, file: shown });
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { runbooks, problems };
}

type ProblemAt = (where: PropertyKey[], message: string) => ConfigProblem;

function lintRunbook(spec: RunbookSpec, lint: LintOptions, at: ProblemAt): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const declared = new Set(spec.spec.params.map((p) => p.name));
  const used = new Set<string>();
  const phases = [
    ['steps', spec.spec.steps],
    ['rollback', spec.spec.rollback],
  ] as const;
  for (const [phase, steps] of phases) {
    const earlier = new Set<string>();
    for (const [i, step] of steps.entries()) {
      const where = ['spec', phase, i];
      const action = lint.action(step.uses);
      if (!action) problems.push(at([...where, 'uses'], `no executor offers ${step.uses}`));
      const properties = (action?.input.properties ?? {}) as Record<string, unknown>;
      if (action && action.input.additionalProperties === false) {
        for (const key of Object.keys(step.with)) {
          if (!(key in properties)) {
            problems.push(
              at(
                [...where, 'with', key],
                `${step.uses} does not take ${key}; it takes ${Object.keys(properties).join(', ')}`,
              ),
            );
          }
        }
      }
      for (const key of (action?.input.required ?? []) as string[]) {
        if (!(key in step.with)) problems.push(at([...where, 'with'], `${step.uses} needs ${key}`));
      }
      const values: WithValue[] = [step.with];
      if (step.when !== undefined) values.push(typeof step.when === 'string' ? step.when : step.when.value);
      for (const reference of values.flatMap(findReferences)) {
        if (reference.kind === 'invalid') {
          problems.push(
            at(
              where,
              `{{ ${reference.text} }} is not allowed; use {{ params.NAME }} or {{ steps.ID.outputs.NAME }}`,
            ),
          );
        } else if (reference.kind === 'param') {
          used.add(reference.name);
          if (!declared.has(reference.name))
            problems.push(at(where, `parameter ${reference.name} is used but not declared in spec.params`));
        } else if (
          !earlier.has(reference.step) &&
          !(phase === 'rollback' && spec.spec.steps.some((s) => s.id === reference.step))
        ) {
          problems.push(at(where, `steps.${reference.step} is not an earlier step with that id`));
        }
      }
      if (step.id) earlier.add(step.id);
    }
  }
  for (const [i, target] of spec.spec.targets.entries()) {
    for (const reference of findReferences(target)) {
      if (reference.kind === 'param' && declared.has(reference.name)) used.add(reference.name);
      else
        problems.push(
          at(
            ['spec', 'targets', i],
            `{{ ${reference.text} }} is not a declared parameter; a target names params only`,
          ),
        );
    }
  }
  for (const [i, param] of spec.spec.params.entries()) {
    if (!used.has(param.name))
      problems.push(at(['spec', 'params', i, 'name'], `parameter ${param.name} is declared but never used`));
  }
  if (lint.roles && spec.spec.permissions) {
    for (const [i, role] of spec.spec.permissions.roles.entries()) {
      if (!lint.roles.includes(role)) {
        problems.push(
          at(
            ['spec', 'permissions', 'roles', i],
            `role ${role} is not defined in access.roles of the config`,
          ),
        );
      }
    }
  }
  if (spec.spec.steps.some((s) => s.onFailure === 'rollback') && spec.spec.rollback.length === 0) {
    problems.push(at(['spec', 'rollback'], 'a step says onFailure: rollback but spec.rollback has no steps'));
  }
  return problems;
}
