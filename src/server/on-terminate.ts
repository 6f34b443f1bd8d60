// The process-level part of shutdown, kept tiny and injectable: it only turns a signal into one
// call of `shutdown`; closing the server, flushing the audit trail and exiting stay in main.
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
 * Runs `shutdown` once on the first termination signal; later signals are logged and ignored,
 * since the grace period already bounds how long shutdown takes. Listening replaces Node's default
 * exit on these signals, so `shutdown` must end the process itself. Returns a function that stops listening.
 *
 * @example
 * onTerminate(async () => {
 *   try {
 *     await server.close({ graceMs: 10_000 });
 *     await audit.flush();
 *   } finally {
 *     process.exit(0);
 *   }
 * }, { logger });
 */
export function onTerminate(
  shutdown: (signal: NodeJS.Signals) => unknown,
  options: OnTerminateOptions,
): () => void {
  const { logger, signals = ['SIGTERM', 'SIGINT'], source = process } = options;
  let started = false;
  const listener = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn({ signal }, 'shutdown already in progress');
      return;
    }
    started = true;
    logger.info({ signal }, 'shutting down');
    Promise.resolve()
      .then(() => shutdown(signal))
      .catch((error: unknown) => logger.error({ err: error, signal }, 'shutdown failed'));
  };
  for (const signal of signals) source.on(signal, listener);
  return () => {
    for (const signal of signals) source.off(signal, listener);
  };
}
