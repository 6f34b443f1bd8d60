// Work a Slack request starts after its acknowledgement: held until acknowledgements on their way out
// have gone (AckFirstQueue), and run only when the shared replay record says the request is new.
import type { Logger } from '../../src/core/index.js';
import { AckFirstQueue } from './ack-first.js';
import type { RecordOutcome } from './request-guard.js';

/** Where a request carries the shared replay record's answer, from the HTTP route into Bolt's context. */
export const RECORDED = 'millwrightRecorded';

/** The shared replay record's answer for this request; undefined in Socket Mode (no signatures). */
export function recordedOf(context: Record<string, unknown>): Promise<RecordOutcome> | undefined {
  const recorded = context[RECORDED];
  return recorded instanceof Promise ? (recorded as Promise<RecordOutcome>) : undefined;
}

/** Whether to act on a request: its replay record, and how to tell the person when it could not be made. */
export interface AfterAckGate {
  recorded?: Promise<RecordOutcome> | undefined;
  tell?: (text: string) => Promise<void>;
}

/**
 * Runs listeners' work after their acknowledgements.
 *
 * @example
 * afterAck.run('button', () => onButton(body), { recorded: recordedOf(context) });
 */
export class AfterAck {
  readonly queue = new AckFirstQueue();
  readonly #log: Logger;
  readonly #track: (<T>(work: Promise<T>) => Promise<T>) | undefined;

  constructor(options: { logger: Logger; track?: (<T>(work: Promise<T>) => Promise<T>) | undefined }) {
    this.#log = options.logger;
    this.#track = options.track;
  }

  run(what: string, work: () => Promise<void>, gate: AfterAckGate = {}): void {
    let begin!: () => void;
    const started = new Promise<void>((resolve) => {
      begin = resolve;
    });
    const job = started
      .then(async () => {
        const recorded = await gate.recorded;
        if (recorded === 'replay') {
          this.#log.warn({ what }, 'a replayed Slack request reached this replica; not acting on it');
          return;
        }
        if (recorded === 'unavailable') {
          await gate.tell?.(
            ':warning: Millwright could not record this request, so it did not run it. Try again in a moment.',
          );
          return;
        }
        await work();
      })
      .catch((error: unknown) => {
        this.#log.error({ err: error }, `Slack ${what} failed`);
      });
    void (this.#track ? this.#track(job) : job);
    this.queue.run(begin);
  }
}
