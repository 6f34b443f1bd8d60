// The audit module: the hash-chained trail every command, decision and executor call appends to.
import { defineModule } from '../core/module.js';

export const auditModule = defineModule({
  name: 'audit',
  needs: ['config', 'configSecrets'],
  provides: ['audit'],
  async create({ services, clock, onClose }) {
    const { FileAuditLog } = await import('./file-audit-log.js');
    const audit = await FileAuditLog.open(services.config.audit.path, {
      clock,
      secrets: [...services.configSecrets],
    });
    onClose(() => audit.close());
    return { audit };
  },
});
