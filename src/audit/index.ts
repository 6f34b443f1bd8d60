// The audit trail's public face: the file-backed log, its verifier, and the chain helpers tools
// need to write or check records themselves.

export type { UnsealedAuditRecord } from './chain.js';
export { canonicalJson, formatAuditLine, GENESIS_HASH, hashAuditRecord, sealAuditRecord } from './chain.js';
export { FileAuditLog, type FileAuditLogOptions } from './file-audit-log.js';
export type {
  AuditEntry,
  AuditLog,
  AuditOutcome,
  AuditQuery,
  AuditRecord,
  AuditVerifyResult,
} from './types.js';
export { verifyAuditTrail } from './verify.js';
