// A Bot Connector call that failed (a post or a card update), as a Millwright error a person can act on.
import { ErrorCode, formatDuration, MillwrightError } from '../../src/core/index.js';
import { ConnectorTimeout } from './connector-clients.js';

/**
 * A failed Bot Connector call as one line a person can act on, naming the service URL. The shared
 * upstream policy has already retried what was worth retrying (a 429 after its Retry-After; a
 * card update after a 5xx, a reset or a hang).
 */
export function connectorError(
  error: unknown,
  what: 'post' | 'update' | 'read',
  serviceUrl: string,
): MillwrightError {
  // Already one line a person can act on: the Bot Connector's open circuit.
  if (error instanceof MillwrightError) return error;
  const failure = error as { statusCode?: number; code?: string };
  const subject =
    what === 'read'
      ? `the Bot Connector at ${serviceUrl} did not answer a roster read`
      : `the Bot Connector at ${serviceUrl} did not accept the ${what === 'post' ? 'message' : 'card update'}`;
  let why: string;
  if (error instanceof ConnectorTimeout) why = `no answer within ${formatDuration(error.timeoutMs)}`;
  else if (failure.statusCode) why = `HTTP ${failure.statusCode}${failure.code ? ` ${failure.code}` : ''}`;
  else why = `connection failed${failure.code ? ` (${failure.code})` : ''}`;
  return new MillwrightError(
    failure.statusCode === 429 ? ErrorCode.RateLimited : ErrorCode.DependencyUnavailable,
    `${subject} (${why})`,
    {
      hint:
        failure.statusCode === 401 || failure.statusCode === 403
          ? 'check teams.appId and its password or certificate, and that the app is still installed in that team or chat'
          : 'the Bot Connector service may be down or slow; try again shortly',
      cause: error,
    },
  );
}
