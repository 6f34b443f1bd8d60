// Validates any YAML document against a zod schema with the same exact messages as the config
// loader (file:line:column and YAML path), for runbooks, SLO files and other YAML users write.
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { closest } from '../core/suggest.js';
import type { ConfigProblem } from './config-error.js';
import { DocumentIndex, formatPath } from './document-index.js';
import { describeIssue } from './issue-message.js';
import { knownKeysAt } from './schema.js';

export type YamlCheck<T> =
  | {
      ok: true;
      data: T /** line and column of the value at a YAML path */;
      positionOf: (path: readonly PropertyKey[]) => { line: number; column: number };
    }
  | { ok: false; problems: ConfigProblem[] };

/**
 * Parses `source` and checks it against `schema`; every problem names file, line, column and path.
 *
 * @example
 * const checked = checkYaml(text, 'runbooks/restart.yml', runbookSchema);
 * if (!checked.ok) console.log(checked.problems.map(formatProblem).join('\n'));
 */
export function checkYaml<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
): YamlCheck<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  const index = new DocumentIndex(doc.contents);
  const at = (offset: number, path: string, message: string): ConfigProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, path, message };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) =>
        at(
          error.pos[0],
          index.pathAt(error.pos[0]),
          error.message.charAt(0).toLowerCase() + error.message.slice(1),
        ),
      ),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    return { ok: false, problems: [at(0, '', error instanceof Error ? error.message : String(error))] };
  }
  const parsed = schema.safeParse(data ?? {}, { error: describeIssue });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue): ConfigProblem[] => {
      if (issue.code !== 'unrecognized_keys') {
        return [at(index.offsetOf(issue.path), formatPath(issue.path), issue.message)];
      }
      const known = knownKeysAt(issue.path, schema);
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        const suggestion = closest(key, known);
        return at(
          index.keyOffsetOf(path),
          formatPath(path),
          suggestion
            ? `unknown key; did you mean "${suggestion}"?`
            : `unknown key; expected one of: ${known.join(', ')}`,
        );
      });
    });
    return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
  }
  return {
    ok: true,
    data: parsed.data,
    positionOf: (path) => {
      const { line, col } = lineCounter.linePos(index.offsetOf(path));
      return { line, column: col };
    },
  };
}
