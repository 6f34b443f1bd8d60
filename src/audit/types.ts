// The audit trail's record types live in core (every command appends one); re-exported here for the trail's users.
export type {
  AuditEntry,
  AuditLog,
  AuditOutcome,
  AuditQuery,
  AuditRecord,
  AuditVerifyResult,
} from '../core/audit.js';
