// The audit contract every surface, command and executor call records through: one record per command,
// decision and executor call, hash-chained by the implementation in src/audit.

export type AuditOutcome = 'ok' | 'error' | 'denied' | 'started' | (string & {});

/** What a caller hands the trail; the trail adds seq, ts and the hashes. */
export interface AuditEntry {
  /** The subject the action ran as. */
  actor: string;
  /** Who really asked, when that is not the actor: `os:alice` ran the shell with `--as`. */
  via?: string;
  surface: string;
  channel: string;
  /** What happened, dotted: `command.help`, `executor.kubernetes.restart`, `change.approve`. */
  action: string;
  /** Arguments, already parsed; secrets are redacted by the trail before writing. */
  args: Record<string, unknown>;
  outcome: AuditOutcome;
  /** Correlation id shared with the reply and the logs. */
  ref?: string;
  /** Error code when outcome is error or denied. */
  code?: string;
  /** Why a refusal (outcome denied) was made, as the person was told it. */
  reason?: string;
}

/**
 * The `via` field of an audit entry: present only when the actor is impersonated.
 *
 * @example
 * await audit.append({ actor: origin.actor.id, ...viaOf(origin.actor), surface, channel, action, args, outcome });
 */
export function viaOf(actor: { via?: string | undefined }): { via?: string } {
  return actor.via ? { via: actor.via } : {};
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  ts: string;
  prevHash: string;
  /** The id of the key the record was sealed with (HMAC); absent on an unkeyed (SHA-256) record. */
  keyId?: string;
  hash: string;
}

export interface AuditQuery {
  limit?: number;
  actor?: string;
  /** Only records made in this channel (an incident channel's timeline). */
  channel?: string;
  since?: Date;
}

/** Append-only, hash-chained, durable-before-acknowledged record of what Millwright did. */
export interface AuditLog {
  /** Resolves once the record is on disk (fsync). */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Most recent records first, filtered. */
  recent(query?: AuditQuery): Promise<AuditRecord[]>;
  /** Waits for every pending append to reach the disk. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Number of records that verified before the first problem. */
  records: number;
  /** The first bad seq, when not ok. */
  badSeq?: number;
  /** One line on what is wrong: "seq 41: hash does not match its content (edited)". */
  problem?: string;
  /** The only problem met is a last line cut short (a crash mid-write): `millwright audit repair` fixes it. */
  tornTail?: boolean;
  /** Keyed records seen: the first keyed seq and the key ids met; absent when no record is keyed. */
  keyed?: { firstSeq: number; keyIds: string[] };
  /** The highest checkpoint the trail was checked against; absent when no checkpoint sink is configured. */
  checkpoint?: { seq: number; ts: string; keyId: string };
}
