// Reads millwright.yml: YAML with positions, ${ENV} interpolation, schema validation, then paths made
// absolute. Every failure becomes one ConfigError listing all problems with file:line:column and YAML path.
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { isSecretKey } from '../core/redact.js';
import { closest } from '../core/suggest.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { DocumentIndex, formatPath, type PathSegment } from './document-index.js';
import { interpolate } from './interpolate.js';
import { describeIssue } from './issue-message.js';
import { type ConfigSchema, discriminatorValuesAt, knownKeysAt, type MillwrightConfig } from './schema.js';

export interface LoadedConfig {
  /** Absolute path of the file that was read. */
  path: string;
  config: MillwrightConfig;
  /**
   * Secrets by where they are: values under secret-named keys (`signingSecret`, `password`,
   * `audit.key`), whether typed in the file or interpolated from the environment.
   */
  secrets: string[];
  /** Every value interpolated from the environment (`${VAR}`), wherever it went. */
  interpolated?: string[];
}

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  /** Directory a relative `path` is read from and error messages are shown relative to; `process.cwd()` by default. */
  cwd?: string;
  /** The base sections composed with every module's (`composeConfigSchema`). */
  schema: ConfigSchema;
}

/**
 * Which config file to read: the `--config` flag, else `MILLWRIGHT_CONFIG`, else `millwright.yml` in `cwd`.
 *
 * @example
 * resolveConfigPath({ flag: undefined, env: { MILLWRIGHT_CONFIG: '/etc/millwright.yml' }, cwd: '/srv' }) // '/etc/millwright.yml'
 */
export function resolveConfigPath(options: {
  flag?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
}): string {
  return resolve(options.cwd, options.flag || options.env.MILLWRIGHT_CONFIG || 'millwright.yml');
}

/**
 * Reads, interpolates and validates a config file.
 *
 * @throws ConfigError listing every problem found, each as `file:line:column path: message`.
 * @example
 * const { config, secrets } = await loadConfig('millwright.yml', { env: process.env });
 */
export async function loadConfig(path: string, options: LoadConfigOptions): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const absolutePath = resolve(cwd, path);
  const file = displayName(path, cwd);
  const source = await readSource(file, absolutePath);

  const lineCounter = new LineCounter();
  // Duplicate keys are found by the index (linear), not the library (quadratic in a mapping's size).
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const index = new DocumentIndex(doc.contents);
  const problemAt: ProblemAt = (offset, path, message) => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, path, message };
  };

  // A document with syntax errors is only partly built; checking its schema would add noise.
  const duplicates = index.duplicateKeys.map(({ node, path }) =>
    problemAt(spanStart(node), formatPath(path), DUPLICATE_KEY),
  );
  if (doc.errors.length > 0 || duplicates.length > 0) {
    const problems = [...syntaxProblems(doc.errors, source, index, problemAt), ...duplicates];
    throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
  }

  // Missing variables are reported together with schema problems, so one run shows everything.
  const environment = interpolateDocument(doc, index, options.env, problemAt);
  const unsetPaths = new Set(environment.problems.map((problem) => problem.path));
  // A dangling alias leaves nothing to validate, and a list, mapping, alias or binary used as a key would be
  // turned into text by toJS: report them (and any unset variable) now.
  const keyProblems = index.collectionKeys.map(({ node, path }) =>
    problemAt(
      spanStart(node),
      formatPath(path),
      'a key must be plain text, not a list, a mapping, an alias or binary data',
    ),
  );
  if (environment.aliasProblems.length > 0 || keyProblems.length > 0) {
    const problems = [...environment.problems, ...environment.aliasProblems, ...keyProblems];
    throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases expand without bound ("billion laughs").
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError([problemAt(0, '', message)], { cause: error });
  }

  const parsed = options.schema.schema.safeParse(withoutEmptySections(data), { error: describeIssue });
  if (!parsed.success || environment.problems.length > 0) {
    const schemaProblems = parsed.success
      ? []
      : parsed.error.issues
          .flatMap((issue) => schemaProblemsFor(issue, index, problemAt, options.schema.schema))
          .filter((problem) => !unsetPaths.has(problem.path));
    for (const problem of schemaProblems)
      problem.message = scrub(problem.message, environment.interpolatedValues);
    const problems = [...environment.problems, ...schemaProblems];
    throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  const baseDir = dirname(absolutePath);
  const config = resolvePaths(parsed.data, options.schema.paths, baseDir);
  // A left-out section's defaults, with its paths made absolute like the rest of the file's.
  const defaultsOf = (key: string, section: z.ZodType): unknown =>
    (resolvePaths({ [key]: section.parse(undefined) } as never, options.schema.paths, baseDir) as never)[key];
  for (const [key, section] of options.schema.defaulted)
    if ((config as unknown as Record<string, unknown>)[key] === undefined)
      fillOnFirstRead(config, key, () => defaultsOf(key, section));
  return {
    path: absolutePath,
    config,
    secrets: [...environment.secrets],
    interpolated: [...environment.substituted],
  };
}

