// Alerts from Alertmanager: map each to a service, tell of firing page alerts (src/notices posts them
// with the budget and the service's runbooks), remediate through the change gate (never around it),
// declare incidents, and tell when an alert resolves. Each alert acts once per firing, by fingerprint.

import type { ChangeService } from '../changes/change-service.js';
import type { AuditLog } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { AccessPolicy, Origin } from '../core/context.js';
import { asMillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Notices } from '../core/surfaces.js';
import { REPLICA_ID, withLease } from '../store/coordination.js';
import type { Store, StoredRecord } from '../store/store.js';
import type { Alert, AlertmanagerConfig, AlertmanagerWebhook, AlertRule } from './alert-schema.js';
import type { NoticeDelivery, RemediationClaim } from './events.js';
import type { IncidentService } from './incident-service.js';

interface SeenAlert extends StoredRecord {
  /** fingerprint + startsAt: one firing of one alert. */
  id: string;
  fingerprint: string;
  service?: string;
  status: 'firing' | 'resolved';
  firstSeen: string;
  actions: string[];
  remediations?: Record<string, RemediationClaim>;
}

/** How long a resolved firing's record is kept (then swept): a late redelivery within it is a duplicate. */
export const RESOLVED_ALERT_RETENTION_MS = 7 * 86_400_000;

export interface AlertOutcome {
  fingerprint: string;
  alertname: string;
  service?: string;
  actions: string[];
}

export interface AlertIntakeOptions {
  config: AlertmanagerConfig;
  /** Every accepted webhook is one `alert.received` record, whether any rule matched or not. */
  audit: AuditLog;
  store: Store;
  clock: Clock;
  logger: Logger;
  changes: ChangeService;
  incidents: IncidentService;
  access: AccessPolicy;
  /** The channel of each service, from the catalog. */
  channelOf: (service: string) => string | undefined;
  /** Whether any chat surface runs to post to. */
  notices: Pick<Notices, 'available'>;
  /** Where firing and resolved alerts are told (src/notices renders and posts them). */
  events: EventBus;
  /**
   * How long a remediation's lease outlives a replica that stopped renewing it (policy.handOverAfter):
   * after that, its unfinished claim is reported as abandoned by the next delivery of the firing.
   */
  handOverMs: number;
}

