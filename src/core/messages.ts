// Messages a command or a service posts: a handle to edit one in place, and the sinks that post them.
import type { Reply } from './reply.js';

/** A message already posted, which can be edited in place (chat.update, updateActivity). */
export interface MessageHandle {
  update(reply: Reply): Promise<void>;
}

/** How an adapter receives the replies a command posts while it runs. */
export interface ReplySink {
  send(reply: Reply): Promise<MessageHandle>;
}

/** Where unsolicited messages go: the chat adapter that is running (or the shell's output). */
export interface Notifier {
  post(target: string, reply: Reply): Promise<MessageHandle>;
}
