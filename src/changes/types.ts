// Change requests and the gate's verdicts, as stored: every transition and every rule's evidence
// stays with the change, so `change show` can tell the whole story after any restart.
import type { SloBudgetStatus } from '../slo/slo-service.js';
import type { StoredRecord } from '../store/store.js';

export type ChangeState =
  | 'pending-approval'
  | 'approved'
  | 'executing'
  | 'in-progress'
  | 'verifying'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'denied'
  | 'cancelled'
  | 'expired';

export const FINAL_STATES: readonly ChangeState[] = [
  'succeeded',
  'failed',
  'rolled-back',
  'denied',
  'cancelled',
  'expired',
];

export type GateDecision = 'approved' | 'needs-approval' | 'denied' | 'unknown';

/** What a pipeline delivers through the gate (`POST /api/v1/gates/evaluate`, a GitHub deployment). */
export const DELIVERY_KINDS = [
  'deployment',
  'config',
  'migration',
  'infrastructure',
  'feature-flag',
] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** Who delivers a pipeline change and what: the pipeline does the work, Millwright only gates it. */
export interface Delivery {
  /** The pipeline's name from `gates.pipelines` (or the GitHub workflow). */
  pipeline: string;
  version?: string;
  environment?: string;
  /**
   * The pipeline learns its answer by asking (`POST /api/v1/gates/evaluate`, then polls of
   * `GET /api/v1/gates/:change`): once let through it is delivered only when it is picked up, i.e. when
   * the pipeline's next question is answered pass. Unset where Millwright tells the pipeline itself
   * (GitHub's deployment callback): there the approval is the pickup.
   */
  polls?: boolean;
}

export interface RuleResult {
  kind: string;
  status: 'pass' | 'fail' | 'unknown';
  severity: 'hard' | 'soft';
  /** One line with the numbers: `error budget checkout-availability: 62.4% left ≥ 25%`. */
  evidence: string;
  /** The same numbers as values (`remainingPercent`, `burnRate1h`, `threshold`), for machines. */
  numbers?: Record<string, number>;
  /** The SLO or the service the rule judged, when it judged one. */
  subject?: string;
  /** What would make a failing rule pass. */
  fix?: string;
  /** The service the rule was judged for, and the SLO for budget and burn rules. */
  service?: string;
  slo?: string;
  /** The number the rule measured and the bound it was held to (`unit` says what they count). */
  value?: number;
  threshold?: number;
  unit?: 'percent' | 'changes' | 'incidents';
  /** Burn rates per window behind a burn-state verdict. */
  burnRates?: Record<string, number>;
  /** Set when an input the rule needed could not be read (Prometheus down): the verdict is missing, not judged. */
  unreadable?: { code: string; message: string };
}

export interface GateEvaluation {
  at: string;
  purpose: 'request' | 'execution';
  decision: GateDecision;
  rules: RuleResult[];
}

/** A runbook execution's steps as recorded while it runs (see RunProgress). */
export interface ExecutionProgress {
  by: string;
  /** Main steps finished, in order. */
  done: number;
  summaries: string[];
  outputs: Record<string, Record<string, unknown>>;
  /** The step whose executor call was made and has not answered yet. */
  inFlight?: { position: number; label: string; uses: string };
  /** A main step failed: what follows (a stop or the rollback) is not resumed by another replica. */
  stopped?: boolean;
}

export interface TimelineEntry {
  at: string;
  event: string;
  by: string;
  detail?: string;
}

export interface VerificationSample {
  at: string;
  worstBurnRate?: number;
  page: boolean;
  /** Whether any burn state or rate could be read at this sample. */
  measured?: boolean;
  note: string;
}

