// The incident's numbers from the SLO service: the status for the brief, and for the postmortem
// the budget consumed and the peak burn rate during the incident window.
import type { SloService } from '../slo/index.js';
import type { IncidentNumbers, SloImpact } from './types.js';

const MAX_SAMPLES = 48;

/** Whole minutes, as PromQL ranges want them (`47m`); at least one minute. */
const minutes = (ms: number) => `${Math.max(1, Math.round(ms / 60_000))}m`;

/**
 * Incident numbers read from Prometheus through the SLO service.
 *
 * @example
 * const numbers = sloIncidentNumbers(services.slo); const [impact] = await numbers.impact('checkout', start, end);
 */
export function sloIncidentNumbers(slo: SloService): IncidentNumbers {
  return {
    status: (service, at) => slo.statusFor(service, at),
    impact: async (service, from, to): Promise<SloImpact[]> => {
      const durationMs = Math.max(60_000, to.getTime() - from.getTime());
      return Promise.all(
        slo.forService(service).map(async (definition): Promise<SloImpact> => {
          // Budget consumed = bad events in the window / bad events the whole SLO window allows;
          // with the ratio over the incident window that is ratio × (window / SLO window) / budget.
          const ratio = await slo.errorRatio(definition, minutes(durationMs), to);
          const consumed =
            ratio.kind === 'value'
              ? (100 * ratio.value * (durationMs / definition.windowMs)) / definition.errorBudget
              : undefined;
          // Peak 5m burn, sampled across the window (bounded number of queries).
          const step = Math.max(5 * 60_000, Math.ceil(durationMs / MAX_SAMPLES / 60_000) * 60_000);
          let peak: number | undefined;
          let unknown: string | undefined;
          for (let at = from.getTime() + 5 * 60_000; at <= to.getTime() + step - 1; at += step) {
            const reading = await slo.errorRatio(definition, '5m', new Date(Math.min(at, to.getTime())));
            if (reading.kind === 'value') peak = Math.max(peak ?? 0, reading.value / definition.errorBudget);
            else if (reading.kind === 'unknown') unknown = reading.message;
          }
          const detail =
            ratio.kind === 'unknown'
              ? ratio.message
              : ratio.kind === 'no_data'
                ? `no data for ${ratio.query}`
                : ratio.kind === 'no_traffic'
                  ? 'no traffic during the incident'
                  : unknown;
          return {
            slo: definition.id,
            objective: definition.objective,
            ...(consumed !== undefined ? { budgetConsumedPercent: consumed } : {}),
            ...(peak !== undefined ? { peakBurnRate: peak } : {}),
            ...(detail ? { detail } : {}),
          };
        }),
      );
    },
  };
}
