// What the release service tells the rest of Millwright: every move of a release. Plain records;
// src/notices draws the one chat message per release from them.
import type { ChangeRequest } from '../changes/types.js';
import type { ReleaseRecord } from './controller.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A release moved (started, a step, a verdict, a pause, promoted, aborted); saved before it is emitted. */
    'release.changed': ReleaseChanged;
  }
}

export interface ReleaseChanged {
  release: ReleaseRecord;
  /** The release's change, when the release just ended and closed it. */
  change?: ChangeRequest;
  /** The service's home channel, when it is not where the release was asked for: told when it ends. */
  owners?: string;
}
