// The single-use contract of signed buttons and forms: a token's nonce is spent by the first click that
// runs it, so a second click (or a concurrent one, or one on another replica) runs nothing.

/** Who spent a token, and when. */
export interface SpentUse {
  /** The clicker as people read them (their name, else their id). */
  by: string;
  at: Date;
}

/** The outcome of claiming a token's nonce: the first claim wins; every later one learns who won. */
export type SpendClaim = { first: true } | ({ first: false } & SpentUse);

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
}
