// Bolt and its WebClient log through Millwright's logger (JSON lines, secrets redacted), not the console.
import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../src/core/index.js';

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/**
 * Wraps a pino logger in the interface Bolt expects. The level stays the one Millwright was started
 * with; Bolt's own `setLevel` calls do not change it.
 *
 * @example
 * new App({ logger: boltLogger(logger), ... });
 */
export function boltLogger(logger: Logger): SlackLogger {
  const log = logger.child({ component: 'slack' });
  const line = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : String(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => {
      if (log.isLevelEnabled('debug')) log.debug(line(parts));
    },
    info: (...parts: unknown[]) => log.info(line(parts)),
    warn: (...parts: unknown[]) => log.warn(line(parts)),
    error: (...parts: unknown[]) => log.error(line(parts)),
    setLevel: () => {},
    getLevel: () => LEVELS[log.level] ?? LogLevel.INFO,
    setName: () => {},
  };
}
