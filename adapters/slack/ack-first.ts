// Work started by Slack requests waits until their acknowledgements have gone out, so a burst of
// slash commands is answered within Slack's 3 seconds before any of them starts running.

export interface AckFirstQueueOptions {
  /** Start queued work once no request has been in flight for this long; default 20 ms. */
  quietMs?: number;
  /** Never hold work longer than this after it was queued, however busy; default 1 s (Slack allows 3 s for the acknowledgement, not for the answer). */
  maxDelayMs?: number;
  /**
   * A request holds work back from its first byte, so a burst's work waits for every acknowledgement in
   * it; until its signature checks out, it holds queued work for this long at most (default 250 ms:
   * Slack sends its few kilobytes at once), and never counts as activity, so a client trickling a body
   * or sending forged ones cannot hold work back longer.
   */
  unconfirmedMs?: number;
  /** Injected for tests; `performance.now()` by default. */
  now?: () => number;
}

/** One request's hold on queued work. */
export interface RequestHold {
  /** Its signature checked out: it holds work until `done`, however long its body took. */
  confirm(): void;
  /** Its response has gone out, or it was refused. */
  done(): void;
}

/**
 * Holds background work behind in-flight acknowledgements.
 *
 * @example
 * const hold = queue.requestArrived();  // when a request arrives
 * res.once('close', hold.done);          // when its answer has gone out
 * hold.confirm();                        // its signature checked out
 * queue.run(() => void runCommand());    // after ack(): starts once requests are quiet
 */
export class AckFirstQueue {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  readonly #unconfirmedMs: number;
  /** Confirmed requests not yet answered. */
  #inFlight = 0;
  /** Requests whose signature has not been checked yet. */
  #unconfirmed = 0;
  #lastActivity = Number.NEGATIVE_INFINITY;
  #queue: Array<() => void> = [];
  #firstQueuedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AckFirstQueueOptions = {}) {
    this.#quietMs = options.quietMs ?? 20;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
    this.#unconfirmedMs = options.unconfirmedMs ?? 250;
  }

  /**
   * Marks a request in flight from its first byte. Until `confirm` (its signature checked out) it holds
   * queued work for the unconfirmed time at most; once confirmed, until `done` (its response has gone
   * out, or it was refused).
   */
  requestArrived(): RequestHold {
    let state: 'unconfirmed' | 'confirmed' | 'done' = 'unconfirmed';
    this.#unconfirmed++;
    return {
      confirm: () => {
        if (state !== 'unconfirmed') return;
        state = 'confirmed';
        this.#unconfirmed--;
        this.#inFlight++;
        this.#lastActivity = this.#now();
      },
      done: () => {
        if (state === 'done') return;
        if (state === 'confirmed') {
          this.#inFlight--;
          this.#lastActivity = this.#now();
        } else {
          this.#unconfirmed--;
        }
        state = 'done';
        this.#check();
      },
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
    const queuedFor = now - this.#firstQueuedAt;
    // Unconfirmed requests hold the work only for a while after it was queued.
    const untilUnconfirmed = this.#unconfirmed > 0 ? this.#unconfirmedMs - queuedFor : 0;
    const overdue = queuedFor >= this.#maxDelayMs;
    if (overdue || (this.#inFlight === 0 && quietFor >= this.#quietMs && untilUnconfirmed <= 0)) {
      this.flush();
      return;
    }
    // An armed timer checks again when it fires and re-arms from there, so a burst of requests
    // finishing does not reset a timer for each one.
    if (this.#timer !== undefined) return;
    const untilQuiet =
      this.#inFlight === 0 ? Math.max(this.#quietMs - quietFor, untilUnconfirmed) : this.#quietMs;
    const untilOverdue = this.#maxDelayMs - queuedFor;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#check();
      },
      Math.max(1, Math.min(untilQuiet, untilOverdue)),
    );
  }
}