const labelRef = /\{\{\s*labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class AlertIntake {
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
    const origin = this.#origin(ref);
    await this.options.audit.append({
      actor: origin.actor.id,
      surface: origin.surface,
      channel: origin.channel,
      action: 'alert.received',
      args: {
        receiver: payload.receiver,
        status: payload.status,
        // An empty actions list means the alert matched no rule and was not a page: nothing was done.
        alerts: outcomes.map(({ fingerprint, alertname, service, actions }) => ({
          fingerprint,
          alertname,
          ...(service ? { service } : {}),
          actions,
        })),
      },
      outcome: outcomes.some((outcome) => outcome.actions.some((action) => action.startsWith('failed:')))
        ? 'error'
        : 'ok',
      ref,
    });
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
    // The firing's record is its claim, taken before anything is acted on: only the call that
    // created it acts, whichever replica each delivery reaches. `update` may run this function again
    // (two replicas inserting at once, PostgreSQL), so whether this call created it is decided anew
    // on each run.
    let firstTime = false;
    const seen = await store.update<SeenAlert>('alerts', id, (current) => {
      firstTime = current === undefined;
      if (current) return { ...current, status: alert.status };
      return {
        id,
        fingerprint: alert.fingerprint,
        ...(service ? { service } : {}),
        status: alert.status,
        firstSeen: clock.now().toISOString(),
        actions: [],
      };
    });
    if (!firstTime) outcome.actions.push(...(await this.#abandoned(alert, id, seen!)));
    if (alert.status === 'resolved') {
      if (seen?.actions.includes('resolved'))
        return { ...outcome, actions: [...outcome.actions, 'duplicate'] };
      await this.#resolved(alert, id);
      outcome.actions.push('resolved');
      const retainUntil = new Date(clock.now().getTime() + RESOLVED_ALERT_RETENTION_MS).toISOString();
      await this.#record(id, outcome.actions, retainUntil);
      return outcome;
    }
    if (!firstTime) {
      if (outcome.actions.length > 0) await this.#record(id, outcome.actions);
      return { ...outcome, actions: [...outcome.actions, 'duplicate'] };
    }
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
      if (rule.autoRemediate)
        outcome.actions.push(await this.#remediateOnce(rule, alert, id, service, origin));
    }
    await this.#record(id, outcome.actions);
    return outcome;
  }

  /** Adds `actions` to the firing's record (and its retention once resolved), keeping what others wrote. */
  async #record(id: string, actions: string[], retainUntil?: string): Promise<void> {
    await this.options.store.update<SeenAlert>('alerts', id, (current) =>
      current === undefined
        ? undefined
        : { ...current, actions: [...current.actions, ...actions], ...(retainUntil ? { retainUntil } : {}) },
    );
  }

  /**
   * Files the rule's remediation at most once: the claim is recorded before the change is filed, and
   * the filing holds a lease (renewed while the gate decides), so whether its replica is alive is known.
   */
  async #remediateOnce(
    rule: AlertRule,
    alert: Alert,
    id: string,
    service: string,
    origin: Origin,
  ): Promise<string> {
    const { store, clock, handOverMs } = this.options;
    const runbook = rule.autoRemediate!.runbook;
    const run = await withLease(store, remediationLease(id, runbook), { ttlMs: handOverMs }, async () => {
      const claim: RemediationClaim = { state: 'claimed', by: REPLICA_ID, at: clock.now().toISOString() };
      let mine = false;
      await store.update<SeenAlert>('alerts', id, (current) => {
        mine = current !== undefined && current.remediations?.[runbook] === undefined;
        return current && mine
          ? { ...current, remediations: { ...current.remediations, [runbook]: claim } }
          : current;
      });
      if (!mine) return 'duplicate remediation: already claimed';
      const result = await this.#remediate(rule, alert, service, origin);
      await store.update<SeenAlert>('alerts', id, (current) =>
        current
          ? {
              ...current,
              remediations: { ...current.remediations, [runbook]: { ...claim, state: 'filed', result } },
            }
          : current,
      );
      return result;
    });
    return run.held ? run.value : 'duplicate remediation: another replica is filing it';
  }

  /**
   * Claims of this firing whose replica stopped before filing the change (the lease ran out with the
   * claim unfinished): marked abandoned, once, and told to the service's channel and the trail.
   */
  async #abandoned(alert: Alert, id: string, seen: SeenAlert): Promise<string[]> {
    const { store, clock, handOverMs } = this.options;
    const told: string[] = [];
    for (const [runbook, claim] of Object.entries(seen.remediations ?? {})) {
      if (claim.state !== 'claimed') continue;
      const run = await withLease(store, remediationLease(id, runbook), { ttlMs: handOverMs }, async () => {
        let flipped = false;
        await store.update<SeenAlert>('alerts', id, (current) => {
          const now = current?.remediations?.[runbook];
          flipped = now?.state === 'claimed';
          return current && now && flipped
            ? {
                ...current,
                remediations: { ...current.remediations, [runbook]: { ...now, state: 'abandoned' } },
              }
            : current;
        });
        return flipped;
      });
      // Held by a live replica still filing it, or flipped by another delivery already.
      if (!run.held || !run.value) continue;
      const service = seen.service ?? alert.labels[this.options.config.serviceLabel];
      const channel = service ? this.options.channelOf(service) : undefined;
      this.options.logger.warn(
        { fingerprint: alert.fingerprint, runbook, claimedBy: claim.by },
        'an auto-remediation was cut short before its change was filed; not filing it again',
      );
      await this.options.events.emit('alert.remediation-abandoned', {
        id,
        alert,
        runbook,
        claim: { ...claim, state: 'abandoned' },
        detectedAt: clock.now().toISOString(),
        ...(service ? { service } : {}),
        ...(channel ? { channel } : {}),
      });
      told.push(`remediation abandoned: ${runbook} (claimed by ${claim.by}, which stopped before filing it)`);
    }
    return told;
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

  /** Tells of a firing alert in its service's channel; says whether the notice went out. */
  async #post(alert: Alert, service: string, id: string): Promise<string> {
    const available = this.options.notices.available;
    const channel = this.options.channelOf(service);
    if (!available || !channel) {
      this.options.logger.info(
        { service },
        'firing alert not posted: no chat adapter or no channel for the service',
      );
      return available
        ? `not posted: ${service} has no channel in the service catalog`
        : 'not posted: no chat platform';
    }
    const delivery: NoticeDelivery = { posted: false, failure: 'nothing posts alert notices' };
    await this.options.events.emit('alert.firing', { id, alert, service, channel, delivery });
    return delivery.posted ? 'posted' : `not posted: ${delivery.failure}`;
  }

  async #resolved(alert: Alert, id: string): Promise<void> {
    const service = alert.labels[this.options.config.serviceLabel];
    const channel = service ? this.options.channelOf(service) : undefined;
    await this.options.events.emit('alert.resolved', {
      id,
      alert,
      ...(service ? { service } : {}),
      ...(channel ? { channel } : {}),
    });
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

function remediationLease(id: string, runbook: string): string {
  return `alert-remediation:${id}:${runbook}`;
}

function matches(rule: AlertRule, alert: Alert): boolean {
  return Object.entries(rule.match).every(([label, value]) => alert.labels[label] === value);
}
