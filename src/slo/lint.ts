// Checks beyond the schema that catch SLOs which would load but mislead: unbalanced PromQL, burn
// factors the objective can never reach, and duplicate ids.
import { duplicateProblems, type SloProblem } from './load.js';
import { type Slo, sloLabel } from './spec.js';

/** The first bracket or quote problem in a PromQL template, if any. */
export function promqlBalanceProblem(query: string): string | undefined {
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quote: string | undefined;
  // `{{window}}` is a placeholder, not PromQL braces.
  const text = query.replace(/\{\{\s*\.?window\s*\}\}/g, '5m');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in closing) {
      if (stack.pop() !== closing[ch]) return `unbalanced "${ch}" at character ${i + 1}`;
    }
  }
  if (quote) return `unclosed ${quote} quote`;
  if (stack.length > 0) return `unclosed "${stack.at(-1)}"`;
  return undefined;
}

/**
 * Problems in loaded SLOs that the schema cannot see.
 *
 * @example
 * const problems = lintSlos(loaded.slos); // [] when all is well
 */
export function lintSlos(slos: readonly Slo[]): SloProblem[] {
  const problems: SloProblem[] = [...duplicateProblems(slos)];
  for (const slo of slos) {
    const file = slo.source.file ?? 'millwright.yml';
    const problem = (message: string) =>
      problems.push({ file, line: 0, column: 0, path: '', message: `${sloLabel(slo)}: ${message}` });
    for (const [name, query] of [
      ['the error query', slo.errorQuery],
      ['totalQuery', slo.totalQuery],
    ] as const) {
      const balance = promqlBalanceProblem(query);
      if (balance) problem(`${name} has ${balance}`);
    }
    const longest = Math.max(...slo.alerting.rules.map((rule) => rule.factor));
    if (slo.errorBudget * longest >= 1) {
      problem(
        `a burn-rate factor of ${longest}× on a ${slo.objective}% objective needs an error ratio above 100%; lower the factor or the objective`,
      );
    }
  }
  return problems;
}
