// The one error config loading throws: every problem found, each pinned to a file position and a YAML path.
import { ErrorCode, MillwrightError } from '../core/errors.js';

/** One thing wrong with a config file. `line` and `column` are 1-based; 0 when the file could not be read at all. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** YAML path like `slos[2].objective`; empty for the document itself. */
  path: string;
  message: string;
}

/** `millwright.yml:12:5 slos[2].objective: expected a number between 0 and 100`. */
export function formatProblem(problem: ConfigProblem): string {
  if (problem.line === 0) return problem.message;
  return `${problem.file}:${problem.line}:${problem.column} ${problem.path || '(top level)'}: ${problem.message}`;
}

/**
 * Thrown by `loadConfig`; `message` is every problem on its own line.
 *
 * @example
 * try { await loadConfig(path, { env }); } catch (error) { if (error instanceof ConfigError) console.error(error.message); }
 */
export class ConfigError extends MillwrightError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options: { hint?: string; cause?: unknown } = {}) {
    super(ErrorCode.ConfigInvalid, problems.map(formatProblem).join('\n'), {
      hint: options.hint ?? 'fix the lines above, then run: millwright config check',
      cause: options.cause,
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
