// The built-in executors (kubernetes, github, http), built from their config sections. An executor
// whose section is missing is still known, so runbooks load and a run says what to configure.
import type { MillwrightConfig } from '../config/index.js';
import type { Logger } from '../core/logger.js';
import type { ExecutorHost } from './host.js';

export async function registerBuiltInExecutors(
  host: ExecutorHost,
  config: MillwrightConfig,
  logger: Logger,
): Promise<void> {
  void host;
  void config;
  void logger;
}
