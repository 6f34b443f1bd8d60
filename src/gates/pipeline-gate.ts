// The policy gate for pipelines: who is asking (a bearer token, compared in constant time), whether
// it may gate that service, and the change it files through the change service, audited per answer.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ChangeService } from '../changes/change-service.js';
import type { PolicyConfig } from '../changes/policy-schema.js';
import type { ServiceCatalog } from '../changes/workloads.js';
import type { AuditLog } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { GateRequest, GatesConfig, PipelineConfig } from './config.js';
import { answerFor, type GateAnswer } from './decision.js';
import type { GateAwaitingApproval } from './events.js';

/** The actor a pipeline's changes are requested by in the audit trail and on the change. */
export const pipelineActor = (name: string) => `pipeline:${name}`;
const SURFACE = 'pipeline';

/** A pipeline that presented its token. */
export interface Pipeline {
  name: string;
  config: PipelineConfig;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * `config check` and start-up: every service a pipeline names is in the catalog, and no two
 * pipelines share a token (the token is who they are).
 */
export function checkGates(config: GatesConfig, catalog: ServiceCatalog): void {
  const seen = new Map<string, string>();
  for (const [name, pipeline] of Object.entries(config.pipelines)) {
    if (pipeline.services !== '*') {
      for (const service of pipeline.services) {
        if (!Object.hasOwn(catalog, service))
          throw new MillwrightError(
            ErrorCode.ConfigInvalid,
            `gates.pipelines.${name}.services: ${service} is not in the service catalog`,
            {
              hint: `known services: ${Object.keys(catalog).join(', ') || 'none; add them under services:'}`,
            },
          );
      }
    }
    const other = seen.get(pipeline.token);
    if (other)
      throw new MillwrightError(
        ErrorCode.ConfigInvalid,
        `gates.pipelines.${other} and gates.pipelines.${name} have the same token`,
        { hint: 'give each pipeline its own token, so the trail can tell them apart' },
      );
    seen.set(pipeline.token, name);
  }
}

export interface PipelineGateOptions {
  config: GatesConfig;
  catalog: ServiceCatalog;
  changes: ChangeService;
  whenUnknown: PolicyConfig['whenUnknown'];
  audit: AuditLog;
  clock: Clock;
  /** Where a change held for a person is told (src/notices asks the service's channel). */
  events?: EventBus;
}

/**
 * Answers pipelines: files their change through the same policy gate the chat flow uses and tells
 * them pass, fail, unknown or pending, with every rule and its numbers.
 *
 * @example
 * const pipeline = gate.authenticate(req.headers.authorization);
 * if (pipeline) sendJson(res, 200, await gate.evaluate(pipeline, { service: 'checkout', kind: 'deployment' }, ref));
 */
export class PipelineGate {
  readonly #tokens: Array<{ digest: Buffer; pipeline: Pipeline }>;

