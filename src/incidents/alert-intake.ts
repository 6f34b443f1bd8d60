// Alerts from Alertmanager: map each to a service, post firing page alerts with the budget and the
// service's runbooks, remediate through the change gate (never around it), declare incidents, and
// update the message when an alert resolves. Each alert acts once per firing, by fingerprint.

import type { ChangeService } from '../changes/change-service.js';
import type { ActionSigner } from '../core/action-token.js';
import type { Clock } from '../core/clock.js';
import type { AccessPolicy, MessageHandle, Origin } from '../core/context.js';
import { asMillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type ActionsBlock, type Block, context, fields, header, type Reply, text } from '../core/reply.js';
import type { Notices } from '../core/surfaces.js';
import type { RunbookService } from '../runbooks/service.js';
import type { Store, StoredRecord } from '../store/store.js';
import type { Alert, AlertmanagerConfig, AlertmanagerWebhook, AlertRule } from './alert-schema.js';
import type { IncidentService } from './incident-service.js';
import type { IncidentNumbers } from './types.js';

interface SeenAlert extends StoredRecord {
  /** fingerprint + startsAt: one firing of one alert. */
  id: string;
  fingerprint: string;
  service?: string;
  status: 'firing' | 'resolved';
  firstSeen: string;
  actions: string[];
}

export interface AlertOutcome {
  fingerprint: string;
  alertname: string;
  service?: string;
  actions: string[];
}

export interface AlertIntakeOptions {
  config: AlertmanagerConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  changes: ChangeService;
  incidents: IncidentService;
  runbooks: RunbookService;
  access: AccessPolicy;
  actions: ActionSigner;
  numbers?: IncidentNumbers;
  /** The channel of each service, from the catalog. */
  channelOf: (service: string) => string | undefined;
  notices: Notices;
}

