// Reads SLO files (native, Sloth or OpenSLO; several YAML documents per file) into `Slo`s, and
// reports every problem with its file, line, column and path, as config errors do.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Document, isMap, isNode, isScalar, LineCounter, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import { closest } from '../core/suggest.js';
import {
  detectFormat,
  type ImportedSpec,
  ImportProblem,
  importOpenSlo,
  importSloth,
  type SloFormat,
} from './import.js';
import { normalizeSlo, type Slo, type SloSource, sloSpecSchema } from './spec.js';

/** One thing wrong in an SLO file. `line` and `column` are 1-based. */
export interface SloProblem {
  file: string;
  line: number;
  column: number;
  /** YAML path like `slos[2].objective`. */
  path: string;
  message: string;
}

export interface LoadedSlos {
  slos: Slo[];
  problems: SloProblem[];
  /** Formats found, for `slo import` to say what it read. */
  formats: SloFormat[];
}

/** `slos/checkout.yml:12:5 slos[2].objective: expected a percentage above 0`. */
export function formatSloProblem(problem: SloProblem): string {
  if (problem.line === 0) return `${problem.file}: ${problem.message}`;
  return `${problem.file}:${problem.line}:${problem.column} ${problem.path || '(document)'}: ${problem.message}`;
}

export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of segments) {
    out +=
      typeof segment === 'number' ? `[${segment}]` : out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** The closest node that exists on `segments`, so a missing key points at its parent. */
function offsetOf(doc: Document, segments: ReadonlyArray<PropertyKey>): number {
  for (let length = segments.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(segments.slice(0, length) as unknown[], true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

/** The keys the mapping at `segments` of an SLO spec accepts, for "did you mean" on a typo. */
function knownKeys(segments: ReadonlyArray<PropertyKey>): string[] {
  type Def = {
    innerType?: z.ZodType;
    in?: z.ZodType;
    out?: z.ZodType;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
  };
  const unwrap = (schema: z.ZodType): z.ZodType => {
    let current = schema;
    for (let depth = 0; depth < 10; depth++) {
      const def = current.def as unknown as Def;
      const next =
        def.innerType ??
        (def.in && def.out ? (def.in.def.type === 'transform' ? def.out : def.in) : undefined);
      if (!next) break;
      current = next;
    }
    return current;
  };
  let schema = unwrap(sloSpecSchema);
  for (const segment of segments) {
    const def = schema.def as unknown as Def;
    const next = def.shape?.[String(segment)] ?? def.element;
    if (!next) return [];
    schema = unwrap(next);
  }
  return Object.keys((schema.def as unknown as Def).shape ?? {});
}

/** Where a key itself starts (not its value), so an editor jumps to the typo. */
function keyOffset(doc: Document, segments: ReadonlyArray<PropertyKey>, key: string): number | undefined {
  const map = segments.length === 0 ? doc.contents : doc.getIn(segments as unknown[], true);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required';
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return issue.message;
}

/**
 * Parses one SLO file's text. Documents may be native (`slos:` list or one SLO), Sloth or OpenSLO;
 * OpenSLO `SLI`, `DataSource` and `Service` documents in the file are used to resolve references.
 *
 * @example
 * const { slos, problems } = parseSloFile(await readFile('slos/checkout.yml', 'utf8'), 'slos/checkout.yml');
 */
export function parseSloFile(text: string, file: string): LoadedSlos {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const problems: SloProblem[] = [];
  const at = (doc: Document | undefined, segments: ReadonlyArray<PropertyKey>, message: string) => {
    const { line, col } = lineCounter.linePos(doc ? offsetOf(doc, segments) : 0);
    problems.push({ file, line, column: col, path: formatPath(segments), message });
  };
  if (!Array.isArray(docs)) {
    at(undefined, [], 'not a YAML document');
    return { slos: [], problems, formats: [] };
  }
  const parsed = docs.map((doc) => ({
    doc,
    value: doc.errors.length === 0 ? (doc.toJS() as unknown) : undefined,
  }));
  for (const { doc } of parsed) {
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      problems.push({ file, line, column: col, path: '', message: error.message.split('\n')[0]! });
    }
  }
  const named = (kind: string) =>
    new Map(
      parsed
        .map(({ value }) => value as Record<string, unknown> | undefined)
        .filter((value) => value?.kind === kind && typeof value.apiVersion === 'string')
        .map((value) => [String((value!.metadata as { name?: unknown } | undefined)?.name), value!] as const),
    );
  const refs = { slis: named('SLI'), dataSources: named('DataSource') };

  const slos: Slo[] = [];
  const formats = new Set<SloFormat>();
  for (const [document, { doc, value }] of parsed.entries()) {
    if (value === undefined || value === null) continue;
    const format = detectFormat(value);
    if (format === 'openslo-other') continue;
    if (format === undefined) {
      at(
        doc,
        [],
        'not an SLO document: expected slos: [...], one SLO (service, name, objective), a Sloth prometheus/v1 spec or an OpenSLO v1 SLO',
      );
      continue;
    }
    formats.add(format);
    let imported: ImportedSpec[];
    try {
      imported = importDocument(value as Record<string, unknown>, format, refs);
    } catch (error) {
      if (!(error instanceof ImportProblem)) throw error;
      at(doc, error.path, error.message);
      continue;
    }
    for (const { spec, path: specPath } of imported) {
      const source: SloSource = { format, file, document, path: formatPath(specPath) };
      const result = sloSpecSchema.safeParse(spec);
      if (!result.success) {
        for (const issue of result.error.issues) {
          // Imported specs do not map key for key onto the YAML; point at the SLO they came from.
          const segments = format === 'native' ? [...specPath, ...issue.path] : specPath;
          const shown = format === 'native' ? segments : [...specPath, ...issue.path];
          if (issue.code === 'unrecognized_keys' && format === 'native') {
            for (const key of issue.keys) {
              const guess = closest(key, knownKeys(issue.path));
              const offset = keyOffset(doc, segments, key) ?? offsetOf(doc, segments);
              const { line, col } = lineCounter.linePos(offset);
              problems.push({
                file,
                line,
                column: col,
                path: formatPath([...shown, key]),
                message: guess
                  ? `unknown key; did you mean "${guess}"?`
                  : `unknown key; expected one of: ${knownKeys(issue.path).join(', ')}`,
              });
            }
            continue;
          }
          const { line, col } = lineCounter.linePos(offsetOf(doc, segments));
          problems.push({ file, line, column: col, path: formatPath(shown), message: issueMessage(issue) });
        }
        continue;
      }
      slos.push(normalizeSlo(result.data, source));
    }
  }
  return { slos, problems, formats: [...formats] };
}

function importDocument(
  value: Record<string, unknown>,
  format: SloFormat,
  refs: Parameters<typeof importOpenSlo>[1],
): ImportedSpec[] {
  if (format === 'sloth') return importSloth(value);
  if (format === 'openslo') return [importOpenSlo(value, refs)];
  if (!('slos' in value)) return [{ spec: value, path: [], format }];
  if (!Array.isArray(value.slos)) throw new ImportProblem('expected a list of SLOs', ['slos']);
  const defaults = typeof value.service === 'string' ? { service: value.service } : {};
  const extra = Object.keys(value).filter((key) => key !== 'slos' && key !== 'service');
  if (extra.length > 0) throw new ImportProblem(`unknown key ${extra.join(', ')} beside slos`, [extra[0]!]);
  return value.slos.map((spec, index) => ({
    spec: typeof spec === 'object' && spec !== null ? { ...defaults, ...spec } : spec,
    path: ['slos', index],
    format,
  }));
}

/** Reads one file; a missing or unreadable file is a problem, not a crash. */
export async function loadSloFile(file: string, shownAs = file): Promise<LoadedSlos> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return {
      slos: [],
      formats: [],
      problems: [{ file: shownAs, line: 0, column: 0, path: '', message: `cannot read the file: ${code}` }],
    };
  }
  return parseSloFile(text, shownAs);
}

/**
 * Every `*.yml` and `*.yaml` file in `dir` (not recursive), in name order, named relative to `cwd`
 * (absolute without one). A missing directory holds no SLOs unless `required`.
 *
 * @example
 * const { slos, problems } = await loadSloDirectory('./slos');
 */
export async function loadSloDirectory(
  dir: string,
  options: { required?: boolean; cwd?: string } = {},
): Promise<LoadedSlos> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !options.required) return { slos: [], problems: [], formats: [] };
    return {
      slos: [],
      formats: [],
      problems: [
        {
          file: options.cwd === undefined ? dir : path.relative(options.cwd, dir) || dir,
          line: 0,
          column: 0,
          path: '',
          message: code === 'ENOENT' ? 'no such directory' : `cannot read the directory: ${code}`,
        },
      ],
    };
  }
  const results = await Promise.all(
    names.map((name) => {
      const full = path.join(dir, name);
      return loadSloFile(full, options.cwd === undefined ? full : path.relative(options.cwd, full) || full);
    }),
  );
  return {
    slos: results.flatMap((result) => result.slos),
    problems: results.flatMap((result) => result.problems),
    formats: [...new Set(results.flatMap((result) => result.formats))],
  };
}

