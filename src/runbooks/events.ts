// What running runbooks tells the rest of Millwright: a break-glass run, which people must hear of.
import type { Origin } from '../core/context.js';
import type { RunStatus } from './engine.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A runbook ran past its permissions on someone's break-glass word; audited before it is told. */
    'runbook.break-glass': RunbookBreakGlass;
  }
}

export interface RunbookBreakGlass {
  runbook: string;
  /** The reason the person gave. */
  reason: string;
  status: RunStatus;
  /** Who ran it, where, and the command's reference. */
  origin: Origin;
  /** Where break-glass runs are announced (`access.breakGlass.notify`), when configured. */
  target?: string;
}
