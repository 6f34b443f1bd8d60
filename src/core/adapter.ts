// The contract every chat surface (Slack, Teams) implements: a small transport, no rules.
import type { ChatSurface } from './surfaces.js';

/**
 * A chat surface that starts and stops with the server. `post` takes a target the adapter owns
 * (a Slack channel id, a stored Teams conversation); `owns` says which targets those are.
 */
export interface Adapter extends ChatSurface {
  start(): Promise<void>;
  stop(): Promise<void>;
}
