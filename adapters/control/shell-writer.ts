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
}

/**
 * @example
 * const writer = await shellWriter({ local, takeLock, serve });
 * if ('refused' in writer) fail(writer.refused);
 */
export async function shellWriter(options: ShellWriterOptions): Promise<ShellWriter | { refused: string }> {
  let stop: () => Promise<void> = async () => {};
  let current: Pick<ShellWriter, 'handle' | 'audit'>;
  const hold = async () => {
    current = options.local;
    if (options.serve) stop = await options.serve();
  };
  const holder = await options.takeLock();
  if (!holder) await hold();
  else if (!holder.control) return { refused: holder.refusal };
  else current = controlClient(holder.control, holder.name);

  // The holder we sent to is gone: take the lock, or follow the process that took it.
  const recover = async (failure: unknown): Promise<boolean> => {
    if (current === options.local || !neverDelivered(failure)) return false;
    const next = await options.takeLock();
    if (!next) await hold();
    else if (next.control) current = controlClient(next.control, next.name);
    else return false;
    return true;
  };
  return {
    handle: async (request) => {
      try {
        return await current.handle(request);
      } catch (failure) {
        try {
          if (await recover(failure)) return await current.handle(request);
        } catch (again) {
          return errorReply(asMillwrightError(again), newRef());
        }
        return errorReply(asMillwrightError(failure), newRef());
      }
    },
    audit: async (entry) => {
      try {
        await current.audit(entry);
      } catch (failure) {
        if (!(await recover(failure))) throw failure;
        await current.audit(entry);
      }
    },
    close: () => stop(),
  };
}
