// The record of every change: reading and saving it, its timeline, its one-at-a-time lock per change,
// the gate's evaluations, and each state change, allowed by the transition table, audited, then told.

import type { AuditLog } from '../audit/types.js';
import { viaOf } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Origin } from '../core/context.js';
import { parseDuration } from '../core/duration.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { abortableSleep } from '../core/retry.js';
import { type HeldLease, withLease } from '../store/coordination.js';
import type { Store } from '../store/store.js';
import { evaluateGate, explainRule, type GateInputs } from './policy-gate.js';
import type { PolicyConfig } from './policy-schema.js';
import { assertMove, type Mover } from './transitions.js';
import { type ChangeRequest, type ChangeState, type GateEvaluation, servicesOf } from './types.js';

const COLLECTION = 'changes';
/** How often a caller that must wait for a change another replica is working on asks again. */
const BUSY_POLL_MS = 100;
/** The actor Millwright records for what it does by itself. */
export const SYSTEM = 'millwright';

export interface ChangeLedgerOptions {
  store: Store;
  audit: AuditLog;
  policy: PolicyConfig;
  gate: Omit<GateInputs, 'store'>;
  clock: Clock;
  events?: EventBus | undefined;
}

/** One state change as the service or the worker asks for it; `by` defaults to Millwright itself. */
export interface Move {
  mover: Mover;
  by?: string;
  detail: string;
  ref?: string | undefined;
  /** Free the service's change lock before anyone hears of it (the change is done with it). */
  release?: boolean;
}

export class ChangeLedger {
  readonly #busy = new Map<string, Promise<void>>();

  constructor(private readonly options: ChangeLedgerOptions) {}

  async get(id: string): Promise<ChangeRequest> {
    const change = await this.options.store.get<ChangeRequest>(COLLECTION, id.toUpperCase());
    if (!change)
      throw new MillwrightError(ErrorCode.NotFound, `there is no change ${id}`, {
        hint: 'change list shows recent changes',
      });
    return change;
  }

  async list(
    filter: { service?: string; state?: string; requestedBy?: string } = {},
  ): Promise<ChangeRequest[]> {
    const found = await this.options.store.list<ChangeRequest>(
      COLLECTION,
      (c) =>
        (!filter.service || servicesOf(c).includes(filter.service)) &&
        (!filter.state || c.state === filter.state) &&
        (!filter.requestedBy || c.requestedBy === filter.requestedBy),
    );
    return found.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  }

  /**
   * Runs `work` alone for one change, across every replica on the store, so an approval and the
   * worker never overwrite each other: in this process one after the other, across processes under
   * the change's lease (`change-record:ID`), renewed while `work` runs. A caller waits for another
   * replica's hold at most twice `policy.handOverAfter`, then is told the change is busy.
   */
  async exclusive<T>(id: string, work: (lease: HeldLease) => Promise<T>): Promise<T> {
    const deadline = Date.now() + 2 * this.#handOverMs;
    for (;;) {
      const run = await this.tryExclusive(id, work);
      if (run.held) return run.value;
      if (Date.now() >= deadline) {
        throw new MillwrightError(
          ErrorCode.PreconditionFailed,
          `${id.toUpperCase()} is being worked on by another replica right now`,
          { hint: `try again in a moment; change show ${id.toUpperCase()} shows where it is` },
        );
      }
      await abortableSleep(BUSY_POLL_MS);
    }
  }

  /** `exclusive` without waiting for another replica: `{ held: false }` when one is working on it. */
  async tryExclusive<T>(
    id: string,
    work: (lease: HeldLease) => Promise<T>,
  ): Promise<{ held: true; value: T } | { held: false }> {
    const key = id.toUpperCase();
    const leased = () =>
      withLease(this.options.store, `change-record:${key}`, { ttlMs: this.#handOverMs }, work);
    const before = this.#busy.get(key) ?? Promise.resolve();
    const run = before.then(leased, leased);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#busy.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#busy.get(key) === settled) this.#busy.delete(key);
    }
  }

  get #handOverMs(): number {
    return parseDuration(this.options.policy.handOverAfter);
  }

  async evaluate(change: ChangeRequest, purpose: GateEvaluation['purpose']): Promise<GateEvaluation> {
    const evaluation = await evaluateGate(
      change,
      this.options.policy.rules,
      { ...this.options.gate, store: this.options.store },
      this.options.clock.now(),
      purpose,
    );
    change.evaluations.push(evaluation);
    this.note(
      change,
      `evaluated (${purpose})`,
      SYSTEM,
      `${evaluation.decision}: ${evaluation.rules.map(explainRule).join('; ')}`,
    );
    return evaluation;
  }

  /** Adds a timeline row; the same row as the last one is not added again (a worker tick repeats itself). */
  note(change: ChangeRequest, event: string, by: string, detail?: string): boolean {
    const last = change.timeline.at(-1);
    if (last && last.event === event && last.by === by && last.detail === detail) return false;
    change.timeline.push({
      at: this.options.clock.now().toISOString(),
      event,
      by,
      ...(detail ? { detail } : {}),
    });
    return true;
  }

  /**
   * One audited transition, allowed by the table: the record, then the state, both on disk (and the
   * lock freed when asked) before anyone hears of it.
   */
  async transition(change: ChangeRequest, state: ChangeState, move: Move): Promise<void> {
    assertMove(change, state, move.mover);
    const { detail, ref } = move;
    const by = move.by ?? SYSTEM;
    const from = change.state;
    change.state = state;
    this.note(change, state, by, detail);
    await this.options.audit.append({
      actor: by,
      surface: 'scheduler',
      channel: change.channel,
      action: 'change.transition',
      args: {
        change: change.id,
        service: change.service,
        services: servicesOf(change),
        from,
        to: state,
        detail,
      },
      outcome: state,
      ...(ref ? { ref } : {}),
    });
    await this.save(change);
    if (move.release) await this.release(change);
    await this.options.events?.emit('change.transitioned', {
      change,
      from,
      to: state,
      mover: move.mover,
      by,
      detail,
      ...(ref ? { ref } : {}),
    });
  }

  async save(
    change: ChangeRequest,
    origin?: Origin,
    action?: string,
    args?: Record<string, unknown>,
  ): Promise<void> {
    if (origin && action) {
      await this.options.audit.append({
        actor: origin.actor.id,
        ...viaOf(origin.actor),
        surface: origin.surface,
        channel: origin.channel,
        action,
        args: { change: change.id, ...args },
        outcome: 'ok',
        ref: origin.ref,
      });
    }
    await this.options.store.put(COLLECTION, change);
  }

  /** Frees the change lock of every service the change touches (those it does not hold stay as they are). */
  async release(change: ChangeRequest): Promise<void> {
    for (const service of servicesOf(change)) await this.options.store.unlock(`change:${service}`, change.id);
  }

  async nextId(): Promise<string> {
    const counter = await this.options.store.update<{ id: string; value: number }>(
      'counters',
      'changes',
      (current) => ({ id: 'changes', value: (current?.value ?? 0) + 1 }),
    );
    return `CR-${counter!.value}`;
  }
}
