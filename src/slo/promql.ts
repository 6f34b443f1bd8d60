// PromQL checks with the Prometheus project's own grammar (@prometheus-io/lezer-promql): syntax errors,
// unknown functions, selectors Prometheus refuses and arguments of the wrong type or count.
import { parser } from '@prometheus-io/lezer-promql';
import { WINDOW_PLACEHOLDER } from './spec.js';

/** @lezer/common's node type, named through the parser (a dependency of it, not of ours). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** One thing wrong in a query; `offset` is 0-based in the text as written (placeholders included). */
export interface PromqlProblem {
  offset: number;
  message: string;
}

type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** A function's argument types, how many trailing ones are optional or repeat, and what it returns. */
interface Signature {
  args: ValueType[];
  /** Trailing arguments that may be left out. */
  optional?: number;
  /** The last argument repeats any number of times. */
  variadic?: boolean;
  returns: ValueType;
}

const V = 'vector' as const;
const M = 'matrix' as const;
const S = 'scalar' as const;
const STR = 'string' as const;
const sig = (args: ValueType[], returns: ValueType = V, extra: Partial<Signature> = {}): Signature => ({
  args,
  returns,
  ...extra,
});
const vectorToVector = sig([V]);
const rangeToVector = sig([M]);
const timeOfDay = sig([V], V, { optional: 1 });

// Prometheus's promql/parser/functions.go, as of 3.x.
const FUNCTIONS: Record<string, Signature> = {
  abs: vectorToVector,
  absent: vectorToVector,
  absent_over_time: rangeToVector,
  acos: vectorToVector,
  acosh: vectorToVector,
  asin: vectorToVector,
  asinh: vectorToVector,
  atan: vectorToVector,
  atanh: vectorToVector,
  avg_over_time: rangeToVector,
  ceil: vectorToVector,
  changes: rangeToVector,
  clamp: sig([V, S, S]),
  clamp_max: sig([V, S]),
  clamp_min: sig([V, S]),
  cos: vectorToVector,
  cosh: vectorToVector,
  count_over_time: rangeToVector,
  days_in_month: timeOfDay,
  day_of_month: timeOfDay,
  day_of_week: timeOfDay,
  day_of_year: timeOfDay,
  deg: vectorToVector,
  delta: rangeToVector,
  deriv: rangeToVector,
  double_exponential_smoothing: sig([M, S, S]),
  exp: vectorToVector,
  first_over_time: rangeToVector,
  floor: vectorToVector,
  histogram_avg: vectorToVector,
  histogram_count: vectorToVector,
  histogram_fraction: sig([S, S, V]),
  histogram_quantile: sig([S, V]),
  histogram_stddev: vectorToVector,
  histogram_stdvar: vectorToVector,
  histogram_sum: vectorToVector,
  hour: timeOfDay,
  idelta: rangeToVector,
  increase: rangeToVector,
  info: sig([V, V], V, { optional: 1 }),
  irate: rangeToVector,
  label_join: sig([V, STR, STR, STR], V, { optional: 1, variadic: true }),
  label_replace: sig([V, STR, STR, STR, STR]),
  last_over_time: rangeToVector,
  ln: vectorToVector,
  log10: vectorToVector,
  log2: vectorToVector,
  mad_over_time: rangeToVector,
  max_over_time: rangeToVector,
  min_over_time: rangeToVector,
  minute: timeOfDay,
  month: timeOfDay,
  pi: sig([], S),
  predict_linear: sig([M, S]),
  present_over_time: rangeToVector,
  quantile_over_time: sig([S, M]),
  rad: vectorToVector,
  rate: rangeToVector,
  resets: rangeToVector,
  round: sig([V, S], V, { optional: 1 }),
  scalar: sig([V], S),
  sgn: vectorToVector,
  sin: vectorToVector,
  sinh: vectorToVector,
  sort: vectorToVector,
  sort_by_label: sig([V, STR], V, { optional: 1, variadic: true }),
  sort_by_label_desc: sig([V, STR], V, { optional: 1, variadic: true }),
  sort_desc: vectorToVector,
  sqrt: vectorToVector,
  stddev_over_time: rangeToVector,
  stdvar_over_time: rangeToVector,
  sum_over_time: rangeToVector,
  tan: vectorToVector,
  tanh: vectorToVector,
  time: sig([], S),
  timestamp: vectorToVector,
  ts_of_first_over_time: rangeToVector,
  ts_of_last_over_time: rangeToVector,
  ts_of_max_over_time: rangeToVector,
  ts_of_min_over_time: rangeToVector,
  vector: sig([S]),
  year: timeOfDay,
};

