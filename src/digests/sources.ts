// What a digest reads, as small interfaces the real services already satisfy, so a missing source
// (no Prometheus, no deploys yet) becomes a sentence in the digest instead of a failure.
import type { AuditRecord } from '../audit/types.js';
import type { BudgetPolicyRecord } from '../changes/budget-policy-state.js';
import type { ChangeRequest } from '../changes/types.js';
import type { RecentDeploy } from '../deploys/types.js';
import type { Incident } from '../incidents/types.js';
import type { LoadedRunbook } from '../runbooks/catalog.js';
import type { Slo, SloEvaluation } from '../slo/index.js';

/** Error budgets (`SloService`). */
export interface BudgetSource {
  list(): readonly Slo[];
  evaluateMany(slos: readonly Slo[], at: Date, signal?: AbortSignal): Promise<SloEvaluation[]>;
}

/** One service's rollout state and drift, as `deploys` shows it (`ServiceOverview`, trimmed). */
export interface DeployOverviewRow {
  service: string;
  state: string;
  message: string;
  drift: { status: string; reason: string };
  problems: Array<{ source: string; code: string; message: string }>;
}

/** Deployments per service (`DeployService`). */
export interface DeploySource {
  recentDeploys(service: string, since: Date): Promise<RecentDeploy[]>;
  overview(options: { signal?: AbortSignal | undefined; services?: string[] }): Promise<DeployOverviewRow[]>;
}

/** Change requests (`ChangeService`). */
export interface ChangeSource {
  list(filter?: { service?: string }): Promise<ChangeRequest[]>;
  /** The error-budget policy, when configured: its frozen services are reminded in every digest. */
  readonly budgetPolicy?: { states(): Promise<BudgetPolicyRecord[]> } | undefined;
}

/** Incidents (`IncidentService`). */
export interface IncidentSource {
  list(which: 'open' | 'all'): Promise<Incident[]>;
}

/** The runbook catalog (`RunbookService`), for each runbook's estimated manual minutes. */
export interface RunbookCatalog {
  list(): LoadedRunbook[];
}

/** The audit trail, where every runbook run is recorded with its outcome. */
export interface AuditSource {
  recent(query: { since?: Date; limit?: number }): Promise<AuditRecord[]>;
}

/** Everything a digest may draw on; a service that is absent (no Prometheus) is left out. */
export interface DigestSources {
  budgets?: BudgetSource | undefined;
  deploys?: DeploySource | undefined;
  changes?: ChangeSource | undefined;
  incidents?: IncidentSource | undefined;
  runbooks?: RunbookCatalog | undefined;
  audit?: AuditSource | undefined;
}
