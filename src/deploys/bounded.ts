// A ceiling on calls in flight to one upstream (an API server, GitHub), shared by every command, so
// 200 services do not open 200 connections at once, and a slow upstream does not hold up the other.

/**
 * Runs work with at most `limit` calls in flight; the rest wait their turn in order.
 *
 * @example
 * const github = new Limiter(16);
 * const runs = await Promise.all(repos.map((repo) => github.run(() => listWorkflowRuns(client, repo))));
 */
export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a whole number >= 1, got ${limit}`);
  }

  /** Calls in flight now. */
  get active(): number {
    return this.#active;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    // A finishing call hands its slot straight to the next waiter, so a newcomer cannot slip past.
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