/** Aggregations that take a parameter before the vector, and its type. */
const AGGREGATION_PARAMETER: Record<string, ValueType> = {
  count_values: STR,
  quantile: S,
  topk: S,
  bottomk: S,
  limitk: S,
  limit_ratio: S,
};

/** Short names for a signature: `rate(range vector)`. */
const SHORT_TYPE: Record<ValueType, string> = {
  scalar: 'number',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
};

const TYPE_WORDS: Record<ValueType, string> = {
  scalar: 'a number (scalar)',
  vector: 'an instant vector',
  matrix: 'a range vector like x[5m]',
  string: 'a string',
};

/**
 * The query with `{{window}}` (and Sloth's `{{.window}}`) replaced by a real range, and a map from
 * each character of it back to the template.
 */
function substitute(template: string): { text: string; origin: number[] } {
  let text = '';
  const origin: number[] = [];
  let last = 0;
  for (const match of template.matchAll(new RegExp(WINDOW_PLACEHOLDER.source, 'g'))) {
    for (let i = last; i < match.index; i++) origin.push(i);
    text += `${template.slice(last, match.index)}5m`;
    origin.push(match.index, match.index);
    last = match.index + match[0].length;
  }
  for (let i = last; i <= template.length; i++) origin.push(i);
  text += template.slice(last);
  return { text, origin };
}

