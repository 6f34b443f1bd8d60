// Typed domain events: services say what happened, subscribers (notices, ledgers, digests) act on it.
// A feature adds its events to `DomainEvents` from its own folder by declaration merging.
import type { Logger } from './logger.js';

declare module './context.js' {
  interface Services {
    /** Typed domain events: services emit, notices and ledgers subscribe. */
    events: EventBus;
  }
}

/**
 * Every event name and its payload. Empty in core; features extend it.
 *
 * @example
 * declare module '../core/events.js' {
 *   interface DomainEvents { 'change.transitioned': { change: ChangeRequest; from: ChangeState } }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging from each feature
export interface DomainEvents {}

export type EventName = keyof DomainEvents & string;
export type EventHandler<K extends EventName> = (event: DomainEvents[K]) => void | Promise<void>;

/**
 * Delivers each event to its subscribers in the order they subscribed, and waits for them, so a
 * command's notice is posted before its reply. One failing subscriber is logged and never stops
 * the others or the service that emitted.
 *
 * @example
 * events.on('incident.declared', async ({ incident }) => post(incident.channel, brief(incident)));
 * await events.emit('incident.declared', { incident });
 */
export class EventBus {
  readonly #handlers = new Map<string, Array<(event: unknown) => void | Promise<void>>>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends EventName>(name: K, handler: EventHandler<K>): () => void {
    const list = this.#handlers.get(name) ?? [];
    const entry = handler as (event: unknown) => void | Promise<void>;
    list.push(entry);
    this.#handlers.set(name, list);
    return () => {
      const at = list.indexOf(entry);
      if (at !== -1) list.splice(at, 1);
    };
  }

  /** Whether anything listens for `name` (a service may skip preparing a costly payload). */
  has(name: EventName): boolean {
    return (this.#handlers.get(name)?.length ?? 0) > 0;
  }

  async emit<K extends EventName>(name: K, event: DomainEvents[K]): Promise<void> {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        await handler(event);
      } catch (error) {
        this.logger.error({ err: error, event: name }, 'event subscriber failed');
      }
    }
  }
}
