// The sender's side of the control protocol: a `handle` for the shell that runs each command in the
// process holding store.path, progress and all, and a way to append the shell's own records there.
import {
  type CommandRequest,
  ErrorCode,
  type MessageHandle,
  MillwrightError,
  type Reply,
} from '../../src/core/index.js';
import { AUDIT_PATH, type AuditBody, COMMANDS_PATH, type ControlLine } from './protocol.js';

export interface ControlClient {
  handle(request: CommandRequest): Promise<Reply>;
  audit(entry: AuditBody): Promise<void>;
}

/** Whether a failed call never reached the holder (nothing listens on its port any more). */
export function neverDelivered(error: unknown): boolean {
  return (error as { details?: { delivered?: boolean } }).details?.delivered === false;
}

function unreachable(holder: string, cause: unknown, delivered = true): MillwrightError {
  return new MillwrightError(
    ErrorCode.StoreLocked,
    delivered
      ? `${holder} stopped answering while it ran the command; its outcome is unknown (millwright audit shows what was recorded)`
      : `${holder} holds store.path but did not answer on its control port`,
    {
      hint: 'check that it is still running; once it is gone, run the command again',
      cause,
      details: { delivered },
    },
  );
}

/**
 * Talks to the holder's control endpoint.
 *
 * @example
 * const remote = controlClient({ port, token }, 'millwright serve (pid 4242 on web-1, since ...)');
 * const shell = new ShellAdapter({ handle: (request) => remote.handle(request), ... });
 */
export function controlClient(control: { port: number; token: string }, holder: string): ControlClient {
  const base = `http://127.0.0.1:${control.port}`;
  const headers = { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' };
  return {
    async handle(request) {
      let response: Response;
      try {
        response = await fetch(`${base}${COMMANDS_PATH}`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            actor: request.actor,
            ...(request.via ? { via: request.via } : {}),
            channel: request.channel,
            text: request.text,
          }),
          ...(request.signal ? { signal: request.signal } : {}),
        });
      } catch (error) {
        if ((error as { name?: string }).name === 'AbortError') throw error;
        // The holder answers with its head before it starts a command, so without one it never ran.
        throw unreachable(holder, error, false);
      }
      if (!response.ok || !response.body) throw unreachable(holder, new Error(`HTTP ${response.status}`));
      const handles = new Map<number, Promise<MessageHandle>>();
      let buffered = '';
      let final: Reply | undefined;
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = JSON.parse(buffered.slice(0, newline)) as ControlLine;
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if ('reply' in line) final = line.reply as Reply;
          else if ('progress' in line && request.sink) {
            handles.set(line.progress.id, request.sink.send(line.progress.reply as Reply));
          } else if ('update' in line) {
            const handle = await handles.get(line.update.id);
            await handle?.update(line.update.reply as Reply);
          }
        }
      }
      if (!final) throw unreachable(holder, new Error('the answer ended before the reply'));
      return final;
    },
    async audit(entry) {
      const response = await fetch(`${base}${AUDIT_PATH}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(entry),
      }).catch((error: unknown) => {
        throw unreachable(holder, error);
      });
      if (!response.ok) throw unreachable(holder, new Error(`HTTP ${response.status}`));
    },
  };
}
