// A Bot Connector call that failed (a post or a card update), as a Millwright error a person can act on.
import { ErrorCode, MillwrightError } from '../../src/core/index.js';

/**
 * A failed Bot Connector call as one line a person can act on. The connector client has already
 * retried what is worth retrying (429 after Retry-After, 5xx, dropped connections).
 */
export function connectorError(error: unknown, what: 'post' | 'update'): MillwrightError {
  // Already one line a person can act on: the Bot Connector's open circuit.
  if (error instanceof MillwrightError) return error;
  const failure = error as { statusCode?: number; code?: string };
  const status = failure.statusCode
    ? ` (HTTP ${failure.statusCode}${failure.code ? ` ${failure.code}` : ''})`
    : '';
  return new MillwrightError(
    ErrorCode.DependencyUnavailable,
    `Teams did not accept the ${what === 'post' ? 'message' : 'card update'}${status}`,
    {
      hint:
        failure.statusCode === 401 || failure.statusCode === 403
          ? 'check teams.appId and its password or certificate, and that the app is still installed in that team or chat'
          : 'the Bot Connector service may be down; try again shortly',
      cause: error,
    },
  );
}
