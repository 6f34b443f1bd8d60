// The answer access control gives for one permission in one channel (src/auth decides it).

export interface AccessDecision {
  allowed: boolean;
  /** Why, in one line a person can act on. */
  reason: string;
}
