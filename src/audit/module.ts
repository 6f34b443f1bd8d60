// The audit module: the keyed, checkpointed trail every command, decision and executor call appends to,
// in a file under store.path (embedded store) or in PostgreSQL (store.kind postgres).
import { defineModule } from '../core/module.js';

export const auditModule = defineModule({
  name: 'audit',
  needs: ['config', 'secrets'],
  uses: ['storeLock', 'postgres'],
  provides: ['audit'],
  async create({ services, clock, logger, onClose }) {
    const { auditSealingFrom } = await import('./sealing.js');
    const { config } = services;
    const sealing = auditSealingFrom(config.audit, config.store.path);
    const where =
      config.store.kind === 'postgres' ? `PostgreSQL at ${services.postgres.name}` : config.audit.path;
    if (sealing.active === undefined) {
      // Info, not warn: an empty config (the quick start) is unkeyed, and warn is kept for switches
      // an operator turned off on purpose (the Teams test reads the first warning as its own).
      logger.info(
        { path: where },
        'audit trail is UNKEYED (plain SHA-256): anyone who can write the store can rewrite it undetected; set audit.key',
      );
    } else {
      logger.info(
        {
          path: where,
          keyId: sealing.active.id,
          checkpoints: sealing.checkpoints?.name ?? 'none',
        },
        'audit trail sealed with HMAC-SHA256',
      );
    }
    if (config.store.kind === 'postgres') {
      const { PostgresAuditLog } = await import('./postgres-audit-log.js');
      const audit = await PostgresAuditLog.open(services.postgres, {
        clock,
        secrets: services.secrets,
        sealing,
      });
      onClose(() => audit.close());
      return { audit };
    }
    const { FileAuditLog } = await import('./file-audit-log.js');
    const audit = await FileAuditLog.open(config.audit.path, {
      clock,
      secrets: services.secrets,
      sealing,
    });
    onClose(() => audit.close());
    return { audit };
  },
});
