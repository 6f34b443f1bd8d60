// The contract every surface (shell, Slack, Teams) implements: a small transport, no rules.
import type { MessageHandle } from './context.js';
import type { Reply } from './reply.js';

export interface Adapter {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Posts a message nobody asked for (a digest, an alert) to a target the adapter understands:
   * a Slack channel id, a stored Teams conversation, or the shell's output.
   */
  post(target: string, reply: Reply): Promise<MessageHandle>;
}
