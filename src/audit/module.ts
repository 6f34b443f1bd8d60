// The audit module: the keyed, checkpointed trail every command, decision and executor call appends to.
import { defineModule } from '../core/module.js';

export const auditModule = defineModule({
  name: 'audit',
  needs: ['config', 'secrets', 'storeLock'],
  provides: ['audit'],
  async create({ services, clock, logger, onClose }) {
    const { FileAuditLog } = await import('./file-audit-log.js');
    const { auditSealingFrom } = await import('./sealing.js');
    const { config } = services;
    const sealing = auditSealingFrom(config.audit, config.store.path);
    if (sealing.active === undefined) {
      // Info, not warn: an empty config (the quick start) is unkeyed, and warn is kept for switches
      // an operator turned off on purpose (the Teams test reads the first warning as its own).
      logger.info(
        { path: config.audit.path },
        'audit trail is UNKEYED (plain SHA-256): anyone who can write the store can rewrite it undetected; set audit.key',
      );
    } else {
      logger.info(
        {
          path: config.audit.path,
          keyId: sealing.active.id,
          checkpoints: sealing.checkpoints?.name ?? 'none',
        },
        'audit trail sealed with HMAC-SHA256',
      );
    }
    const audit = await FileAuditLog.open(config.audit.path, {
      clock,
      secrets: services.secrets,
      sealing,
    });
    onClose(() => audit.close());
    return { audit };
  },
});
