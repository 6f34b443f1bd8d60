// Work started by Slack requests waits until their acknowledgements have gone out, so a burst of
// slash commands is answered within Slack's 3 seconds before any of them starts running.

export interface AckFirstQueueOptions {
  /** Start queued work once no request has been in flight for this long; default 20 ms. */
  quietMs?: number;
  /** Never hold work longer than this after it was queued, however busy; default 1 s (Slack allows 3 s for the acknowledgement, not for the answer). */
  maxDelayMs?: number;
  /** Injected for tests; `performance.now()` by default. */
  now?: () => number;
}

/**
 * Holds background work behind in-flight acknowledgements.
 *
 * @example
 * const done = queue.requestStarted();   // when a request arrives
 * res.once('close', done);               // when its answer has gone out
 * queue.run(() => void runCommand());    // after ack(): starts once requests are quiet
 */
export class AckFirstQueue {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  #inFlight = 0;
  #lastActivity = Number.NEGATIVE_INFINITY;
  #queue: Array<() => void> = [];
  #firstQueuedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AckFirstQueueOptions = {}) {
    this.#quietMs = options.quietMs ?? 20;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Marks a request in flight; call the returned function once its response has been sent. */
  requestStarted(): () => void {
    this.#inFlight++;
    this.#lastActivity = this.#now();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.#lastActivity = this.#now();
      this.#check();
    };
  }

  run(job: () => void): void {
    if (this.#queue.length === 0) this.#firstQueuedAt = this.#now();
    this.#queue.push(job);
    this.#check();
  }

  /** Starts everything queued now (for shutdown). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const job of this.#queue.splice(0)) setImmediate(job);
  }

  #check(): void {
    if (this.#queue.length === 0) return;
    const now = this.#now();
    const quietFor = now - this.#lastActivity;
    const overdue = now - this.#firstQueuedAt >= this.#maxDelayMs;
    if (overdue || (this.#inFlight === 0 && quietFor >= this.#quietMs)) {
      this.flush();
      return;
    }
    // An armed timer checks again when it fires and re-arms from there, so a burst of requests
    // finishing does not reset a timer for each one.
    if (this.#timer !== undefined) return;
    const untilQuiet = this.#inFlight === 0 ? this.#quietMs - quietFor : this.#quietMs;
    const untilOverdue = this.#maxDelayMs - (now - this.#firstQueuedAt);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#check();
      },
      Math.max(1, Math.min(untilQuiet, untilOverdue)),
    );
  }
}
