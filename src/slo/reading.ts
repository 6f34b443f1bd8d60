// What a measurement from Prometheus can be. Callers that decide (the change gate) must be able to
// tell a number from "nobody sent traffic", "the series is missing" and "we could not ask".

/** A number Prometheus returned. */
export interface ValueReading {
  kind: 'value';
  value: number;
}
/** The query ran and returned 0/0: no events in the window. Never reported as 100% good. */
export interface NoTrafficReading {
  kind: 'no_traffic';
  query: string;
}
/** The query ran and returned no series: a metric is missing or misspelt. */
export interface NoDataReading {
  kind: 'no_data';
  query: string;
}
/** The query could not be answered (Prometheus down, timeout, bad query). */
export interface UnknownReading {
  kind: 'unknown';
  query: string;
  code: string;
  message: string;
}

export type Reading = ValueReading | NoTrafficReading | NoDataReading | UnknownReading;

/**
 * Whether a reading holds a number.
 *
 * @example
 * if (isValue(evaluation.budgetRemaining)) gate.check(evaluation.budgetRemaining.value >= 0.25);
 */
export function isValue(reading: Reading): reading is ValueReading {
  return reading.kind === 'value';
}

export const value = (number: number): ValueReading => ({ kind: 'value', value: number });

/** Applies `fn` to a number and passes every other kind through unchanged. */
export function mapReading(reading: Reading, fn: (value: number) => number): Reading {
  return reading.kind === 'value' ? value(fn(reading.value)) : reading;
}
