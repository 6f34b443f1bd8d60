// Alert notices: a firing alert in its service's channel with the error budget and buttons for the
// service's runbooks, edited in place when the same firing resolves.
import type { ActionSigner } from '../core/action-token.js';
import type { Clock } from '../core/clock.js';
import { asMillwrightError } from '../core/errors.js';
import { formLine } from '../core/interaction.js';
import type { Logger } from '../core/logger.js';
import type { MessageHandle } from '../core/messages.js';
import { type ActionsBlock, type Block, context, fields, header, type Reply, text } from '../core/reply.js';
import type { Notices } from '../core/surfaces.js';
import type {
  AlertFiring,
  AlertResolved,
  IncidentNumbers,
  RemediationAbandoned,
} from '../incidents/index.js';
import { paramsFromAlert } from '../runbooks/params.js';
import type { RunbookService } from '../runbooks/service.js';

export interface AlertNoticeOptions {
  notices: Notices;
  runbooks: RunbookService;
  /** Signs the runbook buttons for the channel they are posted in. */
  actions: ActionSigner;
  numbers?: IncidentNumbers | undefined;
  clock: Clock;
  logger: Logger;
}

/** Posts firing alerts and keeps their messages, so the resolve of the same firing edits them. */
export class AlertNotices {
  // Messages posted for firing alerts, by firing id, so a resolve edits them in place (until a restart).
  readonly #posted = new Map<string, MessageHandle>();

  constructor(private readonly options: AlertNoticeOptions) {}

  async firing(event: AlertFiring): Promise<void> {
    const { id, service, channel, delivery } = event;
    const message = await this.render(event);
    try {
      this.#posted.set(id, await this.options.notices.post(channel, message));
      delivery.posted = true;
      delete delivery.failure;
    } catch (error) {
      this.options.logger.error({ err: error, service, channel }, 'alert message could not be posted');
      delivery.posted = false;
      delivery.failure = asMillwrightError(error).message;
    }
  }

  async resolved(event: AlertResolved): Promise<void> {
    const { id, alert, channel } = event;
    const message = resolvedNotice(event);
    const handle = this.#posted.get(id);
    try {
      if (handle) await handle.update(message);
      else if (channel && this.options.notices.available) await this.options.notices.post(channel, message);
    } catch (error) {
      this.options.logger.error(
        { err: error, fingerprint: alert.fingerprint },
        'resolved alert message could not be posted',
      );
    }
    this.#posted.delete(id);
  }

  /** The firing notice: what fires, since when, the budget left and the service's runbooks, filled from the alert. */
  async render({ alert, service, channel }: AlertFiring): Promise<Reply> {
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
          // Filled from the alert's labels and annotations; what is missing, the run asks for in a form.
          const command = formLine(`runbook run ${r.spec.metadata.name}`, paramsFromAlert(r.spec, alert));
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
    return { ok: true, visibility: 'public', blocks };
  }
}

/** The resolve notice: which alert, on which service, and how long it fired. */
export function resolvedNotice({ alert, service }: AlertResolved): Reply {
  return {
    ok: true,
    visibility: 'public',
    blocks: [
      header(`Resolved: ${alert.labels.alertname ?? 'alert'}${service ? ` on ${service}` : ''}`),
      context(`firing since ${alert.startsAt}, resolved ${alert.endsAt ?? 'now'}`),
    ],
  };
}

/**
 * An auto-remediation cut short: its replica stopped after claiming it and before the change was
 * filed, so whether a change exists is unknown. Millwright never files it a second time; people check.
 */
export function remediationAbandonedNotice({ alert, runbook, claim, service }: RemediationAbandoned): Reply {
  const name = alert.labels.alertname ?? 'alert';
  return {
    ok: false,
    visibility: 'public',
    blocks: [
      header(`Auto-remediation interrupted: ${runbook} for ${name}${service ? ` on ${service}` : ''}`),
      text(
        `Replica ${claim.by} claimed it at ${claim.at} and stopped before the change was filed. Millwright will not file it again on its own: check \`change list${service ? ` service=${service}` : ''}\` for a change whose reason names fingerprint ${alert.fingerprint}, and run \`${runbook}\` by hand if there is none and the alert still fires.`,
      ),
      context(`firing since ${alert.startsAt} · fingerprint ${alert.fingerprint}`),
    ],
  };
}
