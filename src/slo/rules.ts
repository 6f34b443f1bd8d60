// `millwright slo rules`: Prometheus recording rules for every SLO's error ratio per window (Sloth's
// names and labels), SLO metadata, and the multiwindow multi-burn-rate page and ticket alerts.
import { stringify } from 'yaml';
import {
  errorRatioQuery,
  identitySelector,
  recordedMetric,
  recordedQuery,
  sloIdentityLabels,
} from './queries.js';
import type { BurnRule, Slo } from './spec.js';

export type RulesFormat = 'prometheus' | 'prometheus-operator';

interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}
interface AlertingRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<RecordingRule | AlertingRule>;
}

/** Sloth prints thresholds like `14.4 * 0.001`; the product is written out here so it reads the same. */
function threshold(rule: BurnRule, slo: Slo): string {
  return `(${rule.factor} * ${slo.errorBudget})`;
}

function alertExpression(slo: Slo, rules: BurnRule[]): string {
  return rules
    .map(
      (rule) =>
        `(\n    (${recordedQuery(slo, rule.long)} > ${threshold(rule, slo)})\n    and ignoring (sloth_window)\n    (${recordedQuery(slo, rule.short)} > ${threshold(rule, slo)})\n)`,
    )
    .join('\nor ignoring (sloth_window)\n');
}

/**
 * The rule groups for one SLO.
 *
 * @example
 * const groups = sloRuleGroups(slo); // sli recordings, period, metadata, alerts
 */
export function sloRuleGroups(slo: Slo): RuleGroup[] {
  const identity = sloIdentityLabels(slo);
  const labels = { ...slo.labels, ...identity };
  const windows = slo.burnWindows.filter((window) => window !== slo.window);
  const groups: RuleGroup[] = [
    {
      name: `millwright-slo-sli-recordings-${slo.id}`,
      rules: windows.map((window) => ({
        record: recordedMetric(window),
        expr: errorRatioQuery(slo, window),
        labels: { ...labels, sloth_window: window },
      })),
    },
    {
      // The whole window is recorded from the raw counters, weighted by traffic and right from the
      // first evaluation (Sloth averages 5m ratios, which needs a full window of rule history).
      // It changes slowly, so it is evaluated less often.
      name: `millwright-slo-period-${slo.id}`,
      interval: '2m',
      rules: [
        {
          record: recordedMetric(slo.window),
          expr: errorRatioQuery(slo, slo.window),
          labels: { ...labels, sloth_window: slo.window },
        },
      ],
    },
    {
      name: `millwright-slo-meta-recordings-${slo.id}`,
      rules: [
        { record: 'slo:objective:ratio', expr: `vector(${slo.objective / 100})`, labels },
        { record: 'slo:error_budget:ratio', expr: `vector(${slo.errorBudget})`, labels },
        { record: 'slo:time_period:days', expr: `vector(${slo.windowMs / 86_400_000})`, labels },
        {
          record: 'slo:current_burn_rate:ratio',
          expr: `${recordedQuery(slo, '5m')}\n/ on (sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio${identitySelector(slo)}`,
          labels,
        },
        {
          record: 'slo:period_burn_rate:ratio',
          expr: `${recordedQuery(slo, slo.window)}\n/ on (sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio${identitySelector(slo)}`,
          labels,
        },
        {
          record: 'slo:period_error_budget_remaining:ratio',
          expr: `1 - slo:period_burn_rate:ratio${identitySelector(slo)}`,
          labels,
        },
        {
          record: 'sloth_slo_info',
          expr: 'vector(1)',
          labels: { ...labels, sloth_mode: 'millwright', sloth_objective: String(slo.objective) },
        },
      ],
    },
  ];
  const alerts: AlertingRule[] = [];
  for (const severity of ['page', 'ticket'] as const) {
    const options = slo.alerting[severity];
    const rules = slo.alerting.rules.filter((rule) => rule.severity === severity);
    if (options.disable || rules.length === 0) continue;
    alerts.push({
      alert: slo.alerting.name,
      expr: alertExpression(slo, rules),
      labels: { ...slo.alerting.labels, ...options.labels, sloth_severity: severity },
      annotations: {
        summary: `${slo.service} ${slo.name}: the ${slo.objective}% SLO's error budget is burning too fast`,
        title: `(${severity}) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.`,
        ...slo.alerting.annotations,
        ...options.annotations,
      },
    });
  }
  if (alerts.length > 0) groups.push({ name: `millwright-slo-alerts-${slo.id}`, rules: alerts });
  return groups;
}

/**
 * The rules file for every SLO, as YAML: a Prometheus `rule_files` document, or a
 * prometheus-operator `PrometheusRule` resource.
 *
 * @example
 * await writeFile('slo-rules.yml', sloRulesYaml(slos, 'prometheus'));
 */
export function sloRulesYaml(slos: readonly Slo[], format: RulesFormat = 'prometheus'): string {
  const groups = slos.flatMap(sloRuleGroups);
  const header = '# Generated by `millwright slo rules`; regenerate instead of editing.\n';
  if (format === 'prometheus') return header + stringify({ groups }, { lineWidth: 0 });
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'millwright-slos',
      labels: { 'app.kubernetes.io/managed-by': 'millwright', 'app.kubernetes.io/part-of': 'millwright' },
    },
    spec: { groups },
  };
  return header + stringify(resource, { lineWidth: 0 });
}