const DUPLICATE_KEY = 'duplicate key; each key may appear only once in a mapping';

type ProblemAt = (offset: number, path: string, message: string) => ConfigProblem;

function spanStart(node: unknown): number {
  return (node as { range?: readonly number[] } | null | undefined)?.range?.[0] ?? 0;
}

function syntaxProblems(
  errors: readonly YAMLError[],
  source: string,
  index: DocumentIndex,
  problemAt: ProblemAt,
): ConfigProblem[] {
  return errors.map((error) => {
    // Some errors point at the indentation before the offending token; point at the token.
    const offset = error.pos[0] + (/^[ \t]*/.exec(source.slice(error.pos[0]))?.[0].length ?? 0);
    // A document separator belongs to no key; the path of whatever precedes it would mislead.
    const path = error.code === 'MULTIPLE_DOCS' ? '' : index.pathAt(offset);
    return problemAt(offset, path, yamlMessage(error, source));
  });
}

/** Substitutes `${VAR}` in every string scalar, in place, noting what came from the environment. */
function interpolateDocument(
  doc: Document,
  index: DocumentIndex,
  env: NodeJS.ProcessEnv,
  problemAt: ProblemAt,
) {
  const problems: ConfigProblem[] = [];
  const secrets = new Set<string>();
  const interpolatedValues = new Set<string>();
  const substituted = new Set<string>();
  for (const { node, path } of index.strings) {
    const result = interpolate(String(node.value), env);
    for (const message of result.problems) {
      problems.push(problemAt(node.range?.[0] ?? 0, formatPath(path), message));
    }
    node.value = result.value;
    for (const value of result.substituted) if (value !== '') substituted.add(value);
    if (result.substituted.length > 0) interpolatedValues.add(result.value);
    if (!isSecretKey(nearestKey(path)) && !isAuditKey(path)) continue;
    // A secret typed into the file is as secret as one from the environment.
    if (result.value !== '') secrets.add(result.value);
    for (const value of result.substituted) if (value !== '') secrets.add(value);
  }
  // Checked here rather than left to toJS so the problem names the alias's line and path.
  const aliasProblems: ConfigProblem[] = [];
  for (const { node, path } of index.aliases) {
    if (node.resolve(doc) !== undefined) continue;
    const message = `alias *${node.source} has no anchor &${node.source} before it`;
    aliasProblems.push(problemAt(node.range?.[0] ?? 0, formatPath(path), message));
  }
  return { problems, aliasProblems, secrets, interpolatedValues, substituted };
}

/** The file as the user gave it, or relative to `cwd` when that is shorter and still inside it. */
export function displayName(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const fromCwd = relative(cwd, path);
  return fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : path;
}

async function readSource(file: string, absolutePath: string): Promise<string> {
  try {
    // A FIFO or a device would block the read (forever, for a FIFO nobody writes); stat does not.
    const kind = nonRegularKind(await stat(absolutePath));
    if (kind !== undefined) {
      throw new ConfigError(
        [
          {
            file,
            line: 0,
            column: 0,
            path: '',
            message: `config file ${file} is ${kind}, not a regular file`,
          },
        ],
        { hint: 'pass the path of a .yml file with --config PATH' },
      );
    }
    return await readFile(absolutePath, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `config file ${file} not found; create one from millwright.yml in the repo or pass --config PATH`
        : code === 'EISDIR'
          ? `config file ${file} is a directory; pass the path of a .yml file with --config PATH`
          : `cannot read config file ${file}: ${code ?? String(error)}`;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message }], {
      hint: 'copy millwright.yml from the repo, or pass --config PATH',
      cause: error,
    });
  }
}