  constructor(private readonly options: PipelineGateOptions) {
    this.#tokens = Object.entries(options.config.pipelines).map(([name, config]) => ({
      digest: digest(config.token),
      pipeline: { name, config },
    }));
  }

  /**
   * The pipeline whose token an `Authorization: Bearer ...` header carries. Every configured token
   * is compared, each in constant time over equal-length digests, so the time says nothing about
   * which one came close.
   */
  authenticate(header: string | undefined): Pipeline | undefined {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let found: Pipeline | undefined;
    for (const { digest: expected, pipeline } of this.#tokens) {
      if (timingSafeEqual(presented, expected)) found = pipeline;
    }
    return found;
  }

  /** Files the change and answers with the gate's decision; refusals throw, audited. */
  async evaluate(pipeline: Pipeline, request: GateRequest, ref: string): Promise<GateAnswer> {
    const origin = this.#origin(pipeline, request.service, ref);
    const args = {
      pipeline: pipeline.name,
      service: request.service,
      kind: request.kind,
      ...(request.version ? { version: request.version } : {}),
      ...(request.environment ? { environment: request.environment } : {}),
      ...(request.emergency ? { emergency: true } : {}),
    };
    try {
      this.#mayGate(pipeline, request.service);
      const delivery = {
        service: request.service,
        kind: request.kind,
        pipeline: pipeline.name,
        version: request.version,
        environment: request.environment,
        risk: higherRisk(pipeline.config.risk, request.risk),
        reason: request.reason,
        emergency: request.emergency,
        polls: true,
      };
      const { changes } = this.options;
      // A re-run of the same step while its change still waits is that change, not a new one.
      const earlier = await changes.pendingDelivery(delivery);
      const change = earlier
        ? await changes.pickUp(earlier.id, ref)
        : await changes.requestDelivery(origin, delivery);
      const answer = answerFor(change);
      await this.#audit(
        origin,
        'gate.evaluate',
        { ...args, change: change.id, state: change.state, ...(earlier ? { again: true } : {}) },
        answer.decision,
      );
      if (!earlier && answer.awaiting === 'approval') {
        const waiting: GateAwaitingApproval = { change, answer };
        await this.options.events?.emit('gate.awaiting-approval', waiting);
      }
      return answer;
    } catch (error) {
      await this.#auditRefusal(origin, 'gate.evaluate', args, error);
      throw error;
    }
  }

  /** The current decision on a change this pipeline filed (a poll while it is pending). */
  async status(pipeline: Pipeline, id: string, ref: string): Promise<GateAnswer> {
    const change = await this.options.changes.get(id).catch((error: unknown) => {
      // A missing change is answered 404 below; a store that fails is a 500, not a 404.
      if (error instanceof MillwrightError && error.code === ErrorCode.NotFound) return undefined;
      throw error;
    });
    // Another pipeline's change, or a chat change, is as unknown to this one as a missing id.
    if (!change || change.delivery?.pipeline !== pipeline.name) {
      const error = new MillwrightError(
        ErrorCode.NotFound,
        `pipeline ${pipeline.name} filed no change ${id}`,
        {
          hint: 'use the changeId from the answer of POST /api/v1/gates/evaluate',
        },
      );
      await this.#auditRefusal(this.#origin(pipeline, undefined, ref), 'gate.status', { change: id }, error);
      throw error;
    }
    // This question is how the pipeline learns a person's approval: an approved change is delivered now.
    return answerFor(await this.options.changes.pickUp(change.id, ref));
  }

  #mayGate(pipeline: Pipeline, service: string): void {
    const { services } = pipeline.config;
    if (services !== '*' && !services.includes(service))
      throw new MillwrightError(
        ErrorCode.PermissionDenied,
        `pipeline ${pipeline.name} may not gate ${service}`,
        { hint: `add ${service} to gates.pipelines.${pipeline.name}.services` },
      );
    if (!Object.hasOwn(this.options.catalog, service))
      throw new MillwrightError(ErrorCode.NotFound, `service ${service} is not in the service catalog`, {
        hint: 'use the service name from services: in millwright.yml',
      });
  }

  #origin(pipeline: Pipeline, service: string | undefined, ref: string): Origin {
    const channel = (service && this.options.catalog[service]?.channel) || SURFACE;
    return { actor: { id: pipelineActor(pipeline.name), roles: [] }, channel, surface: SURFACE, ref };
  }

  async #audit(
    origin: Origin,
    action: string,
    args: Record<string, unknown>,
    outcome: string,
    code?: string,
  ) {
    await this.options.audit.append({
      actor: origin.actor.id,
      surface: origin.surface,
      channel: origin.channel,
      action,
      args,
      outcome,
      ref: origin.ref,
      ...(code ? { code } : {}),
    });
  }

  async #auditRefusal(origin: Origin, action: string, args: Record<string, unknown>, error: unknown) {
    const code = error instanceof MillwrightError ? error.code : ErrorCode.Internal;
    const outcome = code === ErrorCode.PermissionDenied || code === ErrorCode.NotFound ? 'denied' : 'error';
    await this.#audit(origin, action, args, outcome, code);
  }
}

const RISK = ['low', 'medium', 'high'] as const;

/** The pipeline's own risk, raised (never lowered) by what the request says. */
function higherRisk(floor: (typeof RISK)[number], asked: (typeof RISK)[number] | undefined) {
  return asked && RISK.indexOf(asked) > RISK.indexOf(floor) ? asked : floor;
}
