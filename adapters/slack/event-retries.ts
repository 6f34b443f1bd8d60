// Slack sends an event again when it did not see the acknowledgement in time; a Bolt middleware that
// lets each event_id through once, recorded in the shared store so every replica agrees.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Clock, Logger } from '../../src/core/index.js';
import { recordedOf } from './after-ack.js';
import type { SeenLedger } from './seen-ledger.js';

/**
 * Runs each Events API event once; older events than the window, repeats, and events that cannot be
 * recorded are dropped (running one twice is worse than not at all).
 *
 * @example
 * app.use(eventsOnce(ledger, { clock, logger, windowSeconds: 3600 }));
 */
export function eventsOnce(
  ledger: SeenLedger,
  options: { clock: Clock; logger: Logger; windowSeconds: number },
): Middleware<AnyMiddlewareArgs> {
  const { clock, logger, windowSeconds } = options;
  return async ({ body, context, next }) => {
    const event = body as { type?: string; event_id?: unknown; event_time?: unknown };
    if (event.type === 'event_callback' && typeof event.event_id === 'string') {
      // An exact copy of a request (a replay, perhaps sent to another replica at the same moment) must
      // not take the event's record: the original would then find it taken, and nobody would act.
      const recorded = recordedOf(context);
      if (recorded !== undefined && (await recorded) !== 'first') return;
      const now = Math.floor(clock.now().getTime() / 1000);
      const at = typeof event.event_time === 'number' ? event.event_time : now;
      let first = false;
      if (at < now - windowSeconds) {
        logger.warn({ eventId: event.event_id }, 'ignored an event older than the retry window');
      } else {
        try {
          first = await ledger.firstSighting(event.event_id, at);
          if (!first) {
            logger.info(
              { eventId: event.event_id, retryNum: context.retryNum, retryReason: context.retryReason },
              'Slack sent an event again that was already handled; not running it twice',
            );
          }
        } catch (error) {
          // Cannot tell a retry from a new event: running it twice is worse than not at all.
          logger.error(
            { err: error, eventId: event.event_id },
            'event record unavailable; event not handled',
          );
        }
      }
      if (!first) return;
    }
    await next();
  };
}
