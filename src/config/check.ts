// `millwright config check`: one "ok" line naming which integrations are set up, or every problem found.
import type { CheckFinding } from '../core/module.js';
import { ConfigError, formatProblem } from './config-error.js';
import { displayName, type LoadedConfig, loadConfig } from './load.js';
import type { ConfigSchema } from './schema.js';

const INTEGRATIONS = ['slack', 'teams', 'prometheus', 'github', 'kubernetes'] as const;

export interface ConfigCheck {
  ok: boolean;
  lines: string[];
}

/**
 * Validates a config file for the CLI. Lines never contain secret values.
 *
 * @example
 * const { ok, lines } = await checkConfig('millwright.yml', process.env);
 * // ok: true, lines: ['millwright.yml: ok (slack: not configured, teams: not configured, ...)']
 */
export async function checkConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  options: {
    cwd?: string;
    schema: ConfigSchema;
    /**
     * What start-up checks beyond the schema: refusals (a plugin that does not load, a platform
     * requirement), one line each, and findings at a place in a file (SLO queries Prometheus refuses).
     */
    startChecks?: (loaded: LoadedConfig) => Promise<{ refused: string[]; findings: CheckFinding[] }>;
  },
): Promise<ConfigCheck> {
  const cwd = options.cwd ?? process.cwd();
  try {
    const loaded = await loadConfig(path, { env, cwd, schema: options.schema });
    const { refused, findings } = (await options.startChecks?.(loaded)) ?? { refused: [], findings: [] };
    const file = displayName(path, cwd);
    if (refused.length > 0 || findings.length > 0) {
      return {
        ok: false,
        lines: [
          ...refused.map((line) => `${file}: ${line}`),
          ...findings.map((finding) => findingLine(finding, cwd)),
        ],
      };
    }
    const sections = loaded.config as unknown as Record<string, unknown>;
    const status = INTEGRATIONS.map((name) => `${name}: ${sections[name] ? 'configured' : 'not configured'}`);
    return { ok: true, lines: [`${displayName(path, cwd)}: ok (${status.join(', ')})`] };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, lines: error.problems.map(formatProblem) };
    throw error;
  }
}

/** `millwright.yml:12:25 slos[0].sli.events.errorQuery: ...`, as `slo lint` and config errors read. */
function findingLine(finding: CheckFinding, cwd: string): string {
  const file = displayName(finding.file, cwd);
  return finding.line === 0 ? `${file}: ${finding.message}` : formatProblem({ ...finding, file });
}