const labelRef = /\{\{\s*labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class AlertIntake {
  // Messages posted for firing alerts, so a resolve edits them in place (until a restart).
  readonly #posted = new Map<string, MessageHandle>();

  constructor(private readonly options: AlertIntakeOptions) {}

  async receive(payload: AlertmanagerWebhook, ref: string): Promise<AlertOutcome[]> {
    const outcomes: AlertOutcome[] = [];
    for (const alert of payload.alerts) {
      try {
        outcomes.push(await this.#one(alert, ref));
      } catch (error) {
        // One bad alert must not cost the others theirs.
        this.options.logger.error(
          { err: error, fingerprint: alert.fingerprint, ref },
          'alert handling failed',
        );
        outcomes.push({
          fingerprint: alert.fingerprint,
          alertname: alert.labels.alertname ?? '?',
          actions: [`failed: ${asMillwrightError(error).message}`],
        });
      }
    }
    return outcomes;
  }

  async #one(alert: Alert, ref: string): Promise<AlertOutcome> {
    const { store, config, clock } = this.options;
    const alertname = alert.labels.alertname ?? 'alert';
    const service = alert.labels[config.serviceLabel];
    const id = `${alert.fingerprint}@${alert.startsAt}`;
    const outcome: AlertOutcome = {
      fingerprint: alert.fingerprint,
      alertname,
      ...(service ? { service } : {}),
      actions: [],
    };
    let firstTime = false;
    const seen = await store.update<SeenAlert>('alerts', id, (current) => {
      if (current) return { ...current, status: alert.status };
      firstTime = true;
      return {
        id,
        fingerprint: alert.fingerprint,
        ...(service ? { service } : {}),
        status: alert.status,
        firstSeen: clock.now().toISOString(),
        actions: [],
      };
    });
    if (alert.status === 'resolved') {
      if (seen?.actions.includes('resolved')) return { ...outcome, actions: ['duplicate'] };
      await this.#resolved(alert, id);
      seen!.actions.push('resolved');
      await store.put('alerts', seen!);
      return { ...outcome, actions: ['resolved'] };
    }
    if (!firstTime) return { ...outcome, actions: ['duplicate'] };
    if (!service) {
      this.options.logger.warn(
        { alertname, labels: alert.labels },
        `alert has no ${config.serviceLabel} label; not mapped to a service`,
      );
      return { ...outcome, actions: ['unmapped'] };
    }
    const origin = this.#origin(ref);
    const rules = config.rules.filter((rule) => matches(rule, alert));
    const page =
      alert.labels.severity === 'critical' ||
      alert.labels.severity === 'page' ||
      alert.labels.sloth_severity === 'page';
    if (page || rules.length > 0) outcome.actions.push(await this.#post(alert, service, id));
    for (const rule of rules) {
      if (rule.declareIncident) {
        const incident = await this.options.incidents.declare(origin, {
          title: alert.annotations.summary ?? alertname,
          service,
          severity: rule.declareIncident.severity,
          startedAt: new Date(alert.startsAt),
          source: `alert ${alertname}`,
        });
        outcome.actions.push(`declared ${incident.id}`);
      }
      if (rule.autoRemediate) outcome.actions.push(await this.#remediate(rule, alert, service, origin));
    }
    seen!.actions.push(...outcome.actions);
    await store.put('alerts', seen!);
    return outcome;
  }

  async #remediate(rule: AlertRule, alert: Alert, service: string, origin: Origin): Promise<string> {
    const { store, clock, changes } = this.options;
    const remedy = rule.autoRemediate!;
    const hour = clock.now().toISOString().slice(0, 13);
    const counter = await store.update<{ id: string; count: number }>(
      'alert_remediations',
      `${remedy.runbook}@${service}@${hour}`,
      (c) => ({
        id: `${remedy.runbook}@${service}@${hour}`,
        count: (c?.count ?? 0) + 1,
      }),
    );
    if (counter!.count > remedy.maxPerHour)
      return `rate-limited: ${remedy.runbook} already filed ${remedy.maxPerHour} time(s) this hour`;
    const params = Object.fromEntries(
      Object.entries(remedy.params).map(([key, value]) => [
        key,
        value.replace(labelRef, (_, label: string) => alert.labels[label] ?? ''),
      ]),
    );
    try {
      const change = await changes.request(origin, {
        runbook: remedy.runbook,
        params,
        service,
        reason: `alert ${alert.labels.alertname ?? ''} (${alert.fingerprint})`,
      });
      return `change ${change.id} ${change.state}`;
    } catch (error) {
      return `remediation refused: ${asMillwrightError(error).message}`;
    }
  }

  async #post(alert: Alert, service: string, id: string): Promise<string> {
    const notifier = this.options.notices.available ? this.options.notices : undefined;
    const channel = this.options.channelOf(service);
    if (!notifier || !channel) {
      this.options.logger.info(
        { service },
        'firing alert not posted: no chat adapter or no channel for the service',
      );
      return notifier
        ? `not posted: ${service} has no channel in the service catalog`
        : 'not posted: no chat platform';
    }
    const blocks: Block[] = [
      header(`Firing: ${alert.labels.alertname ?? 'alert'} on ${service}`),
      text(alert.annotations.summary ?? alert.annotations.description ?? ''),
      fields({
        since: alert.startsAt,
        severity: alert.labels.severity ?? 'unknown',
        ...(alert.labels.sloth_slo ? { SLO: alert.labels.sloth_slo } : {}),
      }),
    ];
    if (this.options.numbers) {
      try {
        const statuses = await this.options.numbers.status(service, this.options.clock.now());
        for (const s of statuses) {
          blocks.push(
            context(
              `${s.slo}: ${s.remainingPercent === undefined ? 'budget unknown' : `${s.remainingPercent.toFixed(1)}% budget left`}, ${s.burnState}${s.burnRate1h !== undefined ? `, 1h burn ${s.burnRate1h.toFixed(1)}x` : ''}`,
            ),
          );
        }
      } catch (error) {
        blocks.push(context(`budget unavailable: ${asMillwrightError(error).message}`));
      }
    }
    const runbooks = this.options.runbooks.list({ service }).slice(0, 5);
    if (runbooks.length > 0) {
      const buttons: ActionsBlock = {
        type: 'actions',
        actions: runbooks.map((r) => {
          const command = `runbook run ${r.spec.metadata.name}`;
          return {
            id: r.spec.metadata.name,
            label: r.spec.metadata.name,
            command,
            token: this.options.actions.sign({ command, channel }),
          };
        }),
      };
      blocks.push(buttons);
    }
    const message: Reply = { ok: true, visibility: 'public', blocks };
    try {
      this.#posted.set(id, await notifier.post(channel, message));
      return 'posted';
    } catch (error) {
      this.options.logger.error({ err: error, service, channel }, 'alert message could not be posted');
      return `not posted: ${asMillwrightError(error).message}`;
    }
  }

  async #resolved(alert: Alert, id: string): Promise<void> {
    const message: Reply = {
      ok: true,
      visibility: 'public',
      blocks: [
        header(
          `Resolved: ${alert.labels.alertname ?? 'alert'}${alert.labels[this.options.config.serviceLabel] ? ` on ${alert.labels[this.options.config.serviceLabel]}` : ''}`,
        ),
        context(`firing since ${alert.startsAt}, resolved ${alert.endsAt ?? 'now'}`),
      ],
    };
    const handle = this.#posted.get(id);
    try {
      if (handle) await handle.update(message);
      else {
        const service = alert.labels[this.options.config.serviceLabel];
        const channel = service ? this.options.channelOf(service) : undefined;
        if (channel && this.options.notices.available) await this.options.notices.post(channel, message);
      }
    } catch (error) {
      this.options.logger.error(
        { err: error, fingerprint: alert.fingerprint },
        'resolved alert message could not be posted',
      );
    }
    this.#posted.delete(id);
  }

  #origin(ref: string): Origin {
    const id = this.options.config.actor;
    return {
      actor: { id, roles: this.options.access.rolesFor({ id }) },
      channel: 'alertmanager',
      surface: 'alertmanager',
      ref,
    };
  }
}

function matches(rule: AlertRule, alert: Alert): boolean {
  return Object.entries(rule.match).every(([label, value]) => alert.labels[label] === value);
}
