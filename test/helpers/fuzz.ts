// How many generated inputs each property tries: a few thousand in `npm test`, FUZZ_RUNS under `npm run fuzz`.
import fc from 'fast-check';

const fuzzRuns = Number(process.env.FUZZ_RUNS);
/** True under `npm run fuzz`, which sets FUZZ_RUNS (100,000 per property). */
export const FUZZING = Number.isInteger(fuzzRuns) && fuzzRuns > 0;

/**
 * fast-check settings for one property: `runs` inputs in `npm test`, FUZZ_RUNS under `npm run fuzz`.
 * The time budget stops a property instead of hanging the suite (under fuzzing, where the count is
 * the point, stopping early fails it); an async run that takes over 2 s fails.
 */
export function fuzzParameters(runs: number, budgetMs: number): fc.Parameters<unknown> {
  return {
    numRuns: FUZZING ? fuzzRuns : runs,
    plugins: [
      fc.interruptAfterTimeLimit(FUZZING ? 30 * 60_000 : budgetMs, { failOnInterrupt: FUZZING }),
      fc.timeout(2_000),
    ],
  };
}

/** The jest timeout for a property test: its budget plus slack, and half an hour per property when fuzzing. */
export function fuzzTimeout(budgetMs: number): number {
  return FUZZING ? 35 * 60_000 : budgetMs + 10_000;
}

/** Keys that name members of Object.prototype, or would reach it. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'] as const;

/** Object.prototype's own names, to check that nothing was added to it. */
export function prototypeSnapshot(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}
