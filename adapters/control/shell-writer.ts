// Where a shell's commands run: in the shell itself when it holds store.path, else in the process that
// does, through its control endpoint. When that holder goes away before a command reached it, the
// shell takes over (or follows whoever did); a command that did reach it is never sent twice.
import {
  asMillwrightError,
  type CommandRequest,
  errorReply,
  newRef,
  type Reply,
} from '../../src/core/index.js';
import { controlClient, neverDelivered } from './control-client.js';
import type { AuditBody } from './protocol.js';

export interface ShellWriter {
  handle: (request: CommandRequest) => Promise<Reply>;
  audit: (entry: AuditBody) => Promise<void>;
  /** Stops serving other processes (before the lock is released). */
  close: () => Promise<void>;
}

/** Who holds store.path when this process could not take it. */
export interface OtherHolder {
  /** "millwright serve (pid 4242 on web-1, since ...)" */
  name: string;
  /** The refusal to print when there is no way to reach it. */
  refusal: string;
  control?: { port: number; token: string };
}

export interface ShellWriterOptions {
  /** Runs commands and appends records here, once this process holds the lock. */
  local: Pick<ShellWriter, 'handle' | 'audit'>;
  /** Takes the lock: undefined once this process holds it, else who does. */
  takeLock: () => Promise<OtherHolder | undefined>;
  /** Serves the control endpoint for others (an interactive shell); resolves with how to stop it. */
  serve?: () => Promise<() => Promise<void>>;
  /** How long to wait for a gone holder's lock to be taken over (default 20 s). */
  recoverMs?: number;
}

const RECOVER_MS = 20_000;

/**
 * @example
 * const writer = await shellWriter({ local, takeLock, serve });
 * if ('refused' in writer) fail(writer.refused);
 */
export async function shellWriter(options: ShellWriterOptions): Promise<ShellWriter | { refused: string }> {
  let stop: () => Promise<void> = async () => {};
  let current: Pick<ShellWriter, 'handle' | 'audit'>;
  let endpoint: OtherHolder['control'];
  const hold = async () => {
    current = options.local;
    endpoint = undefined;
    if (options.serve) stop = await options.serve();
  };
  const follow = (holder: OtherHolder & { control: { port: number; token: string } }) => {
    current = controlClient(holder.control, holder.name);
    endpoint = holder.control;
  };
  const holder = await options.takeLock();
  if (!holder) await hold();
  else if (!holder.control) return { refused: holder.refusal };
  else follow({ ...holder, control: holder.control });

  // The holder we sent to is gone: take the lock, or follow the process that took it. Right after a
  // holder dies, the lock is still its own for a moment, and the process taking over needs a moment
  // more to advertise its endpoint; both are waited for, up to RECOVER_MS.
  const recover = async (failure: unknown): Promise<boolean> => {
    if (current === options.local || !neverDelivered(failure)) return false;
    const gone = endpoint;
    const deadline = Date.now() + (options.recoverMs ?? RECOVER_MS);
    for (;;) {
      const next = await options.takeLock();
      if (!next) {
        await hold();
        return true;
      }
      const moved = next.control && (next.control.port !== gone?.port || next.control.token !== gone?.token);
      if (next.control && moved) {
        follow({ ...next, control: next.control });
        return true;
      }
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  // A command goes to whoever holds the store; when that holder turns out gone before it got the
  // command, the shell recovers and sends it again (a few holders in a row may go).
  const toHolder = async <T>(send: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (failure) {
        if (attempt >= 3 || !(await recover(failure))) throw failure;
      }
    }
  };
  return {
    handle: async (request) => {
      try {
        return await toHolder(() => current.handle(request));
      } catch (failure) {
        return errorReply(asMillwrightError(failure), newRef());
      }
    },
    audit: (entry) => toHolder(() => current.audit(entry)),
    close: () => stop(),
  };
}
