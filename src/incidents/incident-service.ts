// Incidents: declare (a room, and a brief with suspects that src/notices pins there), keep the timeline,
// resolve, and draft a blameless postmortem with numbers from Prometheus and actions from the audit trail.

import type { AuditLog } from '../audit/types.js';
import { type ChangeRequest, type SloStatus, servicesOf } from '../changes/types.js';
import { type ServiceCatalog, servicesTouchedBy } from '../changes/workloads.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { formatDuration } from '../core/duration.js';
import { asMillwrightError, badArgument, ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import {
  type AnswerProblem,
  type Block,
  context,
  fields,
  header,
  list,
  type Reply,
  table,
  text,
} from '../core/reply.js';
import type { Notices } from '../core/surfaces.js';
import { formatAbsolute, formatWhen } from '../core/time.js';
import type { DeployHistory, DeploySourceGap } from '../deploys/types.js';
import type { ParamValue } from '../runbooks/params.js';
import type { RunbookService } from '../runbooks/service.js';
import type { Store } from '../store/store.js';
import { budgetStatusData, incidentData, suspectData } from './incident-data.js';
import type { Incident, IncidentEvent, IncidentNumbers, IncidentStatus, SloImpact } from './types.js';

export interface ServiceContacts {
  owners?: readonly string[];
  channel?: string;
  oncall?: string;
}

export interface IncidentServiceOptions {
  store: Store;
  audit: AuditLog;
  runbooks: RunbookService;
  clock: Clock;
  logger: Logger;
  /** Who to invite and where a service lives, from the service catalog. */
  contacts: (service: string) => ServiceContacts | undefined;
  /** The service catalog: which services a runbook run touched, for the incident's timeline. */
  catalog?: ServiceCatalog;
  /** The running chat surfaces: opens an incident room where one can be created. */
  notices?: Pick<Notices, 'room'>;
  /** Where a declared incident is told (src/notices posts and pins its brief). */
  events?: EventBus;
  numbers?: IncidentNumbers;
  deploys?: DeployHistory;
  /** How far back deploys and changes count as suspects. */
  suspectWindowMs?: number;
}

export interface Suspect {
  at: Date;
  kind: 'deploy' | 'change';
  what: string;
  by: string;
  /** Minutes between the suspect and the start of the trouble (negative: after it began). */
  leadMinutes: number;
  /** `what` without markup, and the deployment's link when it has one. */
  plain: string;
  link?: string;
}

/** The postmortem draft with the numbers and lists it was written from. */
export interface PostmortemDraft {
  markdown: string;
  /** Per SLO, budget consumed and peak burn during the incident; null when Prometheus is not configured or failed. */
  impact: SloImpact[] | null;
  timeline: Array<{ at: string; by: string; what: string }>;
  suspects: Suspect[];
  /** Parts that could not be read (the budget numbers, the deploy history). */
  problems: AnswerProblem[];
}

const COLLECTION = 'incidents';
const slug = (value: string) =>
  value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);

export class IncidentService {
  constructor(private readonly options: IncidentServiceOptions) {}