function nonRegularKind(stats: Stats): string | undefined {
  if (stats.isFile() || stats.isDirectory()) return undefined; // a directory gets its own message below
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function yamlMessage(error: YAMLError, source: string): string {
  if (error.code === 'DUPLICATE_KEY') return DUPLICATE_KEY;
  if (error.code === 'MULTIPLE_DOCS') {
    return 'a second YAML document starts here (---): millwright.yml is one document; merge both into one mapping, or remove the ---';
  }
  const message = error.message.charAt(0).toLowerCase() + error.message.slice(1);
  // Inside [ ] or { } YAML reads the `{` of an unquoted ${VAR} as the start of a mapping.
  const lineStart = source.lastIndexOf('\n', error.pos[0] - 1) + 1;
  const line = source.slice(lineStart, source.indexOf('\n', lineStart) >>> 0);
  return /[[{].*\$\{/.test(line) ? `${message} (inside [ ] or { }, quote references: "\${VAR}")` : message;
}

function schemaProblemsFor(
  issue: z.core.$ZodIssue,
  index: DocumentIndex,
  problemAt: ProblemAt,
  root: z.ZodType,
): ConfigProblem[] {
  if (issue.code === 'invalid_union' && issue.errors.length === 0 && 'discriminator' in issue) {
    // "No matching discriminator": name the values that would have matched.
    const key = String(issue.discriminator);
    const accepted = discriminatorValuesAt(issue.path.slice(0, -1), key, root);
    const message = accepted.length > 0 ? `expected one of: ${accepted.join(', ')}` : issue.message;
    return [problemAt(index.offsetOf(issue.path), formatPath(issue.path), message)];
  }
  if (issue.code === 'invalid_key') {
    return [problemAt(index.keyOffsetOf(issue.path), formatPath(issue.path), issue.message)];
  }
  if (issue.code !== 'unrecognized_keys') {
    return [problemAt(index.offsetOf(issue.path), formatPath(issue.path), issue.message)];
  }
  // One problem per unknown key, each at the key itself, so the editor jumps to the typo.
  const known = knownKeysAt(issue.path, root);
  return issue.keys.map((key) => {
    const path = [...issue.path, key];
    const suggestion = closest(key, known);
    const message = suggestion
      ? `unknown key; did you mean "${suggestion}"? (valid here: ${listed(known)})`
      : `unknown key; expected one of: ${listed(known)}`;
    return problemAt(index.keyOffsetOf(path), formatPath(path), message);
  });
}

/** The valid keys, or the first dozen of a long list. */
function listed(keys: readonly string[]): string {
  return keys.length <= 12 ? keys.join(', ') : `${keys.slice(0, 12).join(', ')}, … (${keys.length} in all)`;
}

/** Removes quoted interpolated values from a message; schema refinements may quote what they reject. */
function scrub(message: string, interpolatedValues: ReadonlySet<string>): string {
  let out = message;
  for (const value of interpolatedValues)
    out = out.split(JSON.stringify(value)).join('(a value from the environment)');
  return out;
}

/** The key a value sits under (`botToken` for `slack.botToken`, `tokens` for `tokens[0]`). */
/** `audit.key` and `audit.keys.<id>`: secrets whose key names do not say so. */
function isAuditKey(path: readonly PathSegment[]): boolean {
  return path[0] === 'audit' && (path[1] === 'key' || path[1] === 'keys');
}

function nearestKey(path: readonly PathSegment[]): string {
  return [...path].reverse().find((segment) => typeof segment === 'string') ?? '';
}

/** An empty file means all defaults, and a section whose keys are all commented out means "not set". */
function withoutEmptySections(data: unknown): unknown {
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([, value]) => value !== null));
}

/**
 * Gives `config[key]` the value `make()` holds for it, made when the key is first read (or replaced
 * when it is first written), and an ordinary property from then on.
 */
function fillOnFirstRead(config: MillwrightConfig, key: string, make: () => unknown): void {
  const settle = (value: unknown) => {
    Object.defineProperty(config, key, { value, writable: true, enumerable: true, configurable: true });
    return value;
  };
  Object.defineProperty(config, key, {
    get: () => settle(make()),
    set: settle,
    enumerable: true,
    configurable: true,
  });
}

/** Makes every declared path value absolute (`~/` is the home directory), leaving absent ones absent. */
function resolvePaths(config: MillwrightConfig, paths: readonly string[], baseDir: string): MillwrightConfig {
  const absolute = (path: string) =>
    path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : resolve(baseDir, path);
  // Copies only the mappings on each path (not the whole config: a catalog of 50,000 services stays shared).
  const resolved = { ...config } as unknown as Record<string, unknown>;
  for (const dotted of paths) {
    const keys = dotted.split('.');
    const last = keys.pop()!;
    let holder: Record<string, unknown> | undefined = resolved;
    for (const key of keys) {
      const next: unknown = holder[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        holder = undefined;
        break;
      }
      holder[key] = { ...next };
      holder = holder[key] as Record<string, unknown>;
    }
    const value = holder?.[last];
    if (holder && typeof value === 'string') holder[last] = absolute(value);
  }
  return resolved as unknown as MillwrightConfig;
}
