// Posting one notice: nowhere to post is not an error, and a post that fails is logged, never thrown,
// because the decision it tells of has already been made and recorded.
import type { Logger } from '../core/logger.js';
import type { MessageHandle } from '../core/messages.js';
import type { Reply } from '../core/reply.js';
import type { Notices } from '../core/surfaces.js';

/** What a failed post is logged with: the fields that find it, and the line that says what failed. */
export interface FailureLog {
  fields: Record<string, unknown>;
  message: string;
}

/**
 * Posts `reply` to `target` when a chat surface runs; logs a failure instead of throwing it.
 *
 * @example
 * await postNotice(notices, logger, 'C0123', reply(header('CR-7 failed')), {
 *   fields: { change: 'CR-7' },
 *   message: 'change notice could not be posted',
 * });
 */
export async function postNotice(
  notices: Notices,
  logger: Logger,
  target: string,
  reply: Reply,
  failure: FailureLog,
): Promise<MessageHandle | undefined> {
  if (!notices.available) return undefined;
  try {
    return await notices.post(target, reply);
  } catch (error) {
    logger.error({ err: error, ...failure.fields }, failure.message);
    return undefined;
  }
}