  async declare(
    origin: Origin,
    input: {
      title: string;
      service: string;
      severity: number;
      commander?: string;
      startedAt?: Date;
      source?: string;
    },
  ): Promise<Incident> {
    const { store, clock } = this.options;
    const now = clock.now();
    const counter = await store.update<{ id: string; value: number }>('counters', 'incidents', (c) => ({
      id: 'incidents',
      value: (c?.value ?? 0) + 1,
    }));
    const id = `INC-${counter!.value}`;
    const contacts = this.options.contacts(input.service) ?? {};
    const commander = input.commander ?? origin.actor.id;
    const room = this.options.notices?.room;
    const invitees = [
      ...new Set([
        origin.actor.id,
        commander,
        ...(contacts.owners ?? []),
        ...(contacts.oncall ? [contacts.oncall] : []),
      ]),
    ];
    let channel = contacts.channel ?? origin.channel;
    if (room) {
      try {
        channel = await room.open(
          `inc-${counter!.value}-${slug(input.title)}`,
          `SEV${input.severity} ${input.service}: ${input.title}`,
          invitees,
        );
      } catch (error) {
        // The incident matters more than its channel: declare it where we are and say so.
        this.options.logger.error({ err: error, incident: id }, 'incident channel could not be created');
        channel = origin.channel;
      }
    }
    const incident: Incident = {
      id,
      title: input.title,
      service: input.service,
      severity: input.severity,
      status: 'investigating',
      commander,
      declaredBy: origin.actor.id,
      declaredAt: now.toISOString(),
      startedAt: (input.startedAt ?? now).toISOString(),
      channel,
      events: [
        {
          at: now.toISOString(),
          kind: 'declared',
          by: origin.actor.id,
          text: `declared SEV${input.severity}${input.source ? ` from ${input.source}` : ''}, commander ${commander}`,
        },
      ],
    };
    await store.put(COLLECTION, incident);
    await this.#audit(origin, 'incident.declare', incident, {
      title: input.title,
      severity: input.severity,
      channel,
    });
    await this.options.events?.emit('incident.declared', { incident, origin });
    return incident;
  }

  async find(channel: string, id?: string): Promise<Incident> {
    const { store } = this.options;
    if (id) {
      const found = await store.get<Incident>(COLLECTION, id.toUpperCase());
      if (!found)
        throw new MillwrightError(ErrorCode.NotFound, `there is no incident ${id}`, {
          hint: 'incident list shows them',
        });
      return found;
    }
    const here = (
      await store.list<Incident>(COLLECTION, (i) => i.channel === channel && i.status !== 'resolved')
    ).sort((a, b) => b.declaredAt.localeCompare(a.declaredAt));
    if (!here[0]) {
      throw new MillwrightError(ErrorCode.NotFound, 'there is no open incident in this channel', {
        hint: 'run it in the incident channel, or add id=INC-N',
      });
    }
    return here[0];
  }

  list(which: 'open' | 'all'): Promise<Incident[]> {
    return this.options.store
      .list<Incident>(COLLECTION, (i) => which === 'all' || i.status !== 'resolved')
      .then((found) => found.sort((a, b) => b.declaredAt.localeCompare(a.declaredAt)));
  }

  async note(origin: Origin, incident: Incident, textValue: string): Promise<Incident> {
    return this.#record(origin, incident, {}, { kind: 'note', text: textValue }, 'incident.note');
  }

  async setStatus(origin: Origin, incident: Incident, status: IncidentStatus): Promise<Incident> {
    if (status === 'resolved') return this.resolve(origin, incident);
    return this.#record(
      origin,
      incident,
      { status },
      { kind: 'status', text: `status: ${status}` },
      'incident.status',
    );
  }

  async setCommander(origin: Origin, incident: Incident, commander: string): Promise<Incident> {
    return this.#record(
      origin,
      incident,
      { commander },
      { kind: 'role', text: `commander: ${commander}` },
      'incident.role',
    );
  }

  async resolve(origin: Origin, incident: Incident, summary?: string): Promise<Incident> {
    if (incident.status === 'resolved') throw badArgument(`${incident.id} is already resolved`);
    const resolved = {
      status: 'resolved' as const,
      resolvedAt: this.options.clock.now().toISOString(),
      ...(summary ? { summary } : {}),
    };
    return this.#record(
      origin,
      incident,
      resolved,
      { kind: 'resolved', text: summary ? `resolved: ${summary}` : 'resolved' },
      'incident.resolve',
    );
  }

  /** Deploys and changes before the trouble began, nearest first; the likeliest causes lead. */
  async suspects(incident: Incident): Promise<Suspect[]> {
    return (await this.#readSuspects(incident)).suspects;
  }

  /** The suspects, and what kept some of them out (a deploy history that could not be read). */
  async #readSuspects(incident: Incident): Promise<{ suspects: Suspect[]; problems: AnswerProblem[] }> {
    const problems: AnswerProblem[] = [];
    const started = new Date(incident.startedAt);
    const since = new Date(started.getTime() - (this.options.suspectWindowMs ?? 6 * 3_600_000));
    const until = new Date(incident.resolvedAt ?? this.options.clock.now());
    const suspects: Suspect[] = [];
    const changes = await this.options.store.list<ChangeRequest>(
      'changes',
      (c) =>
        servicesOf(c).includes(incident.service) &&
        c.execution !== undefined &&
        new Date(c.execution.startedAt) >= since &&
        new Date(c.execution.startedAt) <= until,
    );
    for (const change of changes) {
      suspects.push({
        at: new Date(change.execution!.startedAt),
        kind: 'change',
        what: `${change.id} ${change.summary} (${change.state})`,
        plain: `${change.id} ${change.summary} (${change.state})`,
        by: change.requestedBy,
        leadMinutes: 0,
      });
    }
    if (this.options.deploys) {
      try {
        const gaps = {
          onGap: ({ source, error }: DeploySourceGap) => {
            const failure = asMillwrightError(error);
            problems.push({
              part: `suspects: ${source === 'github' ? 'GitHub' : 'Kubernetes'} deploy history`,
              code: failure.code,
              message: failure.message,
            });
          },
        };
        for (const deploy of await this.options.deploys.recentDeploys(incident.service, since, gaps)) {
          suspects.push({
            at: new Date(deploy.at),
            kind: 'deploy',
            what: deploy.link ? `<${deploy.link}|${deploy.what}>` : deploy.what,
            plain: deploy.what,
            ...(deploy.link ? { link: deploy.link } : {}),
            by: deploy.by,
            leadMinutes: 0,
          });
        }
      } catch (error) {
        const failure = asMillwrightError(error);
        this.options.logger.warn(
          { err: error, incident: incident.id },
          'deploy history unavailable for suspects',
        );
        problems.push({ part: 'suspects: deploy history', code: failure.code, message: failure.message });
      }
    }
    for (const suspect of suspects)
      suspect.leadMinutes = Math.round((started.getTime() - suspect.at.getTime()) / 60_000);
    // Before the start, nearest first; anything after the start trails, earliest first.
    suspects.sort((a, b) => {
      if (a.leadMinutes >= 0 !== b.leadMinutes >= 0) return a.leadMinutes >= 0 ? -1 : 1;
      return a.leadMinutes >= 0 ? a.leadMinutes - b.leadMinutes : b.leadMinutes - a.leadMinutes;
    });
    return { suspects, problems };
  }

  /** The brief pinned in the incident channel. */
  async brief(incident: Incident): Promise<Reply> {
    const now = this.options.clock.now();
    const blocks: Block[] = [
      header(`${incident.id} SEV${incident.severity} ${incident.service}: ${incident.title}`),
      fields({
        status: incident.status,
        commander: incident.commander,
        declared: `${incident.declaredBy}, ${formatWhen(new Date(incident.declaredAt), now)}`,
        'trouble began': formatWhen(new Date(incident.startedAt), now),
      }),
    ];
    blocks.push(text('*Error budget*'));
    const budget = await this.#status(incident.service, now);
    const statuses = budget.statuses;
    if (budget.note) blocks.push(context(budget.note));
    else if (statuses.length === 0) blocks.push(context(`${incident.service} has no SLOs in the catalog.`));
    else {
      blocks.push(
        table(
          ['SLO', 'budget left', 'burn state', '1h burn', '5m burn'],
          statuses.map((s) => [
            s.slo,
            s.remainingPercent === undefined ? 'unknown' : `${s.remainingPercent.toFixed(1)}%`,
            s.burnState,
            s.burnRate1h === undefined ? '-' : `${s.burnRate1h.toFixed(1)}x`,
            s.burnRate5m === undefined ? '-' : `${s.burnRate5m.toFixed(1)}x`,
          ]),
        ),
      );
    }
    const { suspects, problems } = await this.#readSuspects(incident);
    blocks.push(text('*Suspects* (deploys and changes before the trouble began, nearest first)'));
    blocks.push(
      suspects.length
        ? table(
            ['when', 'what', 'by', 'before start'],
            suspects
              .slice(0, 8)
              .map((s) => [
                formatWhen(s.at, now),
                `${s.kind}: ${s.what}`,
                s.by,
                s.leadMinutes >= 0 ? `${s.leadMinutes} min` : `${-s.leadMinutes} min after`,
              ]),
          )
        : context('No deploys or changes in the window.'),
    );
    if (problems.length > 0) blocks.push(context(problems.map((p) => `${p.part}: ${p.message}`).join('\n')));
    const runbooks = this.options.runbooks.list({ service: incident.service });
    blocks.push(text('*Runbooks for this service*'));
    blocks.push(
      runbooks.length
        ? list(
            runbooks.map(
              (r) =>
                `${r.spec.metadata.name}: ${r.spec.metadata.description} (runbook show ${r.spec.metadata.name})`,
            ),
          )
        : context('No runbooks list this service.'),
    );
    blocks.push(
      context(
        'In this channel: incident note TEXT, incident status identified, incident role commander=@someone, incident resolve summary="...", incident postmortem',
      ),
    );
    // The brief is also pinned as is; `incident brief` turns the problems into a partial answer.
    return {
      ok: true,
      visibility: 'public',
      blocks,
      data: {
        incident: incidentData(incident, now),
        budget: budget.note === undefined ? statuses.map(budgetStatusData) : null,
        suspects: suspects.map(suspectData),
        runbooks: runbooks.map((r) => r.spec.metadata.name),
        problems: [...budget.problems, ...problems],
      },
    };
  }

  /**
   * Notes, status changes and what Millwright did to the incident's service while it was open, in
   * time order: bounded by declared..resolved, and by service, not by channel (every incident
   * declared from the shell shares one).
   */
  async timeline(incident: Incident): Promise<Array<{ at: string; by: string; what: string }>> {
    const from = new Date(incident.declaredAt);
    const until = incident.resolvedAt ?? this.options.clock.now().toISOString();
    const within = (at: string) => at >= incident.declaredAt && at <= until;
    const records = (await this.options.audit.recent({ since: from, limit: 5000 })).filter(
      (r) => within(r.ts) && r.outcome !== 'started' && !r.action.startsWith('incident.'),
    );
    const changes = new Set(
      (
        await this.options.store.list<ChangeRequest>('changes', (c) =>
          servicesOf(c).includes(incident.service),
        )
      ).map((c) => c.id),
    );
    // A runbook run is the service's when its targets are; its executor calls share its ref.
    const runs = records.filter(
      (r) => r.action.startsWith('runbook.') && this.#runTouches(r.args, incident.service),
    );
    const refs = new Set(runs.map((r) => r.ref));
    const actions = records
      .filter(
        (r) =>
          runs.includes(r) ||
          (r.action.startsWith('executor.') && refs.has(r.ref)) ||
          (r.action.startsWith('change.') &&
            (changes.has(String(r.args.change)) || r.args.service === incident.service)),
      )
      .map((r) => ({
        at: r.ts,
        by: r.actor,
        what: `${r.action.replace(/\./g, ' ')} ${describeArgs(r.args)}: ${r.outcome}`.replace(/\s+/g, ' '),
      }));
    const events = incident.events
      .filter((e: IncidentEvent) => e.at <= until)
      .map((e: IncidentEvent) => ({ at: e.at, by: e.by, what: e.text }));
    return [...events, ...actions].sort((a, b) => a.at.localeCompare(b.at));
  }

  /** Whether a recorded runbook run touched `service`; a runbook that no longer loads cannot say, so no. */
  #runTouches(args: Record<string, unknown>, service: string): boolean {
    try {
      const runbook = this.options.runbooks.get(String(args.runbook));
      const params = (args.params ?? {}) as Record<string, ParamValue>;
      return servicesTouchedBy(runbook.spec, params, this.options.catalog ?? {}).includes(service);
    } catch (error) {
      this.options.logger.debug(
        { err: error, runbook: args.runbook },
        'runbook of a recorded run not loaded',
      );
      return false;
    }
  }

  /** The blameless draft in Markdown, saved with the incident, with what it was written from. */
  async postmortem(origin: Origin, incident: Incident): Promise<PostmortemDraft> {
    const problems: AnswerProblem[] = [];
    let impactNumbers: SloImpact[] | null = null;
    const now = this.options.clock.now();
    const from = new Date(incident.startedAt);
    const to = new Date(incident.resolvedAt ?? now);
    const lines: string[] = [
      `# Postmortem draft: ${incident.id} ${incident.title} (SEV${incident.severity})`,
      '',
      `_Blameless draft generated by Millwright at ${formatAbsolute(now)}. It describes systems and decisions, not people; edit freely._`,
      '',
      '## Summary',
      '',
      incident.summary ??
        '_What happened, in two or three sentences: the user-visible symptom, the cause as far as it is known, and how it was fixed._',
      '',
      '## Impact',
      '',
      `- Service: ${incident.service}`,
      `- Duration: ${formatDuration(to.getTime() - from.getTime())} (${formatAbsolute(from)} to ${incident.resolvedAt ? formatAbsolute(to) : 'still open'})`,
    ];
    if (this.options.numbers) {
      try {
        const impact = await this.options.numbers.impact(incident.service, from, to);
        impactNumbers = impact;
        for (const slo of impact) {
          const consumed =
            slo.budgetConsumedPercent === undefined ? 'unknown' : `${slo.budgetConsumedPercent.toFixed(1)}%`;
          const peak = slo.peakBurnRate === undefined ? 'unknown' : `${slo.peakBurnRate.toFixed(1)}x`;
          lines.push(
            `- ${slo.slo} (objective ${slo.objective}%): ${consumed} of the error budget consumed during the incident; peak burn rate ${peak}${slo.detail ? ` (${slo.detail})` : ''}`,
          );
        }
        if (impact.length === 0) lines.push(`- ${incident.service} has no SLOs, so no budget numbers`);
      } catch (error) {
        const failure = asMillwrightError(error);
        lines.push(`- Error budget numbers unavailable: ${failure.message}`);
        problems.push({ part: 'impact: error budget', code: failure.code, message: failure.message });
      }
    } else {
      lines.push('- Error budget numbers unavailable: Prometheus is not configured');
    }
    lines.push('', '## Timeline (UTC)', '', '| time | what | who |', '| --- | --- | --- |');
    const timeline = await this.timeline(incident);
    for (const entry of timeline) {
      lines.push(
        `| ${entry.at.slice(0, 16).replace('T', ' ')} | ${entry.what.replace(/\|/g, '\\|')} | ${entry.by} |`,
      );
    }
    const read = await this.#readSuspects(incident);
    const suspects = read.suspects;
    problems.push(...read.problems);
    lines.push('', '## Changes and deploys before the incident', '');
    lines.push(
      ...(suspects.length
        ? suspects.map(
            (s) =>
              `- ${s.at.toISOString().slice(0, 16).replace('T', ' ')} ${s.kind}: ${s.what} (${s.leadMinutes >= 0 ? `${s.leadMinutes} min before` : `${-s.leadMinutes} min after`} the start)`,
          )
        : ['- none recorded']),
    );
    lines.push(
      '',
      '## Contributing factors',
      '',
      '- Which conditions let this failure happen, and which made it worse or longer?',
      '- What did the people responding know at each point, and what would have helped them know sooner?',
      '- Which safeguards (alerts, gates, tests, runbooks) worked, and which did not fire?',
      '- What was surprising about how the system behaved?',
      '',
      '## What went well',
      '',
      '- ',
      '',
      '## Action items',
      '',
      '| action | type (prevent, detect, mitigate) | owner | due |',
      '| --- | --- | --- | --- |',
      '|  |  |  |  |',
    );
    const markdown = lines.join('\n');
    await this.#record(
      origin,
      incident,
      { postmortem: markdown },
      { kind: 'postmortem', text: 'postmortem draft generated' },
      'incident.postmortem',
    );
    return { markdown, impact: impactNumbers, timeline, suspects, problems };
  }

  /** The service's budgets, a note instead when there are none to show, and what could not be read. */
  async #status(
    service: string,
    at: Date,
  ): Promise<{ statuses: SloStatus[]; note?: string; problems: AnswerProblem[] }> {
    if (!this.options.numbers) {
      return { statuses: [], note: 'Prometheus is not configured, so no budget numbers.', problems: [] };
    }
    try {
      const statuses = await this.options.numbers.status(service, at);
      const problems = statuses.flatMap((status) =>
        status.unreadable ? [{ part: `error budget ${status.slo}`, ...status.unreadable }] : [],
      );
      return { statuses, problems };
    } catch (error) {
      const failure = asMillwrightError(error);
      return {
        statuses: [],
        note: `Budget numbers unavailable: ${failure.message}`,
        problems: [{ part: 'error budget', code: failure.code, message: failure.message }],
      };
    }
  }

  /** One atomic change to the stored incident, so notes and status changes typed at once all land. */
  async #record(
    origin: Origin,
    incident: Incident,
    fields: Partial<Incident>,
    event: Omit<IncidentEvent, 'at' | 'by'>,
    action: string,
  ): Promise<Incident> {
    const entry: IncidentEvent = {
      at: this.options.clock.now().toISOString(),
      by: origin.actor.id,
      ...event,
    };
    const updated = (await this.options.store.update<Incident>(COLLECTION, incident.id, (current) => {
      const base = current ?? incident;
      return { ...base, ...fields, events: [...base.events, entry] };
    }))!;
    Object.assign(incident, updated);
    await this.#audit(origin, action, updated, { text: event.text });
    return updated;
  }

  async #audit(
    origin: Origin,
    action: string,
    incident: Incident,
    args: Record<string, unknown>,
  ): Promise<void> {
    await this.options.audit.append({
      actor: origin.actor.id,
      ...viaOf(origin.actor),
      surface: origin.surface,
      channel: origin.channel,
      action,
      args: { incident: incident.id, service: incident.service, ...args },
      outcome: 'ok',
      ref: origin.ref,
    });
  }
}

function describeArgs(args: Record<string, unknown>): string {
  const picked = ['runbook', 'change', 'to', 'summary']
    .filter((k) => args[k] !== undefined)
    .map((k) => String(args[k]));
  return picked.join(' ');
}
