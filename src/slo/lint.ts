// Checks beyond the schema that catch SLOs which would load but mislead: PromQL Prometheus would
// refuse, burn factors the objective can never reach, and duplicate ids.
import { duplicateProblems, type SloProblem } from './load.js';
import type { SloFileLocator } from './locate.js';
import { checkPromql } from './promql.js';
import { type Slo, sloLabel } from './spec.js';

/** The PromQL an SLO's spec holds, named as in the native format, with text to parse and its offset. */
function specQueries(slo: Slo): Array<{ name: string; written: string; parsed: string; shift: number }> {
  const { events, latency } = slo.spec.sli;
  if (latency) {
    if (latency.selector === undefined || latency.selector.trim() === '') return [];
    // Checked as the matchers of the histogram's series, as they are used.
    const prefix = `${latency.metric}_count{`;
    return [
      {
        name: 'latency.selector',
        written: latency.selector,
        parsed: `${prefix}${latency.selector}}`,
        shift: prefix.length,
      },
    ];
  }
  return (['errorQuery', 'goodQuery', 'totalQuery'] as const).flatMap((name) => {
    const query = events?.[name];
    return query === undefined ? [] : [{ name, written: query, parsed: query, shift: 0 }];
  });
}

/**
 * Problems in loaded SLOs that the schema cannot see. Each query is parsed with Prometheus's PromQL
 * grammar; `locate` (from `locateQueries` on each SLO file's text) puts its problems at their line and
 * column, else they carry the file alone.
 *
 * @example
 * const problems = lintSlos(loaded.slos, (file) => locateQueries(texts.get(file) ?? '')); // [] when all is well
 */
export function lintSlos(
  slos: readonly Slo[],
  locate: (file: string) => SloFileLocator | undefined = () => undefined,
): SloProblem[] {
  const fileOf = (slo: Slo) => slo.source.file ?? 'millwright.yml';
  const problems: SloProblem[] = [
    ...duplicateProblems(slos, (slo) => locate(fileOf(slo))?.slo(slo.source, 'name')),
  ];
  for (const slo of slos) {
    const file = fileOf(slo);
    const locator = locate(file);
    const problem = (message: string, key?: string) =>
      problems.push({
        file,
        line: 0,
        column: 0,
        path: '',
        ...locator?.slo(slo.source, key),
        message: `${sloLabel(slo)}: ${message}`,
      });
    for (const query of specQueries(slo)) {
      for (const found of checkPromql(query.parsed, { vector: query.shift === 0 })) {
        const offset = Math.max(0, found.offset - query.shift);
        const position = locator?.query(query.written, offset, slo.source);
        problems.push({
          file,
          line: position?.line ?? 0,
          column: position?.column ?? 0,
          path: position?.path ?? '',
          message: `${sloLabel(slo)}: ${query.name}: ${found.message}`,
        });
      }
    }
    const longest = Math.max(...slo.alerting.rules.map((rule) => rule.factor));
    if (slo.errorBudget * longest >= 1) {
      problem(
        `a burn-rate factor of ${longest}× on a ${slo.objective}% objective needs an error ratio above 100%; lower the factor or the objective`,
        'objective',
      );
    }
  }
  return problems;
}