export interface ChangeRequest extends StoredRecord {
  id: string;
  /**
   * A runbook Millwright runs, a manual change a person performs, what a pipeline delivers, or a
   * progressive release the release controller moves (`release start`).
   */
  kind: 'runbook' | 'manual' | 'release' | DeliveryKind;
  /** Set on a release's change: the release that carries it out, the image it ships and how. */
  release?: { id: string; image: string; steps: number[]; intervalMs: number };
  /** Set on a change a pipeline delivers (kind deployment, config, ...). */
  delivery?: Delivery;
  /** The service the change is filed under: the first of `services`. */
  service: string;
  /** Every service the change touches (from the workloads its runbook names); absent on old records. */
  services?: string[];
  /** Workloads no service owns, let through to a person by `policy.unownedWorkloads: approval`. */
  unowned?: string[];
  runbook?: string;
  params?: Record<string, string | number | boolean>;
  summary: string;
  reason?: string;
  risk: 'low' | 'medium' | 'high';
  changeClass: 'standard' | 'normal';
  /** An emergency change (a fix for the outage itself): the error-budget policy's freeze lets it through. */
  emergency?: boolean;
  requestedBy: string;
  /**
   * The requester's identities elsewhere (the chat ids a GitHub login maps to): none of them may
   * approve the change, as the requester may not.
   */
  requesterIds?: string[];
  /** Why no chat identity is known for the requester; set, the change can be denied but not approved. */
  requesterUnverified?: string;
  channel: string;
  surface: string;
  requestedAt: string;
  notBefore?: string;
  expiresAt: string;
  state: ChangeState;
  approvals: Array<{ by: string; at: string; reason?: string }>;
  /** Set when a person approved it, so an execution-time re-check accepts the soft rules they saw. */
  humanApproved: boolean;
  evaluations: GateEvaluation[];
  timeline: TimelineEntry[];
  execution?: {
    startedAt: string;
    finishedAt?: string;
    status?: string;
    detail?: string;
    /** The replica running it, and how far it got: another replica resumes from here, never repeats. */
    progress?: ExecutionProgress;
  };
  verification?: {
    startedAt: string;
    until: string;
    nextSampleAt: string;
    /** Each SLO's burn state and rates before the change: what "worse" is measured against. */
    baseline?: BurnSnapshot[];
    /** The latest reading during verification: with the baseline, what the change cost in budget. */
    after?: BurnSnapshot[];
    samples: VerificationSample[];
  };
}

/**
 * Whether a change is let through but not yet picked up: a polling pipeline's delivery, approved, not
 * delivered yet. Only the pipeline's next question starts it (or it expires with `expiresAt`).
 */
export function awaitsPickup(change: Pick<ChangeRequest, 'state' | 'delivery' | 'execution'>): boolean {
  return change.state === 'approved' && change.delivery?.polls === true && !change.execution;
}

/** Every service a change touches; a record written before `services` existed touches its one. */
export function servicesOf(change: Pick<ChangeRequest, 'service' | 'services'>): string[] {
  return change.services?.length ? change.services : [change.service];
}

/**
 * Whether a change ran with no person in the loop: the gate approved it alone and it started. One
 * the gate stopped at execution, or a person approved, avoided no approval.
 */
export function ranWithoutAPerson(change: ChangeRequest): boolean {
  return (
    change.execution !== undefined &&
    !change.humanApproved &&
    change.timeline.some((entry) => entry.event === 'approved' && entry.by === 'millwright')
  );
}

/** What the SLO side tells the gate about one SLO of a service. Undefined numbers mean unknown. */
export type SloStatus = SloBudgetStatus;

/** One SLO's burn as verification keeps it: before a change (the baseline) or at a sample. */
export interface BurnSnapshot {
  slo: string;
  burnState: SloStatus['burnState'];
  burnRates: Record<string, number>;
  /** Events counted in the last 5 minutes, when known: a rate on too few is noise. */
  events5m?: number;
  /** The error budget left, in percent of the SLO's window, when known: what a change cost is read from. */
  remainingPercent?: number;
}

/** The error-budget side of the gate; throws when it cannot be reached (the gate then says unknown). */
export interface BudgetSource {
  statusFor(service: string, at: Date): Promise<SloStatus[]>;
}

export interface OpenIncident {
  id: string;
  severity: number;
  title: string;
}

/** Open incidents per service (the incidents feature keeps them). */
export interface IncidentSource {
  openFor(service: string): Promise<OpenIncident[]>;
}
