// Child process for the crash test: appends in a burst and prints each seq once its append()
// has resolved, until the parent kills it (or a cap, so a stray child cannot run forever).

import { FileAuditLog } from '../../src/audit/index.js';

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: append-burst.ts TRAIL_PATH');

const audit = await FileAuditLog.open(path);
let issued = 0;
const worker = async () => {
  while (issued < 20_000) {
    issued++;
    const record = await audit.append({
      actor: 'crash-test',
      surface: 'shell',
      channel: 'tty',
      action: 'executor.http.call',
      args: { n: issued },
      outcome: 'ok',
    });
    process.stdout.write(`${record.seq}\n`);
  }
};
await Promise.all(Array.from({ length: 32 }, worker));
await audit.close();
