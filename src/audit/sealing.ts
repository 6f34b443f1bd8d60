// How the trail is sealed and anchored, from the config's audit section: the keys by id, the one new
// records use, and the checkpoint sink (refused inside the store its writer could rewrite).

import { dirname, relative, resolve, sep } from 'node:path';
import type { AuditConfig } from '../config/schema.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { AuditKey } from './chain.js';
import { type AuditCheckpointSink, FileCheckpointSink } from './checkpoints.js';

/** What sealing and verifying need: every known key, the active one, and where checkpoints go. */
export interface AuditSealing {
  /** The key new records are sealed with; absent means an unkeyed (plain SHA-256) trail. */
  active?: AuditKey;
  /** Every key a record or checkpoint may name, by id (the active one included). */
  keys: ReadonlyMap<string, string>;
  checkpoints?: AuditCheckpointSink;
  /** Records between two checkpoints (a checkpoint is also written at open and on close). */
  checkpointEvery?: number;
}

/**
 * The sealing the config asks for. Throws `millwright_config_invalid` when the checkpoint file lies
 * inside the store or beside the trail, where the writer it guards against could rewrite it.
 *
 * @example
 * const sealing = auditSealingFrom(config.audit, config.store.path);
 * const audit = await FileAuditLog.open(config.audit.path, { sealing });
 */
export function auditSealingFrom(audit: AuditConfig, storePath: string): AuditSealing {
  const keys = new Map(Object.entries(audit.keys));
  const activeSecret = audit.activeKey === undefined ? undefined : keys.get(audit.activeKey);
  const sealing: AuditSealing = {
    keys,
    ...(audit.activeKey !== undefined && activeSecret !== undefined
      ? { active: { id: audit.activeKey, secret: activeSecret } }
      : {}),
  };
  if (audit.checkpoints === undefined) return sealing;
  const file = resolve(audit.checkpoints.file);
  for (const guarded of [resolve(storePath), dirname(resolve(audit.path))]) {
    if (isInside(file, guarded)) {
      throw new MillwrightError(
        ErrorCode.ConfigInvalid,
        `audit.checkpoints.file ${file} is inside ${guarded}, which whoever writes the trail can also rewrite`,
        { hint: 'put the checkpoint file on another path (another owner, or chattr +a), outside store.path' },
      );
    }
  }
  return {
    ...sealing,
    checkpoints: new FileCheckpointSink(file),
    checkpointEvery: audit.checkpoints.every,
  };
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}
