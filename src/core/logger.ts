// Structured JSON logs through pino, with secret fields redacted before they are written.
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

const REDACT_PATHS = [
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.appPassword',
  '*.password',
  '*.secret',
  '*.bearerToken',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stderr by default so the shell's stdout stays clean for replies. */
  destination?: DestinationStream;
  /** Append log lines to this file instead (created 0600). */
  file?: string;
}

/**
 * Creates the process logger.
 *
 * @example
 * const log = createLogger({ level: 'info' }); log.info({ ref }, 'command failed');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'millwright' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ??
      (options.file
        ? pino.destination({ dest: options.file, sync: true, mkdir: true, mode: 0o600 })
        : pino.destination({ fd: 2, sync: true })),
  );
}

/** A logger that drops everything; for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
