// The chat surfaces that are running, as one place to post to: each surface says which targets it
// owns, and a message nobody asked for (a notice, a digest) goes to the one that owns its target.

import { ErrorCode, MillwrightError } from './errors.js';
import type { MessageHandle, Notifier } from './messages.js';
import type { Reply } from './reply.js';

declare module './context.js' {
  interface Services {
    /** The chat surfaces that are running: posts messages nobody asked for to the surface that owns the target. */
    notices: SurfaceHub;
  }
}

/** Where an incident is talked about. A surface that can create channels (Slack) offers one. */
export interface IncidentRoom {
  /** Creates (or picks) the channel and invites people; returns the channel id. */
  open(name: string, topic: string, invitees: readonly string[]): Promise<string>;
  /** Posts a message and pins it (the brief). */
  postPinned(channel: string, reply: Reply): Promise<MessageHandle>;
}

/** What a running chat surface offers the rest of Millwright. */
export interface ChatSurface extends Notifier {
  readonly name: string;
  /** Whether `target` (a channel id, a stored conversation) belongs to this surface. */
  owns(target: string): boolean;
  /** Incident channels, when the platform can create them. */
  readonly room?: IncidentRoom | undefined;
}

/** Where services post messages nobody asked for, and open incident rooms. */
export interface Notices extends Notifier {
  /** Whether any chat surface runs (the shell alone has nowhere to post). */
  readonly available: boolean;
  /** Incident channels, from the first surface that can create them. */
  readonly room: IncidentRoom | undefined;
}

/**
 * Routes unsolicited posts to the running surfaces.
 *
 * @example
 * hub.register(slack); hub.register(teams);
 * await hub.post('C0123ABCD', digest);   // Slack owns C… ids
 * await hub.post('19:abc@thread.tacv2', digest);   // Teams owns the rest
 */
export class SurfaceHub implements Notices {
  readonly #surfaces: ChatSurface[] = [];
  readonly #scrub: (reply: Reply) => Reply;

  /** `scrub` takes secrets out of every post and update (the process's SecretSet), before any surface sees it. */
  constructor(options: { scrub?: (reply: Reply) => Reply } = {}) {
    this.#scrub = options.scrub ?? ((reply) => reply);
  }

  register(surface: ChatSurface): void {
    if (this.#surfaces.some((known) => known.name === surface.name)) {
      throw new Error(
        `surface "${surface.name}" is registered twice; each surface registers once when it starts`,
      );
    }
    this.#surfaces.push(surface);
  }

  /** Whether any chat surface runs (the shell alone has nowhere to post). */
  get available(): boolean {
    return this.#surfaces.length > 0;
  }

  /** The running surfaces, in the order they registered. */
  get surfaces(): readonly ChatSurface[] {
    return [...this.#surfaces];
  }

  get names(): string[] {
    return this.#surfaces.map((surface) => surface.name);
  }

  /** The surface that owns `target`, else the first one registered. */
  surfaceFor(target: string): ChatSurface | undefined {
    return this.#surfaces.find((surface) => surface.owns(target)) ?? this.#surfaces[0];
  }

  post(target: string, reply: Reply): Promise<MessageHandle> {
    const surface = this.surfaceFor(target);
    if (!surface) {
      return Promise.reject(
        new MillwrightError(ErrorCode.NotConfigured, `no chat surface is running to post to ${target}`, {
          hint: 'configure slack or teams in millwright.yml and run millwright serve',
        }),
      );
    }
    return surface.post(target, this.#scrub(reply)).then((handle) => this.#scrubbing(handle));
  }

  /** Incident channels from the first surface that can create them. */
  get room(): IncidentRoom | undefined {
    const room = this.#surfaces.find((surface) => surface.room)?.room;
    if (!room) return undefined;
    return {
      open: (name, topic, invitees) => room.open(name, topic, invitees),
      postPinned: (channel, reply) =>
        room.postPinned(channel, this.#scrub(reply)).then((handle) => this.#scrubbing(handle)),
    };
  }

  #scrubbing(handle: MessageHandle): MessageHandle {
    return { update: (reply) => handle.update(this.#scrub(reply)) };
  }
}
