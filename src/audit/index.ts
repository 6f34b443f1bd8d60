// The audit trail's public face: the file-backed log, its verifier, and the chain helpers tools
// need to write or check records themselves.

export type { AuditKey, UnsealedAuditRecord } from './chain.js';
export {
  canonicalJson,
  formatAuditLine,
  GENESIS_HASH,
  hashAuditRecord,
  macAuditRecord,
  sealAuditRecord,
} from './chain.js';
export {
  type AuditCheckpoint,
  type AuditCheckpointSink,
  FileCheckpointSink,
  signCheckpoint,
} from './checkpoints.js';
export { FileAuditLog, type FileAuditLogOptions } from './file-audit-log.js';
export { type AuditRepairOptions, type AuditRepairResult, repairAuditTrail } from './repair.js';
export { type AuditSealing, auditSealingFrom } from './sealing.js';
export type {
  AuditEntry,
  AuditLog,
  AuditOutcome,
  AuditQuery,
  AuditRecord,
  AuditVerifyResult,
} from './types.js';
export { type AuditVerifyOptions, verifyAuditTrail } from './verify.js';
export {
  type AuditVerifyReport,
  auditVerifyReport,
  type VerifiedTrail,
  verifiedChain,
  verifyNotes,
  verifyTrail,
} from './verify-report.js';