/** Go's RE2 and JavaScript differ at the edges; this catches what both refuse (unbalanced, bad escapes). */
function regexProblem(pattern: string): string | undefined {
  // What JavaScript accepts and RE2 (Prometheus) refuses.
  if (/(^|[^\\])\(\?<?[=!]/.test(pattern))
    return 'lookahead and lookbehind are not supported (Prometheus uses RE2)';
  if (/(^|[^\\])\\[1-9]/.test(pattern)) return 'backreferences are not supported (Prometheus uses RE2)';
  try {
    new RegExp(`^(?:${pattern})$`, 'u');
    return undefined;
  } catch (error) {
    // The `u` flag is stricter than RE2 on escapes like `\-`; only what plain JS also refuses counts.
    try {
      new RegExp(`^(?:${pattern})$`);
      return undefined;
    } catch {
      return (error as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /, '');
    }
  }
}

/** The Go string a PromQL string literal holds (the grammar allows ", ' and ` quotes). */
function stringValue(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  const body = literal.slice(1, -1);
  return body.replace(/\\(.)/g, (_, ch: string) => ({ n: '\n', t: '\t', r: '\r' })[ch] ?? ch);
}

/**
 * Every problem Prometheus would find parsing `template` (a query with `{{window}}` placeholders),
 * with its offset in the template. With `vector`, the whole query must be an instant vector.
 *
 * @example
 * checkPromql('sum(rtae(http_requests_total[{{window}}]))')
 * // [{ offset: 4, message: 'unknown function "rtae"' }]
 */
export function checkPromql(template: string, options: { vector?: boolean } = {}): PromqlProblem[] {
  const { text, origin } = substitute(template);
  const problems: PromqlProblem[] = [];
  const at = (offset: number, message: string) => {
    if (!problems.some((problem) => problem.offset === origin[offset])) {
      problems.push({ offset: origin[Math.min(offset, origin.length - 1)] ?? 0, message });
    }
  };
  if (text.trim() === '') return [{ offset: 0, message: 'the query is empty' }];
  const tree = parser.parse(text);
  const slice = (node: SyntaxNode) => text.slice(node.from, node.to);

  // Unknown functions first: the grammar turns `rtae(` into an error after a metric name.
  tree.iterate({
    enter(ref) {
      if (ref.name !== 'Identifier' || ref.node.parent?.name !== 'VectorSelector') return;
      if (/^\s*\(/.test(text.slice(ref.to))) {
        const name = text.slice(ref.from, ref.to);
        at(ref.from, `unknown function "${name}"`);
      }
    },
  });
  tree.iterate({
    enter(ref) {
      if (!ref.type.isError) return;
      if (problems.length > 0) return false;
      const found = text.slice(ref.from, ref.to).trim();
      const variable = /^\$\{?(__\w+|\w+)/.exec(text.slice(ref.from));
      if (variable) {
        at(
          ref.from,
          `"$${variable[1]}" is a Grafana variable, not PromQL; write the range as {{window}}, which Millwright fills in`,
        );
        return false;
      }
      at(
        ref.from,
        ref.from >= text.length
          ? 'syntax error: the query ends too early (an unclosed bracket or missing operand?)'
          : `syntax error at "${found || text.slice(ref.from, ref.from + 10).trim()}"`,
      );
      return false;
    },
  });
  if (problems.length > 0) return problems;

  const typeOf = (node: SyntaxNode | null): ValueType | undefined => {
    if (!node) return undefined;
    switch (node.name) {
      case 'PromQL':
      case 'ParenExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return typeOf(node.firstChild);
      case 'UnaryExpr':
        return typeOf(node.lastChild);
      case 'NumberDurationLiteral':
        return S;
      case 'StringLiteral':
        return STR;
      case 'VectorSelector':
        return V;
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'SmoothedExpr':
      case 'AnchoredExpr':
        return M;
      case 'AggregateExpr':
        return V;
      case 'FunctionCall': {
        const name = node.getChild('FunctionIdentifier');
        return name ? (FUNCTIONS[slice(name)]?.returns ?? V) : V;
      }
      case 'BinaryExpr': {
        const operands = expressions(node);
        return operands.every((operand) => typeOf(operand) === S) ? S : V;
      }
      default:
        return undefined;
    }
  };

  const want = (node: SyntaxNode, expected: ValueType, what: string) => {
    const actual = typeOf(node);
    if (actual === undefined || actual === expected) return;
    at(node.from, `${what} must be ${TYPE_WORDS[expected]}, not ${TYPE_WORDS[actual]}`);
  };

  tree.iterate({
    enter(ref) {
      const node = ref.node;
      switch (node.name) {
        case 'VectorSelector':
          checkSelector(node);
          break;
        case 'FunctionCall':
          checkCall(node);
          break;
        case 'AggregateExpr':
          checkAggregation(node);
          break;
        case 'BinaryExpr':
          for (const operand of expressions(node)) {
            const type = typeOf(operand);
            if (type === M || type === STR) {
              at(
                operand.from,
                `an operand of "${binaryOperator(node, text)}" must be ${TYPE_WORDS.vector} or a number, not ${TYPE_WORDS[type]}`,
              );
            }
          }
          break;
        case 'SubqueryExpr':
        case 'MatrixSelector': {
          const inner = node.firstChild;
          if (node.name === 'MatrixSelector' && inner && inner.name !== 'VectorSelector') {
            at(
              inner.from,
              'a range [..] goes right after a metric selector; use a subquery like (expr)[5m:1m]',
            );
          }
          if (node.name === 'SubqueryExpr' && typeOf(inner) !== V && typeOf(inner) !== S && typeOf(inner)) {
            at(inner!.from, `a subquery needs ${TYPE_WORDS.vector}, not ${TYPE_WORDS[typeOf(inner)!]}`);
          }
          break;
        }
      }
    },
  });

  function checkSelector(node: SyntaxNode) {
    const named = node.getChild('Identifier') !== null;
    const matchers = node.getChild('LabelMatchers');
    let nonEmpty = named;
    for (const matcher of matchers ? childrenOf(matchers) : []) {
      if (matcher.name !== 'UnquotedLabelMatcher' && matcher.name !== 'QuotedLabelMatcher') {
        // A quoted name alone (`{"metric"}`) names the metric.
        if (matcher.name === 'QuotedLabelName' && stringValue(slice(matcher)) !== '') nonEmpty = true;
        continue;
      }
      const op = matcher.getChild('MatchOp');
      const value = matcher.getChild('StringLiteral');
      if (!op || !value) continue;
      const pattern = stringValue(slice(value));
      const operator = slice(op);
      if (operator === '=~' || operator === '!~') {
        const problem = regexProblem(pattern);
        if (problem) at(value.from, `invalid regular expression ${slice(value)}: ${problem}`);
      }
      const emptyMatch: Record<string, () => boolean> = {
        '=': () => pattern === '',
        '!=': () => pattern !== '',
        '=~': () => regexMatchesEmpty(pattern),
        '!~': () => !regexMatchesEmpty(pattern),
      };
      const matchesEmpty = emptyMatch[operator]?.() ?? true;
      const isName = matcher.getChild('LabelName') ?? matcher.getChild('QuotedLabelName');
      if (isName && slice(isName).replace(/^["'`]|["'`]$/g, '') === '__name__') nonEmpty ||= !matchesEmpty;
      else if (!matchesEmpty) nonEmpty = true;
    }
    if (!nonEmpty) {
      at(
        node.from,
        'the selector must name a metric or have a matcher that does not match the empty string, like {job="checkout"}',
      );
    }
  }

  function checkCall(node: SyntaxNode) {
    const identifier = node.getChild('FunctionIdentifier');
    if (!identifier) return;
    const name = slice(identifier);
    const signature = FUNCTIONS[name];
    const args = expressions(node.getChild('FunctionCallBody'));
    if (!signature) return; // Experimental functions the grammar knows; Prometheus checks those itself.
    const min = signature.args.length - (signature.optional ?? 0);
    const max = signature.variadic ? Infinity : signature.args.length;
    if (args.length < min || args.length > max) {
      const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      at(
        identifier.from,
        `${name}() takes ${count} argument${min === 1 && max === 1 ? '' : 's'} (${signature.args.map((type) => SHORT_TYPE[type]).join(', ')}), got ${args.length}`,
      );
      return;
    }
    args.forEach((arg, index) => {
      const expected = signature.args[Math.min(index, signature.args.length - 1)]!;
      want(arg, expected, `argument ${index + 1} of ${name}()`);
    });
  }

  function checkAggregation(node: SyntaxNode) {
    const op = node.getChild('AggregateOp');
    if (!op) return;
    const name = slice(op);
    const args = expressions(node.getChild('FunctionCallBody'));
    const parameter = AGGREGATION_PARAMETER[name];
    const expected: ValueType[] = parameter ? [parameter, V] : [V];
    if (args.length !== expected.length) {
      at(
        op.from,
        `${name}() takes ${expected.length} argument${expected.length === 1 ? '' : 's'} (${expected.map((type) => SHORT_TYPE[type]).join(', ')}), got ${args.length}`,
      );
      return;
    }
    for (const [index, arg] of args.entries())
      want(arg, expected[index]!, `argument ${index + 1} of ${name}()`);
  }

  if (problems.length === 0 && options.vector) {
    const top = typeOf(tree.topNode);
    if (top && top !== V) {
      at(0, `the query must give ${TYPE_WORDS.vector} (Millwright sums it), not ${TYPE_WORDS[top]}`);
    }
  }
  return problems.sort((a, b) => a.offset - b.offset);
}

/**
 * The query with the matcher `name="value"` added to every series selector, so it reads one slice of
 * the traffic (a release's canary or stable track). `{{window}}` placeholders stay as written. A query
 * that does not parse, or already matches on `name` somewhere, is refused: narrowing it again would
 * silently read nothing or the wrong slice.
 *
 * @example
 * withLabel('sum(rate(http_requests_total{code=~"5.."}[{{window}}]))', 'track', 'canary')
 * // 'sum(rate(http_requests_total{track="canary", code=~"5.."}[{{window}}]))'
 */
export function withLabel(template: string, name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new RangeError(`"${name}" is not a Prometheus label name`);
  const [problem] = checkPromql(template);
  if (problem) throw new RangeError(`the query does not parse: ${problem.message}`);
  const { text, origin } = substitute(template);
  const matcher = `${name}=${JSON.stringify(value)}`;
  const inserts: { at: number; text: string }[] = [];
  parser.parse(text).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return;
      const matchers = ref.node.getChild('LabelMatchers');
      if (!matchers) {
        // `metric` alone: the name is the whole selector.
        inserts.push({ at: origin[ref.to]!, text: `{${matcher}}` });
        return false;
      }
      const existing = childrenOf(matchers).filter((child) => child.name.endsWith('LabelMatcher'));
      for (const child of existing) {
        const label = child.getChild('LabelName') ?? child.getChild('QuotedLabelName');
        const labelText = label ? text.slice(label.from, label.to) : '';
        if ((label?.name === 'QuotedLabelName' ? stringValue(labelText) : labelText) === name) {
          throw new RangeError(
            `the query already matches on the label "${name}" (${text.slice(child.from, child.to)}); remove it to compare tracks`,
          );
        }
      }
      const alone = existing.length === 0 && !matchers.getChild('QuotedLabelName');
      inserts.push({ at: origin[matchers.from + 1]!, text: alone ? matcher : `${matcher}, ` });
      return false;
    },
  });
  let result = template;
  for (const insert of inserts.sort((a, b) => b.at - a.at)) {
    result = `${result.slice(0, insert.at)}${insert.text}${result.slice(insert.at)}`;
  }
  return result;
}

/**
 * The series selectors a query reads (`http_requests_total{service="checkout"}`), distinct, in order;
 * none for a query that does not parse.
 *
 * @example
 * seriesSelectors('sum(rate(http_requests_total{service="checkout"}[{{window}}]))')
 * // ['http_requests_total{service="checkout"}']
 */
export function seriesSelectors(template: string): string[] {
  if (checkPromql(template).length > 0) return [];
  const { text } = substitute(template);
  const selectors = new Set<string>();
  parser.parse(text).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return;
      selectors.add(text.slice(ref.from, ref.to));
      return false;
    },
  });
  return [...selectors];
}

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

const OPERATOR_NODES = new Set([
  'Pow',
  'Mul',
  'Div',
  'Mod',
  'Add',
  'Sub',
  'Eql',
  'Gte',
  'Gtr',
  'Lte',
  'Lss',
  'Neq',
  'And',
  'Or',
  'Unless',
  'Atan2',
  'TrimUpper',
  'TrimLower',
  'BoolModifier',
  'MatchingModifierClause',
  'FillModifier',
  'LineComment',
]);

/** The expression children of a call body or binary expression (operators and modifiers left out). */
function expressions(node: SyntaxNode | null): SyntaxNode[] {
  if (!node) return [];
  return childrenOf(node).filter((child) => !OPERATOR_NODES.has(child.name) && !child.type.isError);
}

function binaryOperator(node: SyntaxNode, text: string): string {
  const op = childrenOf(node).find(
    (child) => OPERATOR_NODES.has(child.name) && !child.name.endsWith('Modifier'),
  );
  return op ? text.slice(op.from, op.to) : 'the operator';
}

function regexMatchesEmpty(pattern: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test('');
  } catch {
    return false; // already reported as an invalid regex
  }
}
