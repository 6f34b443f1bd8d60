// The control endpoint: the server, holding store.path, runs the commands of shells started next to
// it on the same host (they find the port and token in the holder file inside store.path).
import { randomBytes } from 'node:crypto';
import { defineModule } from '../../src/core/index.js';

export const controlModule = defineModule({
  name: 'control',
  needs: ['storeLock', 'audit'],
  // On PostgreSQL nothing holds store.path: every shell and replica writes to the database itself.
  enabled: ({ config }) => config.store.kind !== 'postgres',
  async serve({ services, handle, logger, onClose }) {
    const { ControlServer } = await import('./control-server.js');
    const token = randomBytes(32).toString('hex');
    const control = await ControlServer.start({
      handle,
      audit: async () => services.audit,
      token,
      logger: logger.child({ adapter: 'control' }),
    });
    await services.storeLock.advertise({ port: control.port, token });
    onClose(() => control.close());
  },
});
