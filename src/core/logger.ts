// Structured JSON logs through pino. Every line is redacted before it is written: secret-named fields
// by key, token shapes by pattern, and the process's known secret values once bindLogSecrets has them.
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { redactText, redactWith } from './redact.js';
import type { SecretSet } from './secrets.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stderr by default so the shell's stdout stays clean for replies. */
  destination?: DestinationStream;
  /** Append log lines to this file instead (created 0600). */
  file?: string;
  /** Known secret values to scrub from every line (bindLogSecrets can add them later). */
  secrets?: SecretSet;
}

// The redaction a logger and all its children share: children made before the secrets are known
// still see them, because pino's children inherit from their parent.
const LOG_SECRETS = Symbol('millwright.logSecrets');
interface LogSecrets {
  secrets?: SecretSet;
}

const keepText = (text: string) => text;

/**
 * Creates the process logger.
 *
 * @example
 * const log = createLogger({ level: 'info' }); log.info({ ref }, 'command failed');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const holder: LogSecrets = options.secrets ? { secrets: options.secrets } : {};
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { app: 'millwright' },
      // Secret-named fields (`token`, `authorization`, `x-slack-signature`) by key, at any depth.
      formatters: { log: (object) => redactWith(object, keepText) },
      hooks: { streamWrite: (line) => (holder.secrets ? holder.secrets.text(line) : redactText(line)) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ??
      (options.file
        ? pino.destination({ dest: options.file, sync: true, mkdir: true, mode: 0o600 })
        : pino.destination({ fd: 2, sync: true })),
  );
  Object.defineProperty(logger, LOG_SECRETS, { value: holder });
  return logger;
}

/** From now on, `logger` and its children also scrub `secrets`' values; a no-op for other loggers. */
export function bindLogSecrets(logger: Logger, secrets: SecretSet): void {
  const holder = (logger as unknown as { [LOG_SECRETS]?: LogSecrets })[LOG_SECRETS];
  if (holder) holder.secrets = secrets;
}

/** A logger that drops everything; for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
