// The single-use contract of signed buttons and forms: a token's nonce is spent by the first click that
// runs it, so a second click (or a concurrent one, or one on another replica) runs nothing.

/** Who spent a token, and when. */
export interface SpentUse {
  /** The clicker as people read them (their name, else their id). */
  by: string;
  at: Date;
}

/** What became of the run a spent token started, as far as it is known. */
export type SpentOutcome = 'running' | 'succeeded' | 'failed';

/**
 * The outcome of claiming a token's nonce: the first claim wins; every later one learns who won, and
 * whether their run is still going, succeeded or failed (with the failure's line).
 */
export type SpendClaim =
  | { first: true }
  | ({ first: false } & SpentUse & { outcome?: SpentOutcome; failure?: string });

/**
 * Remembers spent action tokens until they expire (src/auth keeps them in the store).
 *
 * @example
 * const claim = await services.spentActions.claim(payload.nonce, { by: 'ana', at: now, expiresAt });
 * if (!claim.first) return `already done by ${claim.by}`;
 */
export interface SpentActions {
  /** Atomically spends `nonce`; two concurrent claims of one nonce never both see `first: true`. */
  claim(nonce: string, use: SpentUse & { expiresAt: Date }): Promise<SpendClaim>;
  /** Gives a nonce back when nothing ran (the click was refused before its command started). */
  release(nonce: string): Promise<void>;
  /** Records how the run ended, so a later click is told "it failed", not "already done". */
  settle?(nonce: string, result: { ok: boolean; failure?: string }): Promise<void>;
}