/**
 * One problem per SLO id defined more than once (their recorded series would collide); `place` gives
 * the second one's line and column when the caller can tell.
 */
export function duplicateProblems(
  slos: readonly Slo[],
  place: (slo: Slo) => Pick<SloProblem, 'line' | 'column' | 'path'> | undefined = () => undefined,
): SloProblem[] {
  const seen = new Map<string, Slo>();
  const problems: SloProblem[] = [];
  for (const slo of slos) {
    const first = seen.get(slo.id);
    if (!first) {
      seen.set(slo.id, slo);
      continue;
    }
    problems.push({
      file: slo.source.file ?? 'millwright.yml',
      line: 0,
      column: 0,
      path: '',
      ...place(slo),
      message: `SLO ${slo.service}/${slo.name} is defined twice (also in ${first.source.file ?? 'millwright.yml'}); each service and name pair must be unique`,
    });
  }
  return problems;
}

/** Throws one `millwright_slo_invalid` error listing every problem, like a config error. */
export function throwIfProblems(problems: readonly SloProblem[]): void {
  if (problems.length === 0) return;
  throw new MillwrightError(ErrorCode.SloInvalid, problems.map(formatSloProblem).join('\n'), {
    hint: 'fix the lines above, then run: millwright slo lint',
  });
}
