// What the fault-injection suites share: an upstream policy with small limits on a fixed clock for
// its circuits, and readers for what /metrics says about it.
import { abortableSleep, fixedClock, UpstreamResilience } from '../../src/core/index.js';
import { createMetrics } from '../../src/server/metrics.js';

/** When the suites' circuits open: 12:03:00 UTC, so the errors read "open since 12:03:00 UTC". */
export const OPENED_AT = '2026-12-04T12:03:00.000Z';
/** Failed calls in a row that open a circuit. */
export const FAILURES_TO_OPEN = 3;
/** Tries of a read (or of a write after a 429), the first included. */
export const ATTEMPTS = 3;

export interface FaultPolicy {
  upstreams: UpstreamResilience;
  /** Moves the circuits' clock (the half-open probe is due a minute after opening). */
  circuitClock: ReturnType<typeof fixedClock>;
  /** Every wait the policy asked for, in ms (backoffs and Retry-After), in order. */
  waits: number[];
}

/**
 * The policy under test: 3 tries, 3 failures open a circuit, a probe a minute later. Waits run on
 * real timers, capped at 20 ms so a Retry-After of seconds does not slow the suite; `waits` keeps
 * what was asked for.
 */
export function faultPolicy(): FaultPolicy {
  const waits: number[] = [];
  const circuitClock = fixedClock(OPENED_AT);
  const upstreams = new UpstreamResilience({
    clock: circuitClock,
    sleep: (ms, signal) => {
      waits.push(ms);
      return abortableSleep(Math.min(ms, 20), signal);
    },
    random: () => 1,
    attempts: ATTEMPTS,
    failureThreshold: FAILURES_TO_OPEN,
    halfOpenAfterMs: 60_000,
  });
  return { upstreams, circuitClock, waits };
}

/** One sample of `/metrics` for the policy, by metric name and labels; undefined when absent. */
export async function upstreamMetric(
  upstreams: UpstreamResilience,
  name: string,
  labels: Record<string, string>,
): Promise<string | undefined> {
  const { text } = await createMetrics({ upstreams, cacheMs: 0 }).render();
  const selector = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  return text
    .split('\n')
    .find((row) => row.startsWith(`${name}{${selector}}`))
    ?.split(' ')
    .at(-1);
}

/** `millwright_upstream_circuit_state` of one target: '0' closed, '1' half-open, '2' open. */
export function circuitGauge(
  upstreams: UpstreamResilience,
  upstream: string,
  target: string,
): Promise<string | undefined> {
  return upstreamMetric(upstreams, 'millwright_upstream_circuit_state', { upstream, target });
}
