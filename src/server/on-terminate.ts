// The process-level part of shutdown, kept tiny and injectable: it turns the first signal into one
// call of `shutdown` and later ones into a hurry; closing, flushing and exiting stay with the caller.
import type { Logger } from '../core/logger.js';

/** Where signals come from: `process` in production, any EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface OnTerminateOptions {
  logger: Logger;
  /** Default SIGTERM (Kubernetes, systemd) and SIGINT (Ctrl-C). */
  signals?: readonly NodeJS.Signals[];
  source?: SignalSource;
}

/**
 * Runs `shutdown` once on the first termination signal. A later signal (a second SIGTERM, or Ctrl-C
 * during shutdown) aborts the `hurry` signal handed to `shutdown`, which cuts its waiting short.
 * Listening replaces Node's default exit on these signals, so `shutdown` must end the process
 * itself. Returns a function that stops listening.
 *
 * @example
 * onTerminate(async (signal, hurry) => {
 *   try {
 *     await server.close({ graceMs: 10_000, hurry });
 *     await audit.flush();
 *   } finally {
 *     process.exit(0);
 *   }
 * }, { logger });
 */
export function onTerminate(
  shutdown: (signal: NodeJS.Signals, hurry: AbortSignal) => unknown,
  options: OnTerminateOptions,
): () => void {
  const { logger, signals = ['SIGTERM', 'SIGINT'], source = process } = options;
  const hurry = new AbortController();
  let started = false;
  const listener = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn({ signal }, 'second signal: stopping running work now instead of waiting');
      hurry.abort();
      return;
    }
    started = true;
    logger.info({ signal }, 'shutting down');
    Promise.resolve()
      .then(() => shutdown(signal, hurry.signal))
      .catch((error: unknown) => logger.error({ err: error, signal }, 'shutdown failed'));
  };
  for (const signal of signals) source.on(signal, listener);
  return () => {
    for (const signal of signals) source.off(signal, listener);
  };
}
