// What the store keeps per digest (the newest slot handled, the last post, a run waiting for its
// next attempt, recent history) and the one decision made from it: what to do now.
import { formatDuration, parseDuration } from '../core/duration.js';
import type { StoredRecord } from '../store/store.js';
import type { CronSchedule, Slot } from './cron-schedule.js';
import type { DigestConfig } from './schema.js';

export const DIGEST_RUNS = 'digest-runs';
/** A slot this close ahead counts as due, so a tick a few milliseconds early still posts on time. */
export const EARLY_MS = 500;
/** A slot found later than this after its time was missed (Millwright was down or stuck). */
export const ON_TIME_MS = 5 * 60_000;
const HISTORY = 20;

export type RunKind = 'scheduled' | 'catch-up' | 'retry' | 'manual';
export type RunResult = 'posted' | 'failed' | 'skipped' | 'retrying';

export interface RunHistoryEntry {
  at: string;
  kind: RunKind;
  /** The wall-clock slot the run was for (`2026-03-30T09:00`); absent for a manual run. */
  slot?: string;
  result: RunResult;
  attempt: number;
  detail?: string;
  /** The replica (scheduler) or person that ran it. */
  by: string;
}

export interface PendingRun {
  slot: { key: string; at: string };
  kind: RunKind;
  /** Attempts made so far, the one in flight included. */
  attempts: number;
  /** `posting` while an attempt is in flight; `waiting` until `nextAttemptAt`. */
  state: 'posting' | 'waiting';
  owner: string;
  startedAt: string;
  nextAttemptAt?: string;
  lastError?: string;
}

export interface DigestRunRecord extends StoredRecord {
  /** The digest's name. */
  id: string;
  /** When a scheduler first saw this digest; slots before it never count as missed. */
  trackingSince: string;
  /** The newest slot that was posted, skipped or taken on; nothing at or before it starts again. */
  handledSlot?: { key: string; at: string };
  /** The last scheduled digest that reached its target; the next one reports from its `periodEnd`. */
  lastPosted?: { at: string; slot?: string; periodEnd: string; budgets: Record<string, number> };
  pending?: PendingRun;
  /** Newest first. */
  history: RunHistoryEntry[];
}

export type Decision =
  | { kind: 'wait'; nextCheckAt?: Date }
  | { kind: 'run'; slot: Slot; runKind: RunKind; attempt: number; supersedes?: PendingRun }
  | { kind: 'skip'; slot: Slot; reason: string; supersedes?: PendingRun }
  | { kind: 'give-up'; pending: PendingRun; reason: string };

/** Adds a history entry, newest first, keeping the last twenty. */
export function withHistory(record: DigestRunRecord, entry: RunHistoryEntry): DigestRunRecord {
  return { ...record, history: [entry, ...record.history].slice(0, HISTORY) };
}

/** The wait before attempt `attempt + 1`: backoff, doubled per attempt, capped at maxBackoff. */
export function backoffAfter(digest: Pick<DigestConfig, 'retry'>, attempt: number): number {
  const base = parseDuration(digest.retry.backoff);
  return Math.min(parseDuration(digest.retry.maxBackoff), base * 2 ** Math.max(0, attempt - 1));
}

/**
 * What a scheduler holding the digest's lock should do at `now`:
 * - the newest due slot not yet handled runs (on time, or once as a catch-up per `missed`);
 *   a run still waiting to retry an older slot gives way to it;
 * - otherwise a run waiting for its next attempt retries when that time comes, and one still marked
 *   `posting` was cut short (the caller holds the lock and has nothing in flight, so whoever was
 *   posting stopped): it retries now, or is given up when that was its last attempt.
 *
 * @example
 * decide(digest, schedule, record, now) // { kind: 'run', slot, runKind: 'scheduled', attempt: 1 }
 */
export function decide(
  digest: DigestConfig,
  schedule: CronSchedule,
  record: DigestRunRecord,
  now: Date,
): Decision {
  const handled = Math.max(Date.parse(record.trackingSince), Date.parse(record.handledSlot?.at ?? '') || 0);
  const latest = schedule.latest(new Date(now.getTime() + EARLY_MS), new Date(handled));
  const pending = record.pending;
  if (latest) {
    const late = now.getTime() - latest.at.getTime();
    const within = parseDuration(digest.catchUpWithin);
    const supersedes = pending ? { supersedes: pending } : {};
    if (late <= ON_TIME_MS)
      return { kind: 'run', slot: latest, runKind: 'scheduled', attempt: 1, ...supersedes };
    if (digest.missed === 'catch-up' && late <= within) {
      return { kind: 'run', slot: latest, runKind: 'catch-up', attempt: 1, ...supersedes };
    }
    const reason =
      digest.missed === 'skip'
        ? `missed by ${formatDuration(late)} while no scheduler ran (missed: skip)`
        : `missed by ${formatDuration(late)}, more than catchUpWithin ${digest.catchUpWithin}`;
    return { kind: 'skip', slot: latest, reason, ...supersedes };
  }
  const slotOf = (run: PendingRun): Slot => ({ key: run.slot.key, at: new Date(run.slot.at) });
  if (pending?.state === 'waiting' && Date.parse(pending.nextAttemptAt ?? '') <= now.getTime()) {
    return { kind: 'run', slot: slotOf(pending), runKind: 'retry', attempt: pending.attempts + 1 };
  }
  if (pending?.state === 'posting') {
    if (pending.attempts >= digest.retry.attempts) {
      return {
        kind: 'give-up',
        pending,
        reason: `attempt ${pending.attempts} was cut short (replica ${pending.owner} stopped while posting)`,
      };
    }
    return { kind: 'run', slot: slotOf(pending), runKind: 'retry', attempt: pending.attempts + 1 };
  }
  const next = schedule.next(now)?.at.getTime() ?? Number.POSITIVE_INFINITY;
  const retry =
    pending?.state === 'waiting' ? Date.parse(pending.nextAttemptAt ?? '') : Number.POSITIVE_INFINITY;
  const soonest = Math.min(next, retry);
  return Number.isFinite(soonest) ? { kind: 'wait', nextCheckAt: new Date(soonest) } : { kind: 'wait' };
}
